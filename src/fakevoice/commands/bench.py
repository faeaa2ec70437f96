"""Measure speed and memory of a trained run on your files.

`fakevoice bench predict RUN DATA`: clips per second of prediction for each backend
(torch; onnxruntime on a temporary export) next to the rate of merely decoding the same
files with the same worker processes, the peak resident memory of the whole process
tree, and the time a contest-sized test set (50,000 clips) would take. DATA is a contest
folder, a folder of audio files or one file. --out writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json

from fakevoice.atomic import atomic_write_text
from fakevoice.errors import FakevoiceError

NAME = "bench"
HELP = "measure prediction speed and memory (bench predict RUN DATA)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["predict"], help="what to measure")
    p.add_argument("run", help="run directory made by `fakevoice train`")
    p.add_argument("data", help="contest folder, folder of audio files, or a file")
    p.add_argument("--limit", type=int, help="use only the first N files")
    p.add_argument("--workers", type=int, help="decoding processes (default: one per core)")
    p.add_argument("--backends", default="torch,onnx", help="comma-separated: torch,onnx")
    p.add_argument("--batch-size", type=int, default=64, help="windows per forward pass")
    p.add_argument("--out", help="write the figures as JSON here")


def run(args: argparse.Namespace) -> int:
    from fakevoice.bench_predict import bench_predict, summary
    from fakevoice.predict import BACKENDS

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in backends if b not in BACKENDS]
    if bad or not backends:
        raise FakevoiceError(f"--backends takes {', '.join(BACKENDS)}, not {args.backends!r}")
    if args.limit is not None and args.limit < 1:
        raise FakevoiceError("--limit must be >= 1")
    if args.workers is not None and args.workers < 0:
        raise FakevoiceError("--workers must be >= 0")
    report = bench_predict(
        args.run,
        args.data,
        limit=args.limit,
        workers=args.workers,
        backends=backends,
        batch_size=max(1, args.batch_size),
    )
    print(summary(report))
    if args.out:
        try:
            atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            raise FakevoiceError(f"{args.out}: cannot write: {exc.strerror}") from exc
    return 0
