"""Serve a trained run over HTTP, with a page to try a clip.

`fakevoice serve RUN --host 127.0.0.1 --port 8000` then open http://127.0.0.1:8000/ and
drop a file, or `curl -F file=@clip.ogg http://127.0.0.1:8000/v1/predict`. The API is
described at /docs (OpenAPI); /healthz answers when the model is loaded. Needs the
serve extra: pip install "fakevoice[serve]".
"""

from __future__ import annotations

import argparse

from fakevoice.errors import FakevoiceError

NAME = "serve"
HELP = "serve a run over HTTP (POST /v1/predict, a page at /)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory made by `fakevoice train`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--max-mb", type=float, default=20.0, help="largest upload, MB")
    p.add_argument("--max-seconds", type=float, default=60.0, help="longest audio, seconds")
    p.add_argument("--timeout", type=float, default=30.0, help="time limit per request, s")
    p.add_argument("--queue", type=int, default=64, help="requests waiting before 503")
    p.add_argument("--backend", choices=["torch", "onnx"], default="torch")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise FakevoiceError("--port must lie between 1 and 65535")
    if min(args.max_mb, args.max_seconds, args.timeout) <= 0 or args.queue < 1:
        raise FakevoiceError("--max-mb, --max-seconds, --timeout and --queue must be positive")
    try:
        from fakevoice.serve.app import Limits, serve
    except ImportError as exc:
        raise FakevoiceError(f"serve needs {exc.name}: pip install 'fakevoice[serve]'") from exc
    limits = Limits(
        max_bytes=int(args.max_mb * 2**20),
        max_seconds=args.max_seconds,
        timeout=args.timeout,
        max_queue=args.queue,
    )
    serve(args.run, args.host, args.port, limits, backend=args.backend)
    return 0
