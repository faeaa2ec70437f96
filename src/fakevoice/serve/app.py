"""The HTTP service of a trained run (FastAPI): upload a clip, get its probabilities.

POST /v1/predict (multipart field ``file``; ``?picture=true`` adds the explain picture)
-> {file, seconds, fake, real, timeline, model}; GET /healthz; GET / a page to try a
clip; GET /docs the OpenAPI page. Limits: upload bytes (413), audio seconds (413), and
the time from the first byte to the answer (408 while uploading, 504 after). A file that
is not usable audio is a 422 naming the reason; a full queue is a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from fakevoice import __version__
from fakevoice.decoding import decode_one
from fakevoice.onnx_backend import model_digest
from fakevoice.predict import Predictor
from fakevoice.serve.batcher import Batcher, Busy

PAGE = Path(__file__).with_name("page.html")
CHUNK = 1 << 16


@dataclass
class Limits:
    max_bytes: int = 20 * 2**20
    max_seconds: float = 60.0
    timeout: float = 30.0
    max_queue: int = 64
    max_batch: int = 16


def model_version(pred: Predictor) -> dict[str, str]:
    digest = model_digest(pred.run)
    return {
        "run": pred.run.resolve().name,
        "model": str(pred.cfg.model),
        "sha256": digest[:16],
        "backend": pred.backend,
        "fakevoice": __version__,
    }


def _safe_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".audio"


def create_app(run: str | Path, limits: Limits | None = None, *, backend: str = "torch") -> FastAPI:
    """The service of ``run``: the model is loaded once, here, and one thread runs it."""
    limits = limits or Limits()
    pred = Predictor(run, backend=backend)
    batcher = Batcher(pred, limits.max_queue, limits.max_batch)
    version = model_version(pred)
    rate = pred.cfg.frontend.sample_rate

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()

    app = FastAPI(
        lifespan=lifespan,
        title="fakevoice",
        version=__version__,
        description="Is the voice in a clip real or AI-generated? Two calibrated probabilities.",
    )
    app.state.batcher = batcher
    app.state.limits = limits

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, 500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        html = PAGE.read_text(encoding="utf-8")
        return html.replace("{{MAX_MB}}", f"{limits.max_bytes / 2**20:g}").replace(
            "{{MAX_SECONDS}}", f"{limits.max_seconds:g}"
        )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": version,
            "waiting": batcher.waiting,
            "served": batcher.served,
        }

    async def _read(upload: UploadFile, into: Any) -> int:
        size = 0
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limits.max_bytes:
                raise HTTPException(
                    413, f"{upload.filename}: larger than {limits.max_bytes / 2**20:g} MB"
                )
            into.write(chunk)
        return size

    @app.post("/v1/predict")
    async def predict_upload(
        file: Annotated[UploadFile, File(description="an audio file (wav, ogg, flac, mp3...)")],
        picture: Annotated[
            bool, Query(description="add the explain picture (PNG, base64)")
        ] = False,
    ) -> dict[str, Any]:
        t0 = time.monotonic()
        name = file.filename or "upload"
        with tempfile.TemporaryDirectory(prefix="fakevoice-upload-") as tmp:
            path = Path(tmp) / f"upload{_safe_suffix(name)}"
            with path.open("wb") as fh:
                try:
                    size = await asyncio.wait_for(_read(file, fh), limits.timeout)
                except asyncio.TimeoutError as exc:
                    raise HTTPException(
                        408, f"{name}: upload took over {limits.timeout:g} s"
                    ) from exc
            if size == 0:
                raise HTTPException(422, f"{name}: empty file (0 bytes)")
            x, reason = await run_in_threadpool(decode_one, path, rate)
        if x is None:
            raise HTTPException(422, f"{name}: {reason}")
        seconds = len(x) / rate
        if seconds > limits.max_seconds:
            raise HTTPException(
                413, f"{name}: {seconds:.1f} s of audio, over the {limits.max_seconds:g} s limit"
            )
        try:
            future = batcher.submit(name, x, picture)
        except Busy as exc:
            raise HTTPException(503, f"busy: {exc}", headers={"Retry-After": "1"}) from exc
        left = max(0.1, limits.timeout - (time.monotonic() - t0))
        try:
            out = await asyncio.wait_for(asyncio.wrap_future(future), left)
        except asyncio.TimeoutError as exc:
            future.cancel()
            raise HTTPException(504, f"{name}: not scored within {limits.timeout:g} s") from exc
        except ValueError as exc:
            raise HTTPException(422, f"{name}: {exc}") from exc
        res: dict[str, Any] = {"file": name, "seconds": round(seconds, 4), **out, "model": version}
        if "picture_png" in res:
            res["picture_png"] = base64.b64encode(res["picture_png"]).decode()
        return res

    return app


def serve(
    run: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    backend: str = "torch",
) -> None:
    """Run the service until interrupted (uvicorn, one process: the model is in memory)."""
    import uvicorn

    app = create_app(run, limits, backend=backend)
    print(f"fakevoice serve: http://{host}:{port}/ (API docs at /docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("FAKEVOICE_LOG", "info"))
