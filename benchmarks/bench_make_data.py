"""Time a benchmark build: wall time, peak memory (this process and its workers), counts, audit.

    python benchmarks/bench_make_data.py --size small [--cold] [--workers 2] [--seed 0]

``--cold`` uses a fresh, empty synthesis cache (the cold-cache figure of issue 4); without
it the usual cache is used (warm after the first build). The data set goes to a temporary
folder unless ``--out`` is given. Prints one JSON object.

Memory is the largest total PSS of the whole process tree, sampled every second (PSS counts
the pages the forked workers share with the parent once, so it is what the machine holds);
peak RSS of the main process and of the largest worker are given as well.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from fakevoice.synth.build import build
from fakevoice.synth.options import SIZES, BuildOptions, default_cache_dir


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants (Linux /proc)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    parent[int(name)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += [c for c, pp in parent.items() if pp == pid]
    return out


class TreeMemory(threading.Thread):
    """Samples the total PSS of this process tree as ``(seconds, kB)`` pairs (none off Linux)."""

    def __init__(self, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self.stop = every, [], threading.Event()
        self.available = os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while self.available and not self.stop.wait(self.every):
            total = sum(_pss_kb(p) for p in _tree(os.getpid()))
            self.samples.append((time.perf_counter() - self.t0, total))

    def peak_mb(self, start: float = 0.0, end: float = float("inf")) -> float | None:
        """Largest total PSS sampled between ``start`` and ``end`` seconds."""
        inside = [kb for t, kb in self.samples if start <= t < end]
        return round(max(inside) / 1024, 1) if inside else None


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
        memory = TreeMemory()
        memory.start()
        result = build(opts, log=lambda m: print(m, file=sys.stderr))
        wall = time.perf_counter() - memory.t0
        memory.stop.set()
        memory.join()
        card = json.loads((out / "datacard.json").read_text())
    pool_end = card["timing"]["pool_seconds"]
    render_end = pool_end + card["timing"]["render_seconds"]
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {
        "size": args.size,
        "cold_cache": args.cold,
        "workers": args.workers,
        "wall_seconds": round(wall, 1),
        "timing": card["timing"],
        "peak_pss_mb_all_processes": memory.peak_mb(),
        # Phases from the build's own timing: synthesis pool, clip rendering, audit and card.
        "peak_pss_mb_by_phase": {
            "pool": memory.peak_mb(0, pool_end),
            "render": memory.peak_mb(pool_end, render_end),
            "audit_and_card": memory.peak_mb(render_end),
        },
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
