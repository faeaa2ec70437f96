"""Time a training run: wall time and peak memory of the whole process tree.

    python benchmarks/bench_train.py DATA --out RUN [--model detector] [-- --set k=v ...]

Runs ``fakevoice train DATA --model M --out RUN`` in this process (with the arguments
after ``--``), sampling the total PSS of the process tree every second (the scene threads
and any decoding work are counted), and prints one JSON object: wall seconds, peak memory,
the run's validation figures and its per-epoch seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_make_data import TreeMemory

from fakevoice.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--model", default="detector")
    args = p.parse_args(argv)
    mem = TreeMemory()
    mem.start()
    t0 = time.perf_counter()
    code = cli_main(["train", str(args.data), "--model", args.model, "--out", str(args.out),
                     "--resume", *extra])  # fmt: skip
    wall = time.perf_counter() - t0
    mem.stop.set()
    metrics = json.loads((args.out / "metrics.json").read_text()) if code == 0 else {}
    keep = ("val_score", "val_auc", "val_brier", "val_ece", "uncalibrated_val_score",
            "temperature_fake", "temperature_real", "n_train", "n_val", "train_seconds",
            "prepare_seconds", "noise_pieces", "voice_groups", "vad_gate_used",
            "val_score_gated", "val_score_ungated")  # fmt: skip
    out = {
        "model": args.model,
        "exit": code,
        "wall_seconds": round(wall, 1),
        "peak_pss_mb": mem.peak_mb(),
        **{k: metrics[k] for k in keep if k in metrics},
        "epochs": [
            {k: r[k] for k in ("epoch", "loss", "val_score", "seconds") if k in r}
            for r in metrics.get("history", [])
        ],
    }
    print(json.dumps(out, indent=1))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
