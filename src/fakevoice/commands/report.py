"""Write a report for a submission: score table, reliability diagram, ROC curves,
probability histograms and, with a meta file (test_meta.csv of the embedded benchmark),
the score by number of voices and by seen/unseen generators and speakers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fakevoice.report.build import build_report

NAME = "report"
HELP = "plots and a report (md + html) for a submission against an answer CSV"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("answer", help="answer CSV (id,fake,real), e.g. DATA/test_answer.csv")
    p.add_argument("submission", help="submission CSV (id,fake,real)")
    p.add_argument("--out", required=True, help="folder for report.md, report.html and PNGs")
    p.add_argument(
        "--meta",
        default=None,
        help="per-clip meta CSV for breakdowns (default: test_meta.csv beside ANSWER)",
    )
    p.add_argument("--title", default=None)


def run(args: argparse.Namespace) -> int:
    meta = args.meta
    if meta is None:
        guess = Path(args.answer).with_name("test_meta.csv")
        meta = guess if guess.is_file() else None
    report = build_report(args.answer, args.submission, args.out, meta_csv=meta, title=args.title)
    print(f"report: {report} (and {report.with_suffix('.html').name})")
    return 0
