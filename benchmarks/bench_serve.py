"""Bounded load test of `fakevoice serve` on loopback: requests per second and latency.

Starts the service of RUN on a free 127.0.0.1 port in this process, sends REQUESTS
uploads of the clips of DATA from CONCURRENCY client threads (stopping at the count or
after --max-seconds, whichever comes first), and prints throughput, p50/p95/max latency
and the status codes. Traffic goes to 127.0.0.1 only.

    python benchmarks/bench_serve.py runs/demo data/small --requests 200 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from fakevoice.predict import collect_inputs
from fakevoice.serve.app import Limits, create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("data", help="contest folder or folder of clips to upload")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=300.0)
    ap.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    ap.add_argument("--out", help="write the figures as JSON")
    args = ap.parse_args(argv)

    paths = collect_inputs([args.data]).paths[: max(1, args.requests)]
    bodies = [(p.name, p.read_bytes()) for p in paths]
    port = _free_port()
    app = create_app(
        args.run, Limits(max_queue=max(64, 2 * args.concurrency)), backend=args.backend
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1/predict"
    stop_at = time.monotonic() + args.max_seconds
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def one(k: int) -> None:
        if time.monotonic() > stop_at:
            return
        name, body = bodies[k % len(bodies)]
        t = time.perf_counter()
        with httpx.Client(timeout=120) as c:
            r = c.post(url, files={"file": (name, body)})
        dt = time.perf_counter() - t
        with lock:
            latencies.append(dt)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(one, range(args.requests)))
    wall = time.perf_counter() - t0
    server.should_exit = True
    thread.join(timeout=10)
    lat = np.asarray(latencies)
    rep = {
        "requests": len(lat),
        "concurrency": args.concurrency,
        "backend": args.backend,
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(lat) / wall, 2),
        "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 1),
        "p95_ms": round(float(np.percentile(lat, 95)) * 1e3, 1),
        "max_ms": round(float(lat.max()) * 1e3, 1),
        "status": {str(k): v for k, v in sorted(codes.items())},
        "batches": app.state.batcher.batches,
    }
    print(
        f"{rep['requests']} requests, {args.concurrency} at a time: {rep['requests_per_s']} req/s, "
        f"p50 {rep['p50_ms']} ms, p95 {rep['p95_ms']} ms, max {rep['max_ms']} ms, "
        f"status {rep['status']}, {rep['batches']} model batches"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(rep, indent=2) + "\n")
    return 0 if set(codes) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
