"""Files -> windows ready for the model, in parallel worker processes, in input order.

Decoding a clip and running voice activity over it cost far more than the detector's
forward pass (on one core: about 9 ms to decode a 5 s OGG, 16 ms of Silero VAD, 5 ms for
the front end and the network), and both run one file at a time. Worker processes do
that part, the parent batches the windows through the model. Memory stays bounded
whatever the input size: at most ``workers + 1`` tasks of ``files_per_task`` files are in
flight, and results are handed on in order as soon as they are ready. Tasks are large
(128 files) because Silero VAD steps through a clip in 32 ms chunks, one call per chunk
for the whole batch: its cost per clip falls from 51 ms in batches of 8 to 13 ms in
batches of 128.

Workers are spawned, not forked: the parent holds torch's thread pools, which a fork
would copy in an unusable state.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.audio import load_audio, windows
from fakevoice.errors import AudioError
from fakevoice.orphan import exit_when_orphaned

# Below this many files the workers' start-up (about 2 s: torch and the VAD model) costs
# more than they save.
MIN_FILES_FOR_WORKERS = 200
# Windows per voice-activity batch in a worker: the falling cost per clip levels off here.
VAD_BATCH = 256


@dataclass
class Clip:
    """One file cut into model windows: (k, n) float32 and each window's true length; the
    workers send the windows' front-end features and speech scores instead of the
    windows (a twelfth of the bytes). A clip with neither windows nor features could not
    be read, for ``reason``."""

    index: int
    windows: np.ndarray | None
    lengths: np.ndarray | None
    reason: str = ""
    scores: np.ndarray | None = None
    features: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.windows is not None or self.features is not None

    def __len__(self) -> int:
        return 0 if self.lengths is None else len(self.lengths)


def cut(index: int, x: np.ndarray, clip_samples: int) -> Clip:
    """A decoded mono signal as windows; only a file shorter than a clip is padded (longer
    ones end-align their last window), exactly as in training."""
    w = windows(x, clip_samples)
    lengths = np.full(len(w), min(clip_samples, max(len(x), 1)), dtype=np.int64)
    return Clip(index, w, lengths)


def decode_one(
    path: Path, sample_rate: int, max_seconds: float | None = None
) -> tuple[np.ndarray | None, str]:
    """(mono signal at ``sample_rate``, at most ``max_seconds`` long, "") or (None, the
    reason it cannot be read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_audio(path, sample_rate, max_seconds=max_seconds), ""
    except AudioError as exc:
        return None, exc.reason


def auto_workers(n_files: int, requested: int | None) -> int:
    """Worker processes to use: ``requested`` if given (0: decode in this process), else
    one per core for inputs large enough to repay the start-up."""
    if requested is not None:
        return max(0, int(requested))
    if n_files < MIN_FILES_FOR_WORKERS:
        return 0
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


_SETTINGS: dict[str, object] = {}


def _init(sample_rate: int, clip_samples: int, vad: bool, frontend: Any, frames: int) -> None:
    import torch

    from fakevoice.features import FrontEnd

    exit_when_orphaned()
    torch.set_num_threads(1)  # one process per core: threads inside would fight them
    _SETTINGS.update(sample_rate=sample_rate, clip_samples=clip_samples, vad=vad)
    _SETTINGS.update(front=None if frontend is None else FrontEnd(frontend), frames=frames)


def _work(task: list[tuple[int, str]]) -> list[Clip]:
    import torch

    rate = int(_SETTINGS["sample_rate"])  # type: ignore[arg-type]
    n = int(_SETTINGS["clip_samples"])  # type: ignore[arg-type]
    out: list[Clip] = []
    for i, p in task:
        x, reason = decode_one(Path(p), rate)
        out.append(Clip(i, None, None, reason) if x is None else cut(i, x, n))
    good = [c for c in out if c.windows is not None]
    if _SETTINGS["vad"]:
        from fakevoice.vad import window_scores

        waves = [w for c in good for w in c.windows]
        lengths = np.concatenate([c.lengths for c in good]) if good else []
        scores = window_scores(waves, lengths, batch=min(VAD_BATCH, max(1, len(waves))))
        at = 0
        for c in good:
            c.scores = np.asarray(scores[at : at + len(c)], dtype=np.float64)
            at += len(c)
    front, frames = _SETTINGS["front"], int(_SETTINGS["frames"])  # type: ignore[arg-type]
    for c in good:
        c.features = front(torch.from_numpy(c.windows))[..., :frames].numpy()  # type: ignore[operator]
        c.windows = None
    return out


def _samples(
    max_seconds: float | None, task: list[tuple[int, str]]
) -> list[tuple[int, np.ndarray | None, str]]:
    """Each file as int16 samples (half the bytes to send back), cut at ``max_seconds``."""
    rate = int(_SETTINGS["sample_rate"])  # type: ignore[arg-type]
    out: list[tuple[int, np.ndarray | None, str]] = []
    for i, p in task:
        x, reason = decode_one(Path(p), rate, max_seconds)
        out.append((i, None if x is None else to_int16(x), reason))
    return out


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as little-endian int16, as the wave cache stores them."""
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")


def _decode_only(task: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    rate = int(_SETTINGS["sample_rate"])  # type: ignore[arg-type]
    out = []
    for i, p in task:
        x, reason = decode_one(Path(p), rate)
        out.append((i, 0 if x is None else len(x), reason))
    return out


class DecodePool:
    """Worker processes that turn paths into :class:`Clip` s (front-end features, and
    speech scores if ``vad``), yielded in input order. Use as a context manager, or call
    :meth:`close`."""

    def __init__(
        self,
        workers: int,
        sample_rate: int,
        clip_samples: int,
        vad: bool,
        frontend: Any = None,
        frames: int = 0,
        files_per_task: int = 128,
    ) -> None:
        self.workers = max(1, int(workers))
        self.files_per_task = max(1, int(files_per_task))
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=_init,
            initargs=(sample_rate, clip_samples, vad, frontend, frames),
        )

    def _ordered(self, fn, paths: Sequence[Path]) -> Iterator:
        tasks = [
            [(i, str(paths[i])) for i in range(s, min(len(paths), s + self.files_per_task))]
            for s in range(0, len(paths), self.files_per_task)
        ]
        pending: deque[Future] = deque()
        it = iter(tasks)
        for task in it:
            pending.append(self._pool.submit(fn, task))
            if len(pending) > self.workers:
                break
        while pending:
            done = pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(self._pool.submit(fn, nxt))
            yield from done

    def clips(self, paths: Sequence[Path]) -> Iterator[Clip]:
        """One :class:`Clip` per path, in order (index = position in ``paths``)."""
        return self._ordered(_work, paths)

    def samples(
        self, paths: Sequence[Path], max_seconds: float | None = None
    ) -> Iterator[tuple[int, np.ndarray | None, str]]:
        """(index, int16 samples at most ``max_seconds`` long or None, reason), in order."""
        return self._ordered(functools.partial(_samples, max_seconds), paths)

    def decode_only(self, paths: Sequence[Path]) -> Iterator[tuple[int, int, str]]:
        """(index, decoded samples, reason): decoding alone, to measure what it costs."""
        return self._ordered(_decode_only, paths)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
