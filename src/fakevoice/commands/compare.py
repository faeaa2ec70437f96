"""Train, predict and score several models side by side on one data folder.

Writes DIR/leaderboard.csv, .md and .png (model, validation accuracy on clean train
clips, contest score, AUC, Brier, ECE, training and prediction time) and, when the data
folder has test_meta.csv, DIR/breakdown.csv by number of voices and seen/unseen
generators. Runs are kept in DIR/runs/MODEL; a finished run with the same configuration
is reused, an interrupted one resumed.
"""

from __future__ import annotations

import argparse

from fakevoice.compare import compare, markdown_table
from fakevoice.errors import FakevoiceError
from fakevoice.models.registry import SPECS

NAME = "compare"
HELP = "train and score several models; write a leaderboard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="contest data folder (with test_answer.csv to get scores)")
    p.add_argument(
        "--models",
        default=",".join(SPECS),
        help=f"comma-separated model names (default all: {','.join(SPECS)})",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="epochs of every stage of every model")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override applied to every model (repeatable)",
    )
    p.add_argument("--cache-dir", default=None, help="feature cache (default DIR/cache)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--run",
        dest="runs",
        action="append",
        default=[],
        metavar="NAME=RUN",
        help="score this finished run as row NAME (a model's name replaces training it; "
        "any other name labels a variant); repeatable",
    )


def _pair(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise FakevoiceError(f"--run expects MODEL=RUN_DIR, got {text!r}")
    return name.strip(), path.strip()


def run(args: argparse.Namespace) -> int:
    res = compare(
        args.data,
        args.models.split(","),
        args.out,
        seed=args.seed,
        epochs=args.epochs,
        sets=args.sets,
        cache_dir=args.cache_dir,
        batch_size=args.batch_size,
        runs=dict(_pair(r) for r in args.runs),
    )
    print(markdown_table(res.leaderboard))
    print("wrote " + ", ".join(str(f) for f in res.files))
    return 0
