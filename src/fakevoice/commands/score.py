"""Score a submission against an answer file with the exact contest score.

Prints the score, mean AUC, Brier and ECE and each column's parts; --json prints one
JSON object instead. The organisers pair rows by position after dropping ids not in the
answer; this command does the same unless --align-ids is given.
"""

from __future__ import annotations

import argparse
import json
import sys

from fakevoice.dataset import SUBMISSION_COLUMNS, read_submission, read_table
from fakevoice.errors import DataError
from fakevoice.metric import score_frames

NAME = "score"
HELP = "score a submission CSV against an answer CSV (id,fake,real)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("answer", help="answer CSV: id,fake,real with 0/1 values")
    p.add_argument("submission", help="submission CSV: id,fake,real probabilities")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--align-ids", action="store_true", help="pair rows by id, not by position")


def format_table(score) -> str:
    lines = [f"{'':8}{'score':>9}{'AUC':>9}{'Brier':>9}{'ECE':>9}"]
    lines.append(f"{'mean':8}{score.score:9.4f}{score.auc:9.4f}{score.brier:9.4f}{score.ece:9.4f}")
    for name, c in score.columns.items():
        lines.append(f"{name:8}{c.score:9.4f}{c.auc:9.4f}{c.brier:9.4f}{c.ece:9.4f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    answer, problems = read_table(args.answer, SUBMISSION_COLUMNS, numeric=("fake", "real"))
    if problems:
        raise DataError(args.answer, problems)
    submission = read_submission(args.submission)
    score, notes = score_frames(answer, submission, by_id=args.align_ids)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(score.as_dict()))
    else:
        print(f"score {score.score:.6f}  (n={score.n}, lower is better)")
        print(format_table(score))
    return 0
