"""Time and score every registered model on one data folder: the full leaderboard.

    python benchmarks/bench_models.py DATA --out DIR [--models a,b] [--epochs E] [--seed 0]

Runs ``fakevoice compare`` (feature extraction, training, prediction, scoring) and
prints the leaderboard with the wall-clock time of each phase, so the budget of issue 5
(all models on the ``small`` benchmark in under 40 minutes on two cores) can be checked.
Writes DIR/bench.json with the timings next to the leaderboard files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from fakevoice.compare import compare, markdown_table
from fakevoice.models.registry import names


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("--out", required=True)
    p.add_argument("--models", default=",".join(names()))
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    t0 = time.perf_counter()
    res = compare(args.data, args.models.split(","), args.out, seed=args.seed, epochs=args.epochs)
    total = time.perf_counter() - t0
    board = res.leaderboard
    model_time = float(board["train_seconds"].sum() + board["predict_seconds"].sum())
    report = {
        "data": str(Path(args.data).resolve()),
        "models": list(board["model"]),
        "total_seconds": round(total, 1),
        "train_and_predict_seconds": round(model_time, 1),
        "features_and_other_seconds": round(total - model_time, 1),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    Path(args.out, "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(board))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
