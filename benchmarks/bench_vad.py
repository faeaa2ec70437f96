"""How well voice activity tells clips with voices from clips without, on the unlabeled set.

    python benchmarks/bench_vad.py DATA [--json OUT.json]

Diagnostics only: ``unlabeled_answer.csv`` (written by ``make-data``) is read here to
measure, never by training. Reports the AUC of the clip speech score (Silero VAD) and of a
level-only score for "has a voice" against "no voice", the accuracy at the gate's threshold,
and what the noise bank built from the clips holds (pieces, seconds) for both ways of
finding the noise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fakevoice.audio import SAMPLE_RATE, load_audio
from fakevoice.simulate import NoiseBank, frame_db
from fakevoice.vad import HOP_32K, speech_probabilities, speech_score


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    answer = pd.read_csv(args.data / "unlabeled_answer.csv", dtype={"id": str})
    paths = [args.data / "unlabeled_data" / f"{i}.ogg" for i in answer["id"]]
    clips = [load_audio(p, SAMPLE_RATE, warn_silent=False) for p in paths]
    voiced = ((answer["fake"] + answer["real"]) > 0).to_numpy()
    t0 = time.perf_counter()
    probs = speech_probabilities(clips)
    vad_seconds = time.perf_counter() - t0
    score = np.array([speech_score(q) for q in probs])
    # a level-only baseline: the spread between loud and quiet frames
    spread = np.array(
        [np.percentile(frame_db(x), 95) - np.percentile(frame_db(x), 20) for x in clips]
    )
    banks = {
        "vad": NoiseBank(clips, speech=probs, chunk=HOP_32K),
        "quiet": NoiseBank(clips, 0.35),
    }
    result = {
        "clips": len(clips),
        "with_voice": int(voiced.sum()),
        "vad_auc": round(float(roc_auc_score(voiced, score)), 4),
        "level_spread_auc": round(float(roc_auc_score(voiced, spread)), 4),
        "gate_threshold": args.threshold,
        "gate_accuracy": round(float(np.mean((score >= args.threshold) == voiced)), 4),
        "no_voice_called_voice": round(float(np.mean(score[~voiced] >= args.threshold)), 4),
        "voice_called_no_voice": round(float(np.mean(score[voiced] < args.threshold)), 4),
        "vad_seconds": round(vad_seconds, 2),
        "noise_bank": {
            k: {"pieces": len(b), "seconds": round(sum(len(x) for x in b.pieces) / SAMPLE_RATE, 1)}
            for k, b in banks.items()
        },
    }
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
