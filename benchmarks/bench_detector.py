"""A trained detector on a benchmark's test set: the prediction-time ablations and the
per-condition table, scored with the contest score.

    python benchmarks/bench_detector.py RUN DATA [--out DIR]

The model runs once over the test clips (logits and Silero speech scores kept); each
variant is then derived from them: calibrated or not (temperature 1), the VAD gate on or
off, probabilities from the presence head, the composition head or their mean. Every
variant is scored on ``test_answer.csv`` (reporting only: nothing here chooses a setting;
the run's settings were fixed on its validation scenes). The per-condition table
(``test_meta.csv``: voices, SNR band, seen/held-out generator and speaker) is given for the
run as configured, beside the constant prior. Writes ``DIR/detector_ablation.md`` and
``.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fakevoice.audio import load_audio, pad_to
from fakevoice.compare import breakdown, markdown_table
from fakevoice.dataset import load_contest
from fakevoice.metric import constant_prior_score, score_arrays
from fakevoice.predict import Predictor
from fakevoice.vad import gate as vad_gate
from fakevoice.vad import speech_probabilities, speech_score


def forward(pred: Predictor, paths: list[Path]) -> tuple[torch.Tensor, np.ndarray]:
    n = pred.cfg.clip_samples
    logits, scores = [], []
    for s in range(0, len(paths), 64):
        waves = np.stack(
            [pad_to(load_audio(p, 32000, warn_silent=False)[:n], n) for p in paths[s : s + 64]]
        )
        with torch.no_grad():
            x = pred.front(torch.from_numpy(waves))[..., : pred.cfg.frames]
            logits.append(pred.model(x, torch.full((len(x),), x.shape[-1])))
        scores += [speech_score(q) for q in speech_probabilities(list(waves))]
    return torch.cat(logits), np.asarray(scores)


def variant(pred, logits, speech, calibrated: bool, gate: bool, source: str) -> np.ndarray:
    model = pred.model
    saved = model.temperature.clone(), model.presence_from
    if not calibrated:
        model.temperature.fill_(1.0)
    model.presence_from = source
    probs = model.probabilities(logits).numpy().astype(np.float64)
    model.temperature.copy_(saved[0])
    model.presence_from = saved[1]
    if gate:
        probs = vad_gate(probs, speech, pred.cfg.vad_threshold, pred.cfg.vad_floor)
    return np.clip(probs, 0.0, 1.0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("data", type=Path)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    out = args.out or args.run / "ablation"
    out.mkdir(parents=True, exist_ok=True)
    pred = Predictor(args.run)
    data = load_contest(args.data, need=("test",))
    answer = data.answer.set_index("id").loc[data.test["id"]].reset_index()
    y = answer[["fake", "real"]].to_numpy(float)
    t0 = time.perf_counter()
    logits, speech = forward(pred, [Path(x) for x in data.test["path"]])
    seconds = time.perf_counter() - t0
    rows = []
    for calibrated in (True, False):
        for gate in (True, False):
            for source in ("presence", "composition", "average"):
                s = score_arrays(y, variant(pred, logits, speech, calibrated, gate, source))
                row = {"calibrated": calibrated, "vad_gate": gate, "probabilities": source}
                row.update(score=s.score, auc=s.auc, brier=s.brier, ece=s.ece)
                row.update(ece_fake=s.columns["fake"].ece, ece_real=s.columns["real"].ece)
                rows.append(row)
    table = pd.DataFrame(rows).sort_values("score").reset_index(drop=True)
    cfg = pred.cfg
    chosen = variant(pred, logits, speech, cfg.calibration != "none", pred.gated, "presence")
    sub = pd.DataFrame({"id": answer["id"], "fake": chosen[:, 0], "real": chosen[:, 1]})
    prior_p = np.tile(np.array(pred.prior), (len(y), 1))
    prior = pd.DataFrame({"id": answer["id"], "fake": prior_p[:, 0], "real": prior_p[:, 1]})
    conditions = pd.DataFrame()
    if data.meta is not None:
        mine = pd.DataFrame(breakdown("detector", answer, sub, data.meta))
        base = pd.DataFrame(breakdown("prior", answer, prior, data.meta))
        conditions = mine[["by", "value", "n", "score", "auc", "brier", "ece"]].copy()
        conditions["prior_score"] = base["score"].to_numpy()
        conditions["n"] = conditions["n"].astype(int)  # counts, not 900.0000
    md = [
        f"# Detector ablations: {args.run} on {args.data}",
        "",
        f"Constant prior: {constant_prior_score(y).score:.4f}. Forward pass and VAD over "
        f"{len(y)} clips: {seconds:.0f} s.",
        "",
        markdown_table(table),
        "",
        "## By condition (the run as configured)",
        "",
        markdown_table(conditions) if len(conditions) else "no test_meta.csv",
        "",
    ]
    (out / "detector_ablation.md").write_text("\n".join(md))
    (out / "detector_ablation.json").write_text(json.dumps(
        {"variants": rows, "conditions": conditions.to_dict("records")}, indent=1))  # fmt: skip
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
