"""Two reports, told apart by the first argument.

``report RUN DATA --out DIR``: the page a researcher opens after a run. The run's model
describes DATA (a contest folder, with or without answers, or a folder or list of audio
files): scores beside the prior and ``--compare`` runs, reliability before and after
calibration, ROC, distributions, conditions with example clips, the domain map,
galleries, mistakes, training curves; one self-contained report.html and report.json.

``report ANSWER SUBMISSION --out DIR``: a submission CSV against an answer CSV: score
table, reliability diagram, ROC curves, histograms and, with test_meta.csv, the score by
number of voices and by seen/unseen generators and speakers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fakevoice.errors import FakevoiceError, RunError
from fakevoice.report.build import build_report
from fakevoice.runs import MANIFEST

NAME = "report"
HELP = "an HTML report of a run on a data folder (RUN DATA) or of a submission (ANSWER SUB)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("first", metavar="RUN|ANSWER", help="a run directory, or an answer CSV")
    p.add_argument(
        "rest",
        nargs="+",
        metavar="DATA|SUBMISSION",
        help="with RUN: a contest folder, a folder of audio, or files; with ANSWER: the "
        "submission CSV",
    )
    p.add_argument("--out", required=True, help="folder for report.html, report.json and PNGs")
    p.add_argument(
        "--compare", nargs="+", default=[], metavar="RUN", help="RUN mode: runs scored beside"
    )
    p.add_argument(
        "--train-data",
        default=None,
        help="RUN mode: contest folder whose train and unlabeled clips join the domain map "
        "(default: DATA itself when it is a contest folder)",
    )
    p.add_argument("--sample", type=int, default=300, help="RUN mode: train/unlabeled clips mapped")
    p.add_argument("--examples", type=int, default=3, help="RUN mode: example clips per condition")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--meta",
        default=None,
        help="ANSWER mode: per-clip meta CSV (default: test_meta.csv beside ANSWER)",
    )
    p.add_argument("--title", default=None)


def run(args: argparse.Namespace) -> int:
    if (Path(args.first) / MANIFEST).is_file():
        from fakevoice.report.run_report import build_run_report

        page = build_run_report(
            args.first,
            args.rest,
            args.out,
            compare=args.compare,
            train_data=args.train_data,
            n_sample=max(1, args.sample),
            examples=max(1, args.examples),
            seed=args.seed,
        )
        print(f"report: {page} (and report.json, files.csv)")
        return 0
    if Path(args.first).is_dir():
        raise RunError(f"{args.first}: not a fakevoice run directory (no {MANIFEST})")
    if len(args.rest) != 1:
        raise FakevoiceError("report ANSWER SUBMISSION takes exactly one submission CSV")
    meta = args.meta
    if meta is None:
        guess = Path(args.first).with_name("test_meta.csv")
        meta = guess if guess.is_file() else None
    report = build_report(args.first, args.rest[0], args.out, meta_csv=meta, title=args.title)
    print(f"report: {report} (and {report.with_suffix('.html').name})")
    return 0
