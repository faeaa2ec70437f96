"""Train several registered models on one data folder, score them alike, write a leaderboard.

For each model: train (seeded, through the one loop), predict the test split (through
``fakevoice.predict``), score with the exact contest score when ``test_answer.csv`` is
present. Writes ``leaderboard.csv`` / ``.md``, ``leaderboard.png`` and, with
``test_meta.csv``, ``breakdown.csv``: the score by number of voices and by seen vs unseen
generator. A subset where a column holds one class has no AUC; the parts that are
defined there (Brier, ECE) are still reported.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakevoice.atomic import atomic_open, atomic_path, atomic_write_text
from fakevoice.dataset import TARGETS, load_contest, read_submission
from fakevoice.errors import FakevoiceError, RunError
from fakevoice.metric import column_score, combine, score_frames
from fakevoice.models.registry import get_spec
from fakevoice.predict import predict
from fakevoice.progress import progress
from fakevoice.runs import (
    CONFIG,
    METRICS,
    config_differences,
    load_config,
    read_json,
    read_manifest,
)
from fakevoice.train.config import resolve
from fakevoice.train.distributed import World
from fakevoice.train.loop import for_world, train, warm_features

LEADERBOARD_COLUMNS = [
    "model",
    "val_accuracy",
    "val_score",
    "score",
    "auc",
    "brier",
    "ece",
    "auc_fake",
    "auc_real",
    "train_seconds",
    "predict_seconds",
    "head",
]


@dataclass
class CompareResult:
    leaderboard: pd.DataFrame
    breakdown: pd.DataFrame | None
    files: list[Path] = field(default_factory=list)


def subset_scores(answer: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Score parts on a subset; AUC (and so the score) is NaN where a column has one class."""
    cols = [column_score(answer[:, k], probs[:, k], strict=False) for k in range(len(TARGETS))]
    out: dict[str, float] = {"n": len(answer)}  # a count, printed as one
    out.update({f"auc_{name}": c.auc for name, c in zip(TARGETS, cols, strict=True)})
    out["brier"] = float(np.mean([c.brier for c in cols]))
    out["ece"] = float(np.mean([c.ece for c in cols]))
    out["auc"] = float(np.mean([c.auc for c in cols]))  # NaN where a column has one class
    out["score"] = (
        combine(out["auc"], out["brier"], out["ece"]) if np.isfinite(out["auc"]) else math.nan
    )
    return out


VOICE_COUNT_COLUMNS = ("n_voices", "voices", "n_speakers")
_SEEN_GENERATOR = re.compile(r"^(v\d+_)?(seen_generator|generator_seen)$")


def voice_count_column(meta: pd.DataFrame) -> str | None:
    return next((c for c in meta.columns if c.lower() in VOICE_COUNT_COLUMNS), None)


_SEEN_SPEAKER = re.compile(r"^(v\d+_)?(seen_speaker|speaker_seen)$")
SNR_BANDS = (("< 0 dB", -np.inf, 0.0), ("0-10 dB", 0.0, 10.0), ("> 10 dB", 10.0, np.inf))


def generator_flags(meta: pd.DataFrame, pattern: re.Pattern = _SEEN_GENERATOR) -> pd.Series | None:
    """Per clip: ``seen``, ``unseen`` (some fake voice from a generator absent from train)
    or ``none`` (no fake voice), from a clip-level ``seen_generator`` column or the
    per-voice ``v1_seen_generator``, ``v2_seen_generator`` ... columns (blank for real voices).
    With ``_SEEN_SPEAKER`` the same for real speakers.
    """
    cols = [c for c in meta.columns if pattern.match(c.lower())]
    if not cols:
        return None
    flags = []
    for values in meta[cols].itertuples(index=False):
        given = [str(v).strip().lower() for v in values if pd.notna(v) and str(v).strip() != ""]
        if not given:
            flags.append("none")
        elif any(v in ("0", "0.0", "false", "no") for v in given):
            flags.append("unseen")
        else:
            flags.append("seen")
    return pd.Series(flags, index=meta.index)


def breakdown_groups(meta: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    """(by, value, row mask) subsets of test_meta.csv rows to score separately.

    Seen/unseen generator subsets keep every clip without a fake voice as negatives, so
    the fake column's AUC measures fakes of those generators against clips without fakes.
    """
    groups: list[tuple[str, str, np.ndarray]] = []
    col = voice_count_column(meta)
    if col is not None:
        values = meta[col].astype(str)
        for v in sorted(values.unique()):
            groups.append((col, v, (values == v).to_numpy()))
    flags = generator_flags(meta)
    if flags is not None:
        for v in ("seen", "unseen"):
            mask = flags.isin([v, "none"]).to_numpy()
            if (flags == v).any():
                groups.append(("fake_generator", v, mask))
    real_only = meta.copy()
    for c in [c for c in meta.columns if _SEEN_SPEAKER.match(c.lower())]:
        klass = c.split("_", 1)[0] + "_class"
        if klass in meta.columns:  # a resynthesised fake keeps its source speaker: not real
            real_only[c] = meta[c].where(meta[klass].astype(str) == "real")
    speakers = generator_flags(real_only, _SEEN_SPEAKER)
    if speakers is not None:
        for v in ("seen", "unseen"):
            if (speakers == v).any():
                groups.append(("real_speaker", v, speakers.isin([v, "none"]).to_numpy()))
    if "snr_db" in meta.columns:
        snr = pd.to_numeric(meta["snr_db"], errors="coerce").to_numpy(float)
        for name, lo, hi in SNR_BANDS:
            mask = (snr >= lo) & (snr < hi)
            if mask.any():
                groups.append(("snr", name, mask))
    return groups


def breakdown(
    model: str, answer: pd.DataFrame, sub: pd.DataFrame, meta: pd.DataFrame
) -> list[dict[str, Any]]:
    merged = answer.merge(sub, on="id", suffixes=("_true", "_pred"))
    merged = merged.merge(meta.drop(columns=[c for c in TARGETS if c in meta]), on="id")
    y_all = merged[[f"{t}_true" for t in TARGETS]].to_numpy(float)
    p_all = merged[[f"{t}_pred" for t in TARGETS]].to_numpy(float)
    return [
        {"model": model, "by": by, "value": value, **subset_scores(y_all[mask], p_all[mask])}
        for by, value, mask in breakdown_groups(merged)
        if mask.any()
    ]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if not np.isfinite(v) else f"{v:.4f}"
    return str(v)


def markdown_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines)


def bar_chart(board: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(board) + 1.8), sharey=True)
    y = np.arange(len(board))
    axes[0].barh(y, board["score"].fillna(0), color="tab:red")
    axes[0].set_xlabel("contest score (lower is better)")
    if "prior" in set(board["model"]) and board["score"].notna().any():
        prior = float(board.loc[board["model"] == "prior", "score"].iloc[0])
        axes[0].axvline(prior, color="k", linestyle="--", linewidth=1, label="prior")
        axes[0].legend(loc="lower right")
    axes[1].barh(y, board["val_accuracy"], color="tab:blue")
    axes[1].set_xlabel("validation accuracy (clean train clips)")
    axes[1].set_xlim(0, 1)
    axes[0].set_yticks(y, board["model"])
    axes[0].invert_yaxis()
    fig.suptitle("Clean validation accuracy vs. contest score on the noisy test split")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def compare(
    data_dir: str | Path,
    models: Iterable[str],
    out_dir: str | Path,
    *,
    seed: int = 0,
    epochs: int | None = None,
    sets: Sequence[str] = (),
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    runs: Mapping[str, str | Path] | None = None,
) -> CompareResult:
    """``runs`` maps a name to a finished run directory to score as it is, instead of
    training that model here (``make demo`` reuses the run it has just trained); a name
    that is not a registered model labels its row (``detector-platt=runs/b``), so
    variants of one model stand side by side."""
    data_dir, out = Path(data_dir), Path(out_dir)
    names = list(dict.fromkeys(m.strip() for m in models if m.strip()))
    if not names:
        raise FakevoiceError("--models: give at least one model name")
    given = {k: Path(v) for k, v in (runs or {}).items()}
    for name, run in given.items():
        if name not in names:
            names.append(name)
        if read_manifest(run).get("state") != "complete":
            raise RunError(f"{run}: training has not finished; it cannot stand for {name}")
    configs = [
        load_config(given[n]) if n in given else resolve(n, sets=sets, seed=seed, epochs=epochs)
        for n in names
    ]
    data = load_contest(data_dir, need=("train", "test"))
    cache = Path(cache_dir) if cache_dir is not None else out / "cache"
    warm_features(configs, data_dir, cache)
    rows, detail = [], []
    for name, cfg in progress(
        list(zip(names, configs, strict=True)), desc="compare", unit="model", every=0
    ):
        if name in given:
            run = given[name]
            metrics = read_json(run / METRICS)
        else:
            run = out / "runs" / cfg.model
            want = for_world(cfg, World()).as_dict()  # as train saves it
            saved = read_json(run / CONFIG) if (run / CONFIG).is_file() else None
            same = saved is not None and not config_differences(saved, want)
            metrics = train(cfg, data_dir, run, resume=same, overwrite=not same, cache_dir=cache)
        t0 = time.perf_counter()
        sub_path = run / "submission.csv"
        predict(run, [data_dir], sub_path, batch_size=batch_size)
        row: dict[str, Any] = {
            "model": name,
            "val_accuracy": metrics["val_accuracy"],
            # the contest score on validation scenes of held-out voices (scene models)
            "val_score": metrics.get("val_score", float("nan")),
            "train_seconds": metrics["train_seconds"] + metrics.get("prepare_seconds", 0.0),
            "predict_seconds": round(time.perf_counter() - t0, 3),
            "head": get_spec(cfg.model).head,
        }
        if data.answer is not None:
            sub = read_submission(sub_path)
            score, _ = score_frames(data.answer, sub, by_id=True)
            row.update(score=score.score, auc=score.auc, brier=score.brier, ece=score.ece)
            row.update({f"auc_{k}": c.auc for k, c in score.columns.items()})
            if data.meta is not None and "id" in data.meta.columns:
                detail += breakdown(name, data.answer, sub, data.meta)
        rows.append(row)
    board = pd.DataFrame(rows).reindex(columns=LEADERBOARD_COLUMNS)
    if data.answer is not None:
        board = board.sort_values("score", kind="stable").reset_index(drop=True)
    files = [out / "leaderboard.csv", out / "leaderboard.md", out / "leaderboard.png"]
    with atomic_open(files[0], "w") as fh:
        board.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
    md = [f"# Leaderboard: {data_dir.name} (seed {seed})", "", markdown_table(board), ""]
    if data.answer is None:
        md.append("No test_answer.csv in the data folder: no score, only validation accuracy.")
    bd = None
    if detail:
        bd = pd.DataFrame(detail)
        bd = bd[
            ["model", "by", "value", "n", "score", "auc", "auc_fake", "auc_real", "brier", "ece"]
        ]
        bd["n"] = bd["n"].astype(int)
        files.append(out / "breakdown.csv")
        with atomic_open(files[-1], "w") as fh:
            bd.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
        md += [
            "## Breakdown (test_meta.csv)",
            "",
            "n/a: AUC is undefined on a subset where a column holds a single class.",
            "",
            markdown_table(bd),
            "",
        ]
    atomic_write_text(files[1], "\n".join(md))
    bar_chart(board, files[2])
    return CompareResult(board, bd, files)
