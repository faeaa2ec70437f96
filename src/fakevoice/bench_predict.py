"""How fast a run scores files here, against how fast the same files merely decode.

Each stage runs on the same files with the same worker processes: decoding alone
(``load_audio``, what any use of the files costs), then prediction per backend (the
network in torch or in onnxruntime). Worker start-up and a warm-up of the first files are
left out of the rates and reported apart: they are paid once per run, not per file.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fakevoice.decoding import DecodePool, auto_workers, decode_one
from fakevoice.memory import PeakMemory
from fakevoice.predict import BACKENDS, Predictor, collect_inputs

CONTEST_TEST_CLIPS = 50_000


def stage_line(what: str, files: int, seconds: float) -> None:
    print(f"{what}: {files} files in {seconds:.1f} s", file=sys.stderr, flush=True)


def _measure(make: Callable[[], tuple[Callable[[Sequence[Path]], list], Callable[[], None]]],
             paths: Sequence[Path]) -> tuple[list, dict[str, float]]:  # fmt: skip
    """``make()`` -> (a function over paths, its closer): what the first 8 files and the
    start cost is start-up; the rate is of all ``paths`` after that."""
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        fn, close = make()
        try:
            fn(paths[: min(len(paths), 8)])
            start = time.perf_counter() - t0
            t1 = time.perf_counter()
            done = fn(paths)
            seconds = time.perf_counter() - t1
        finally:
            close()
    return done, {
        "clips_per_s": len(done) / max(seconds, 1e-9),
        "seconds": seconds,
        "startup_s": start,
        "peak_rss_mb": mem.peak_mb,
    }


def _decode_rate(paths: Sequence[Path], workers: int, rate: int) -> dict[str, float]:
    def make():
        if not workers:
            return (lambda ps: [decode_one(p, rate) for p in ps]), (lambda: None)
        pool = DecodePool(workers, rate, 1, False)  # the network's settings play no part
        return (lambda ps: list(pool.decode_only(ps))), pool.close

    return _measure(make, paths)[1]


def _predict_rate(
    run: Path, paths: Sequence[Path], backend: str, workers: int, batch_size: int, onnx: Path | None
) -> dict[str, float]:
    def make():
        pred = Predictor(run, batch_size, backend=backend, onnx=onnx, workers=workers)
        return (lambda ps: list(pred.stream(ps))), pred.close

    res, figures = _measure(make, paths)
    figures["scored"] = sum(p is not None for _, p, _ in res)
    return figures


def bench_predict(
    run: str | Path,
    data: str | Path,
    *,
    limit: int | None = None,
    workers: int | None = None,
    backends: Sequence[str] = BACKENDS,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Decode-only and per-backend prediction rates, peak memory, and the time a
    contest-sized test set (50,000 clips) would take at those rates."""
    from fakevoice.onnx_backend import export_onnx

    run = Path(run)
    items = collect_inputs([data])
    paths = items.paths[: limit or None]
    n_workers = auto_workers(len(paths), workers)
    probe = Predictor(run, batch_size)
    rate = probe.cfg.frontend.sample_rate
    report: dict[str, Any] = {
        "run": str(run),
        "data": str(data),
        "files": len(paths),
        "workers": n_workers,
        "batch_size": batch_size,
        "backends": {},
    }
    t = time.perf_counter()
    report["decode_only"] = dec = _decode_rate(paths, n_workers, rate)
    stage_line("bench decode-only", len(paths), time.perf_counter() - t)
    with tempfile.TemporaryDirectory(prefix="fakevoice-bench-") as tmp:
        onnx = export_onnx(run, Path(tmp) / "model.onnx") if "onnx" in backends else None
        for b in backends:
            t = time.perf_counter()
            r = _predict_rate(run, paths, b, n_workers, batch_size, onnx)
            r["ratio_to_decode"] = r["clips_per_s"] / max(dec["clips_per_s"], 1e-9)
            r["projected_50k_min"] = (CONTEST_TEST_CLIPS / r["clips_per_s"] + r["startup_s"]) / 60
            report["backends"][b] = r
            stage_line(f"bench predict ({b})", len(paths), time.perf_counter() - t)
    return report


def summary(report: dict[str, Any]) -> str:
    """The report as lines a person reads."""
    dec = report["decode_only"]
    lines = [
        f"{report['files']} files, {report['workers']} decoding worker(s), "
        f"batch {report['batch_size']}",
        f"  decode only : {dec['clips_per_s']:7.1f} clips/s   peak {dec['peak_rss_mb']:6.0f} MB",
    ]
    for b, r in report["backends"].items():
        lines.append(
            f"  predict {b:<5}: {r['clips_per_s']:7.1f} clips/s   peak {r['peak_rss_mb']:6.0f} MB"
            f"   {r['ratio_to_decode']:.2f} of decode-only   50,000 clips in "
            f"{r['projected_50k_min']:.1f} min (start-up {r['startup_s']:.1f} s)"
        )
    return "\n".join(lines)
