"""Decoded waveforms of a set of files, kept on disk as one int16 memory map.

Training that mixes voices must start from audio, not from cached features. Decoding an
OGG costs milliseconds and a training example is drawn many times, so every file is
decoded once into ``$FAKEVOICE_CACHE/waves/KEY.i16`` (2 bytes a sample at 32 kHz: 230 MB
an hour of audio; train clips are cut at ``max_seconds``) with an index of offsets, and
read back through a memory map: the operating system pages in what is used, whatever
the set's size. The key covers the decode settings and every file's path, size and
modification time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from fakevoice.atomic import atomic_path, atomic_write_text
from fakevoice.audio import SAMPLE_RATE
from fakevoice.cachekey import cache_key, cache_root
from fakevoice.decoding import DecodePool, auto_workers, decode_one, to_int16
from fakevoice.errors import AudioError
from fakevoice.progress import progress

WAVES_FORMAT = 1


def _key(paths: Sequence[str], max_seconds: float | None) -> str:
    return cache_key([WAVES_FORMAT, SAMPLE_RATE, max_seconds], paths)


class WaveStore:
    """Waveforms by index (float32 in [-1, 1]); files that failed to decode are None."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray, failed: list[tuple[str, str]]):
        self._data = data
        self.offsets = offsets
        self.failed = failed

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def length(self, i: int) -> int:
        return int(self.offsets[i + 1] - self.offsets[i])

    def get(self, i: int) -> np.ndarray:
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return self._data[lo:hi].astype(np.float32) / 32767.0

    @property
    def ok(self) -> np.ndarray:
        return np.diff(self.offsets) > 0


def _decoded(
    paths: Sequence[str], max_seconds: float | None, workers: int
) -> Iterator[tuple[np.ndarray | None, str]]:
    """(int16 samples or None, reason) per path, in order: in decoding worker processes
    when ``workers`` (decoding is all the cost: 55,000 contest-sized clips take about 8
    minutes on one core), else here."""
    if workers:
        with DecodePool(workers, SAMPLE_RATE, 0, vad=False) as pool:
            for _, q, reason in pool.samples([Path(p) for p in paths], max_seconds):
                yield q, reason
        return
    for p in paths:
        x, reason = decode_one(Path(p), SAMPLE_RATE, max_seconds)
        yield (None if x is None else to_int16(x)), reason


def load_waves(
    paths: Sequence[str | Path],
    *,
    max_seconds: float | None,
    cache_dir: str | Path | None = None,
    desc: str = "decode",
    workers: int | None = None,
) -> WaveStore:
    """Decode ``paths`` once (mono, 32 kHz, at most ``max_seconds``) and map them back;
    ``workers`` decoding processes (None: one per core for large sets, 0: none)."""
    paths = [str(p) for p in paths]
    cache = Path(cache_dir) if cache_dir is not None else cache_root("waves")
    key = _key(paths, max_seconds)
    data_file, index_file = cache / f"{key}.i16", cache / f"{key}.json"
    if not (data_file.is_file() and index_file.is_file()):
        cache.mkdir(parents=True, exist_ok=True)
        offsets = [0]
        failed: list[tuple[str, str]] = []
        with atomic_path(data_file) as tmp, open(tmp, "wb") as fh:
            decoded = _decoded(paths, max_seconds, auto_workers(len(paths), workers))
            for p, (q, reason) in zip(
                paths,
                progress(decoded, desc=desc, unit="file", leave=False, total=len(paths)),
                strict=True,
            ):
                if q is not None and len(q) == 0:
                    q, reason = None, "no samples"
                if q is None:
                    failed.append((p, reason))
                    offsets.append(offsets[-1])
                    continue
                fh.write(q.tobytes())
                offsets.append(offsets[-1] + len(q))
        atomic_write_text(index_file, json.dumps({"offsets": offsets, "failed": failed}))
    index = json.loads(index_file.read_text())
    offsets_arr = np.asarray(index["offsets"], dtype=np.int64)
    if len(offsets_arr) != len(paths) + 1:
        raise AudioError(index_file, "wave cache index does not match its files; delete it")
    n = int(offsets_arr[-1])
    data = np.memmap(data_file, dtype="<i2", mode="r", shape=(n,)) if n else np.zeros(0, "<i2")
    return WaveStore(data, offsets_arr, [tuple(f) for f in index["failed"]])  # type: ignore[misc]
