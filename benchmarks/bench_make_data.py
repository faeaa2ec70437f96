"""Time a benchmark build: wall time, peak RSS (this process and its workers), counts, audit.

    python benchmarks/bench_make_data.py --size small [--cold] [--workers 2] [--seed 0]

``--cold`` uses a fresh, empty synthesis cache (the cold-cache figure of issue 4); without
it the usual cache is used (warm after the first build). The data set goes to a temporary
folder unless ``--out`` is given. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from fakevoice.synth.builder import SIZES, BuildOptions, build, default_cache_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="tiny")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cold", action="store_true", help="start from an empty synthesis cache")
    p.add_argument("--out", type=Path, default=None, help="keep the data set here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fv-bench-") as tmp:
        out = args.out or Path(tmp) / "data"
        cache = Path(tmp) / "cache" if args.cold else default_cache_dir()
        opts = BuildOptions(
            out=out,
            size=args.size,
            seed=args.seed,
            workers=args.workers,
            cache_dir=cache,
            force=True,
            progress=False,
        )
        t0 = time.perf_counter()
        result = build(opts, log=lambda m: print(m, file=sys.stderr))
        wall = time.perf_counter() - t0
        card = json.loads((out / "datacard.json").read_text())
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {
        "size": args.size,
        "cold_cache": args.cold,
        "workers": args.workers,
        "wall_seconds": round(wall, 1),
        "timing": card["timing"],
        "peak_rss_mb_main": round(self_rss, 1),
        "peak_rss_mb_largest_worker": round(child_rss, 1),
        "counts": result.counts,
        "voices_by_generator": card["summary"]["train"]["by_generator"],
        "test_voices_by_generator": card["summary"]["test"]["by_generator"],
        "audit": result.audit,
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
