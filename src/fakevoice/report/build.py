"""A report for one submission: the score, its parts, where it goes wrong, as figures.

Writes REPORT_DIR/report.md and report.html (same content, the HTML embeds the PNGs),
reliability.png, roc.png, histograms.png and, with a meta file, breakdown.png/.csv.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from fakevoice.atomic import atomic_open, atomic_write_text
from fakevoice.dataset import SUBMISSION_COLUMNS, TARGETS, read_submission, read_table
from fakevoice.errors import DataError
from fakevoice.metric import Score, score_frames
from fakevoice.report import page, plots


def _table(rows: list[dict], cols: list[str]) -> str:
    from fakevoice.compare import markdown_table

    return markdown_table(pd.DataFrame(rows).reindex(columns=cols))


def _score_rows(score: Score) -> list[dict]:
    rows = [
        {"": "mean", "score": score.score, "AUC": score.auc, "Brier": score.brier, "ECE": score.ece}
    ]
    for name, c in score.columns.items():
        rows.append({"": name, "score": c.score, "AUC": c.auc, "Brier": c.brier, "ECE": c.ece})
    return rows


def build_report(
    answer_csv: str | Path,
    submission_csv: str | Path,
    out_dir: str | Path,
    *,
    meta_csv: str | Path | None = None,
    title: str | None = None,
) -> Path:
    """Score a submission and write the report; returns the path of report.md."""
    from fakevoice.compare import breakdown  # the one place subset scores are computed

    out = Path(out_dir)
    answer, problems = read_table(answer_csv, SUBMISSION_COLUMNS, numeric=("fake", "real"))
    if problems:
        raise DataError(answer_csv, problems)
    sub = read_submission(submission_csv)
    score, notes = score_frames(answer, sub, by_id=True)
    aligned = sub.set_index("id").loc[answer["id"]].reset_index()
    ys = {c: answer[c].to_numpy(float) for c in TARGETS}
    ps = {c: aligned[c].to_numpy(float) for c in TARGETS}
    title = title or f"{Path(submission_csv).name} against {Path(answer_csv).name}"

    figures = [
        (
            "Reliability (the contest's 10 ECE bins)",
            plots.reliability_diagram(ys, ps, out / "reliability.png", title),
        ),
        (
            "ROC curves",
            plots.roc_curves(
                ys, ps, {k: c.auc for k, c in score.columns.items()}, out / "roc.png", title
            ),
        ),
        (
            "Predicted probabilities by true answer",
            plots.histograms(ys, ps, out / "histograms.png"),
        ),
    ]
    md = [
        f"# Report: {title}",
        "",
        f"Contest score **{score.score:.4f}** on {score.n} clips "
        "(lower is better; 0.5 (1 - AUC) + 0.25 Brier + 0.25 ECE).",
        "",
    ]
    md += [_table(_score_rows(score), ["", "score", "AUC", "Brier", "ECE"]), ""]
    md += [f"Note: {n}" for n in notes]
    rows: list[dict] = []
    if meta_csv is not None and Path(meta_csv).is_file():
        meta = pd.read_csv(meta_csv, dtype={"id": str})
        rows = breakdown("submission", answer, sub, meta)
        # the constant prior at the test's own rates, scored on the same clips
        rates = answer[list(TARGETS)].to_numpy(float).mean(axis=0)
        prior = answer[["id"]].assign(**dict(zip(TARGETS, rates, strict=True)))
        prior_rows = {(r["by"], r["value"]): r for r in breakdown("prior", answer, prior, meta)}
        for r in rows:
            r["prior_score"] = prior_rows[(r["by"], r["value"])]["score"]
        if rows:
            bd = pd.DataFrame(rows).drop(columns=["model"])
            with atomic_open(out / "breakdown.csv", "w") as fh:
                bd.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
            figures.append(
                (
                    "Score by group",
                    plots.breakdown_bars(
                        [
                            {**r, "score": r["score"] if np.isfinite(r["score"]) else None}
                            for r in rows
                        ],
                        out / "breakdown.png",
                    ),
                )
            )
            md += ["## By group", "", "n/a: AUC is undefined where a column holds one class.", ""]
            md += [
                _table(
                    [{k: v for k, v in r.items() if k != "model"} for r in rows],
                    [
                        "by",
                        "value",
                        "n",
                        "score",
                        "auc",
                        "auc_fake",
                        "auc_real",
                        "brier",
                        "ece",
                        "prior_score",
                    ],
                ),
                "",
            ]
    for caption, path in figures:
        md += [f"## {caption}", "", f"![{caption}]({path.name})", ""]
    report = out / "report.md"
    atomic_write_text(report, "\n".join(md))
    atomic_write_text(out / "score.json", json.dumps(score.as_dict(), indent=2))
    _write_html(out / "report.html", md, figures)
    return report


def _write_html(path: Path, md: list[str], figures: list[tuple[str, Path]]) -> None:
    """The same report as one self-contained page (images inlined), for a browser."""
    body = []
    for line in md:
        if line.startswith("!["):
            continue
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("|") and "---" not in line:
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        elif line and "---" not in line:
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    body += [page.figure(fig, caption) for caption, fig in figures]
    text = "\n".join(body)
    text = text.replace("</p>\n<tr>", "</p>\n<table><tr>").replace("</tr>\n<h", "</tr></table>\n<h")
    text_page = (
        "<!doctype html><meta charset='utf-8'><title>fakevoice report</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
        "td{padding:2px 8px;border-bottom:1px solid #ddd}img{max-width:100%}</style>\n" + text
    )
    with atomic_open(path, "w") as fh:
        fh.write(text_page)
