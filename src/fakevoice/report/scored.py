"""The run report's sections that need answers: scores beside the prior and other runs,
calibration, ROC, distributions per true combination, conditions, confident mistakes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.dataset import TARGETS
from fakevoice.metric import (
    N_BINS,
    Score,
    calibration_bins,
    column_score,
    constant_prior_score,
    score_arrays,
)
from fakevoice.predict import Predictor
from fakevoice.report import figures, page, plots
from fakevoice.report.clips import Clips
from fakevoice.report.collect import Described, ReportInputs, describe
from fakevoice.report.conditions import condition_table, worst_clips

WORST_CONDITIONS = 6
MISTAKES = 10
MIN_GROUP = 30  # a condition with fewer clips is listed, not drawn nor illustrated
CHART_GROUPS = 20


def _score_row(name: str, s: Score) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model": name,
        "score": s.score,
        "AUC": s.auc,
        "Brier": s.brier,
        "ECE": s.ece,
    }
    for col, c in s.columns.items():
        row |= {f"AUC {col}": c.auc, f"Brier {col}": c.brier, f"ECE {col}": c.ece}
    return row


def _other_run(run: Path, paths: list[Path], batch_size: int) -> np.ndarray:
    pred = Predictor(run, batch_size)
    keys = [str(p) for p in paths]
    d = describe(pred, run.name, keys, paths)
    # a file this run cannot read gets its training prior, as predict does in a contest
    probs = np.tile(np.asarray(pred.prior, float), (len(paths), 1))
    at = {k: i for i, k in enumerate(keys)}
    probs[[at[k] for k in d.ids]] = d.probs
    return probs


def _bins(y: np.ndarray, p: np.ndarray) -> dict[str, list]:
    frac, mean = calibration_bins(y, p, N_BINS)
    counts, _ = np.histogram(p, bins=np.linspace(0, 1, N_BINS + 1))
    return {
        "mean_probability": list(map(float, mean)),
        "fraction_positive": list(map(float, frac)),
        "count": counts.tolist(),
    }


def _calibration(
    pg: page.Page, out: Path, y: np.ndarray, test: Described, record: dict[str, np.ndarray] | None
) -> dict:
    parts = pg.section("calibration", "Reliability before and after calibration")
    parts.append(
        "<p>The contest's 10 ECE bins; the bars below each diagram count the clips "
        "per bin. The calibration was fitted on the validation scenes, never here.</p>"
    )
    cols = {c: k for k, c in enumerate(TARGETS)}
    ys = {c: y[:, k] for c, k in cols.items()}
    png = plots.reliability_diagram(
        ys,
        {c: test.probs[:, k] for c, k in cols.items()},
        out / "reliability.png",
        "test",
        before={c: test.raw[:, k] for c, k in cols.items()},
    )
    parts.append(page.figure(png, "reliability on the target set"))
    numbers: dict[str, Any] = {"test": {}}
    rows = []
    for c, k in cols.items():
        for stage, p in (("before", test.raw[:, k]), ("after", test.probs[:, k])):
            numbers["test"][f"{c}_{stage}"] = b = _bins(y[:, k], p)
            rows.append(
                {
                    "column": c,
                    "calibration": stage,
                    **{f"bin {i + 1}": n for i, n in enumerate(b["count"])},
                }
            )
            s = column_score(y[:, k], p, c)
            numbers["test"][f"{c}_{stage}"] |= {"ece": s.ece, "brier": s.brier}
            rows[-1] |= {"ECE": s.ece, "Brier": s.brier}
    parts.append(
        page.table(
            rows,
            ["column", "calibration", "ECE", "Brier", *[f"bin {i + 1}" for i in range(N_BINS)]],
        )
    )
    if record is not None:
        vy = record["target"][:, :2].astype(float)
        png = plots.reliability_diagram(
            {c: vy[:, k] for c, k in cols.items()},
            {c: record["probs"][:, k] for c, k in cols.items()},
            out / "reliability_val.png",
            "validation scenes (where the calibration was fitted)",
            before={c: record["probs_uncalibrated"][:, k] for c, k in cols.items()},
        )
        parts.append(page.figure(png, "reliability on the simulated validation scenes"))
        numbers["validation"] = {
            f"{c}_{stage}": _bins(vy[:, k], record[key][:, k])
            for c, k in cols.items()
            for stage, key in (("before", "probs_uncalibrated"), ("after", "probs"))
        }
    return numbers


def _conditions(
    pg: page.Page,
    out: Path,
    clips: Clips,
    y: np.ndarray,
    test: Described,
    inputs: ReportInputs,
    examples: int,
) -> list[dict]:
    parts = pg.section("conditions", "Score by condition, worst first")
    if inputs.meta is None:
        parts.append("<p>No test_meta.csv beside the answers: no conditions to break down.</p>")
        return []
    rows, members = condition_table(y, test.probs, inputs.meta, test.ids)
    # the chart shows the worst of the groups large enough to judge, and every group whose
    # score is undefined; the table lists them all
    # a small set (a quick look, a test) still gets its chart from its larger groups
    min_group = min(MIN_GROUP, max(2, len(test.ids) // 4))
    big = [r for r in rows if r["n"] >= min_group]
    chart = [r for r in big if np.isfinite(r["score"])][:CHART_GROUPS]
    chart += [{**r, "score": None} for r in big if not np.isfinite(r["score"])]
    if chart:
        caption = (
            f"the {len(chart)} worst conditions of at least {min_group} clips; the constant "
            "prior as a black tick"
        )
        parts.append(page.figure(plots.breakdown_bars(chart, out / "breakdown.png"), caption))
    parts.append(
        "<p class='note'>n/a: AUC is undefined where a column holds one class (e.g. "
        "no clip with a voice); Brier and ECE still are.</p>"
    )
    cols = ["by", "value", "n", "score", "auc_fake", "auc_real", "brier", "ece", "prior_score"]
    parts.append(page.table(rows, cols))
    shown = 0
    for r, m in zip(rows, members, strict=True):
        if shown >= WORST_CONDITIONS or not np.isfinite(r["score"]) or r["n"] < min_group:
            continue
        shown += 1
        pick = worst_clips(y, test.probs, m, examples)
        parts.append(
            f"<h3>{page.esc(r['by'])} = {page.esc(r['value'])}: score "
            f"{page.fmt(r['score'])} (prior {page.fmt(r['prior_score'])}, n={r['n']})</h3>"
        )
        ex = [_clip_row(i, y, test) for i in pick]
        r["examples"] = [e["id"] for e in ex]
        parts.append(
            page.table(
                clips.rows(ex, [test.paths[i] for i in pick]),
                ["id", "truth", "fake", "real", "spectrogram", "audio"],
                raw=("spectrogram", "audio"),
            )
        )
    return rows


def _clip_row(i: int, y: np.ndarray, test: Described) -> dict[str, Any]:
    truth = {(0, 0): "no voice", (1, 0): "fake", (0, 1): "real", (1, 1): "fake + real"}
    return {
        "id": test.ids[i],
        "truth": truth[(int(y[i, 0]), int(y[i, 1]))],
        "fake": float(test.probs[i, 0]),
        "real": float(test.probs[i, 1]),
    }


def add_scored_sections(
    pg: page.Page,
    out: Path,
    clips: Clips,
    test: Described,
    inputs: ReportInputs,
    record: dict[str, np.ndarray] | None,
    compare: Sequence[str | Path],
    *,
    examples: int,
    batch_size: int,
) -> dict[str, Any]:
    """Append the sections that need answers; return their numbers for report.json."""
    assert inputs.answer is not None
    y = inputs.answer.set_index("id").loc[test.ids, list(TARGETS)].to_numpy(float)
    score = score_arrays(y, test.probs)
    rows = [
        _score_row("this run", score),
        _score_row("constant prior (the set's own rates)", constant_prior_score(y)),
    ]
    for other in compare:
        rows.append(
            _score_row(
                Path(other).name, score_arrays(y, _other_run(Path(other), test.paths, batch_size))
            )
        )
    parts = pg.section("scores", "Score")
    parts.append(
        f"<p>Contest score <b>{score.score:.4f}</b> on {score.n} clips: "
        "0.5 (1 - AUC) + 0.25 Brier + 0.25 ECE, lower is better.</p>"
    )
    parts.append(page.table(rows, list(rows[0])))
    numbers: dict[str, Any] = {"scores": rows}
    numbers["calibration"] = _calibration(pg, out, y, test, record)
    aucs = {c: s.auc for c, s in score.columns.items()}
    roc = plots.roc_curves(
        {c: y[:, k] for k, c in enumerate(TARGETS)},
        {c: test.probs[:, k] for k, c in enumerate(TARGETS)},
        aucs,
        out / "roc.png",
    )
    pg.section("roc", "ROC curves").append(page.figure(roc, "ROC per column"))
    png, hist = figures.combination_histograms(y, test.probs, out / "histograms.png")
    pg.section("distributions", "Predicted probabilities per true combination").append(
        page.figure(png, "predicted probabilities by the clip's true (fake, real)")
    )
    numbers["histograms"] = hist
    numbers["conditions"] = _conditions(pg, out, clips, y, test, inputs, examples)
    err = np.abs(test.probs - y).max(axis=1)
    worst = np.argsort(-err, kind="stable")[:MISTAKES]
    mistakes = [{**_clip_row(int(i), y, test), "error": float(err[i])} for i in worst]
    parts = pg.section("mistakes", "The most confident mistakes")
    parts.append(
        page.table(
            clips.rows(mistakes, [test.paths[int(i)] for i in worst]),
            ["id", "truth", "fake", "real", "error", "spectrogram", "audio"],
            raw=("spectrogram", "audio"),
        )
    )
    numbers["mistakes"] = mistakes
    return numbers
