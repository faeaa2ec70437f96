"""Wall time and peak memory of any fakevoice verb, workers included.

    python benchmarks/bench_command.py predict runs/full data/full --out runs/full/sub.csv

Runs ``fakevoice ARGS...`` in this process, sampling the total PSS of the process tree
every second (decoding workers are children, so they are counted), and prints one JSON
object: the arguments, the exit code, wall seconds and peak memory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_make_data import TreeMemory

from fakevoice.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    mem = TreeMemory()
    mem.start()
    t0 = time.perf_counter()
    code = cli_main(args)
    wall = time.perf_counter() - t0
    mem.stop.set()
    mem.join()
    out = {"args": args, "exit": code, "wall_seconds": round(wall, 1), "peak_pss_mb": mem.peak_mb()}
    print(json.dumps(out, indent=1))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
