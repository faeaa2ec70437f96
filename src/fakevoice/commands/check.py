"""Validate a contest data folder: its CSVs, and (unless --no-audio) every audio file.

Lists every problem found, one per line, and exits 2 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fakevoice.audio import SILENCE_PEAK, read_audio
from fakevoice.dataset import load_contest
from fakevoice.errors import AudioError, DataError
from fakevoice.progress import progress

NAME = "check"
HELP = "validate a contest data folder and its audio"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="contest data folder (train.csv, test.csv, ...)")
    p.add_argument("--no-audio", action="store_true", help="check the CSVs only, not each file")
    p.add_argument("--limit", type=int, default=None, help="check at most this many audio files")


def run(args: argparse.Namespace) -> int:
    data = load_contest(args.data)
    files: list[Path] = []
    for df in (data.train, data.test):
        if df is not None:
            files.extend(Path(p) for p in df["path"])
    files.extend(data.unlabeled)
    counts = {
        "train": 0 if data.train is None else len(data.train),
        "test": 0 if data.test is None else len(data.test),
        "unlabeled": len(data.unlabeled),
    }
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    if args.no_audio:
        print("ok (CSVs only)")
        return 0
    if args.limit is not None:
        files = files[: args.limit]
    problems: list[str] = []
    silent = 0
    for path in progress(files, desc="checking audio", unit="file"):
        try:
            samples, _ = read_audio(path)
            if float(abs(samples).max()) < SILENCE_PEAK:
                silent += 1
        except AudioError as exc:
            problems.append(str(exc))
    if silent:
        print(f"note: {silent} silent file(s) (accepted: a clip may hold no voice)")
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        raise DataError(args.data, [f"{len(problems)} unusable audio file(s) of {len(files)}"])
    print(f"ok: {len(files)} audio file(s) decoded")
    return 0
