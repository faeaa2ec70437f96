"""Score audio with a trained run: a contest folder, a folder of audio files, or files.

Writes id,fake,real. A contest folder gives its test ids in sample_submission order; a
plain folder gives one row per audio file found (recursively), id = relative path; a list
of files gives one row per file, id = the path as given. Files that cannot be read are
listed in errors.csv beside the output; --strict makes them an error (exit 2).
"""

from __future__ import annotations

import argparse
import sys

from fakevoice.errors import FakevoiceError
from fakevoice.predict import BACKENDS, predict

NAME = "predict"
HELP = "predict (fake, real) probabilities with a trained run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory made by `fakevoice train`")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="contest folder, folder of audio files, or audio files",
    )
    p.add_argument("--out", required=True, help="output CSV (id,fake,real)")
    p.add_argument("--strict", action="store_true", help="fail (exit 2) if any file is bad")
    p.add_argument("--resume", action="store_true", help="reuse parts of a killed run")
    p.add_argument("--batch-size", type=int, default=64, help="windows per forward pass")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="run the network in torch or in onnxruntime (after `fakevoice export RUN`)",
    )
    p.add_argument("--onnx", metavar="FILE", help="the ONNX export to use (default RUN/model.onnx)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="decoding processes (default: one per core for 200 files or more; 0: none)",
    )


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise FakevoiceError("--batch-size must be >= 1")
    if args.workers is not None and args.workers < 0:
        raise FakevoiceError("--workers must be >= 0")
    if args.onnx and args.backend != "onnx":
        raise FakevoiceError("--onnx needs --backend onnx")
    res = predict(
        args.run,
        args.inputs,
        args.out,
        batch_size=args.batch_size,
        strict=args.strict,
        resume=args.resume,
        backend=args.backend,
        onnx=args.onnx,
        workers=args.workers,
    )
    if res.errors:
        what = "filled with the training prior" if res.filled else "left out"
        print(
            f"note: {len(res.errors)} file(s) could not be read ({what}); see errors.csv "
            f"beside {args.out}",
            file=sys.stderr,
        )
    if res.n_ok == 0:
        raise FakevoiceError("no file could be scored")
    print(f"wrote {res.written} ({res.n_ok} file(s) scored)")
    return 0
