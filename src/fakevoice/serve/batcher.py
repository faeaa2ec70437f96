"""One model thread for every request: jobs queue, and those waiting are scored together.

The network and voice activity run in one thread, so requests never compete for the
model or its threads, and a burst costs one batched forward pass instead of one each.
A full queue refuses new work at once (the caller answers 503) rather than letting
latency grow without bound; every accepted job gets an answer or an error.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.explain import explain_signal, picture, timeline
from fakevoice.predict import Predictor


class Busy(Exception):
    """The queue is full: try again later."""


@dataclass
class Job:
    name: str
    signal: np.ndarray
    picture: bool = False
    future: Future = field(default_factory=Future)


class Batcher:
    """``submit(name, signal)`` -> Future of {fake, real, timeline[, picture_png]}."""

    def __init__(self, predictor: Predictor, max_queue: int = 64, max_batch: int = 16) -> None:
        self.predictor = predictor
        self.max_batch = max(1, int(max_batch))
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max(1, int(max_queue)))
        self._thread = threading.Thread(target=self._run, name="fakevoice-model", daemon=True)
        self._thread.start()
        self.served = 0
        self.batches = 0

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def submit(self, name: str, signal: np.ndarray, picture: bool = False) -> Future:
        job = Job(name, signal, picture)
        try:
            self._queue.put_nowait(job)
        except queue.Full as exc:
            raise Busy(f"{self._queue.maxsize} requests are already waiting") from exc
        return job.future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            while len(jobs) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # stop after this batch
                    break
                jobs.append(nxt)
            self._serve(jobs)

    def _serve(self, jobs: list[Job]) -> None:
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        try:
            signals = ((k, j.signal, "") for k, j in enumerate(live))
            clips = {k: d for k, d, _ in self.predictor.describe_signals(signals, details=False)}
            self.batches += 1
        except Exception as exc:  # one bad batch must not stop the thread
            for j in live:
                j.future.set_exception(exc)
            return
        for k, j in enumerate(live):
            try:
                d = clips.get(k)
                if d is None:
                    raise ValueError("the model produced a non-finite probability")
                out: dict[str, Any] = {
                    "fake": float(d["probs"][0]),
                    "real": float(d["probs"][1]),
                    "timeline": timeline(self.predictor, j.signal),
                }
                if j.picture:
                    out["picture_png"] = _picture(self.predictor, j)
                j.future.set_result(out)
                self.served += 1
            except Exception as exc:
                j.future.set_exception(exc)


def _picture(pred: Predictor, job: Job) -> bytes:
    import tempfile

    ex = explain_signal(pred, job.signal, job.name)
    with tempfile.TemporaryDirectory(prefix="fakevoice-serve-") as tmp:
        return picture(ex, Path(tmp) / "explain.png").read_bytes()
