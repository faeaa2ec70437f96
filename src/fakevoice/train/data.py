"""Features of a set of files, computed once per (front end, file) and cached on disk.

A cache entry is one ``.npz`` per (front end config, decode length, list of files with
their sizes and modification times), so a changed file or setting never reuses stale
features. Several front ends are computed from one decoding pass. Training crops and
pads in the frame domain (random crop with an explicit rng, centre crop in evaluation).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fakevoice.atomic import atomic_path
from fakevoice.audio import load_audio
from fakevoice.cachekey import cache_key, cache_root
from fakevoice.errors import AudioError, FakevoiceError
from fakevoice.features import FrontEnd, FrontEndConfig, compute
from fakevoice.models.common import torch_threads
from fakevoice.progress import progress

CACHE_FORMAT = 1


@dataclass
class FeatureSet:
    """Per-file features (C, T_i) float16, in input order; files that failed are listed apart."""

    paths: list[str]
    items: list[np.ndarray | None]
    failed: list[tuple[str, str]]

    @property
    def ok(self) -> np.ndarray:
        return np.array([it is not None for it in self.items], dtype=bool)


def _cache_key(cfg: FrontEndConfig, max_seconds: float | None, paths: Sequence[str]) -> str:
    # the same settings list as ever, so existing feature caches stay valid
    return cache_key([CACHE_FORMAT, cfg.key(), max_seconds], paths)


def _save(file: Path, fs: FeatureSet) -> None:
    good = [it for it in fs.items if it is not None]
    lengths = np.array([0 if it is None else it.shape[1] for it in fs.items], dtype=np.int64)
    channels = good[0].shape[0] if good else 0
    data = np.concatenate(good, axis=1) if good else np.zeros((channels, 0), np.float16)
    failed = json.dumps(fs.failed)
    with atomic_path(file) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, data=data, lengths=lengths, ok=fs.ok, failed=np.array(failed))


def _load(file: Path, paths: list[str]) -> FeatureSet | None:
    try:
        with np.load(file) as z:
            data, lengths, ok = z["data"], z["lengths"], z["ok"]
            failed = [tuple(x) for x in json.loads(str(z["failed"]))]
    except (OSError, ValueError, KeyError):
        return None  # an unreadable cache entry is recomputed, not trusted
    if len(lengths) != len(paths):
        return None
    items: list[np.ndarray | None] = []
    start = 0
    for n, good in zip(lengths, ok, strict=True):
        items.append(data[:, start : start + n] if good else None)
        start += int(n)
    return FeatureSet(list(paths), items, failed)  # type: ignore[arg-type]


def load_features(
    paths: Sequence[str | Path],
    cfgs: Sequence[FrontEndConfig],
    *,
    max_seconds: float | None,
    cache_dir: str | Path | None = None,
    desc: str = "features",
) -> list[FeatureSet]:
    """Features of every file for every front end in ``cfgs``; decodes each file at most once.

    Files that cannot be decoded are recorded in ``failed`` (path, reason) with item None.
    """
    paths = [str(p) for p in paths]
    cache = Path(cache_dir) if cache_dir is not None else cache_root("features")
    files = [cache / f"{_cache_key(c, max_seconds, paths)}.npz" for c in cfgs]
    out: list[FeatureSet | None] = [_load(f, paths) if f.is_file() else None for f in files]
    todo = [i for i, fs in enumerate(out) if fs is None]
    if todo:
        fronts = [FrontEnd(cfgs[i]) for i in todo]
        items: list[list[np.ndarray | None]] = [[] for _ in todo]
        failed: list[tuple[str, str]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for p in progress(paths, desc=desc, unit="file", leave=False):
                try:
                    x = load_audio(p, cfgs[todo[0]].sample_rate, max_seconds=max_seconds)
                except AudioError as exc:
                    failed.append((p, exc.reason))
                    for lst in items:
                        lst.append(None)
                    continue
                # One thread: for a single clip's STFT, two threads on a busy machine were
                # measured 30x slower than one (150 ms vs 5 ms per 4 s clip).
                with torch_threads(1):
                    for lst, front in zip(items, fronts, strict=True):
                        lst.append(compute(front, x).astype(np.float16))
        for i, lst in zip(todo, items, strict=True):
            fs = FeatureSet(paths, lst, list(failed))
            out[i] = fs
            try:
                _save(files[i], fs)
            except FakevoiceError as exc:
                warnings.warn(f"feature cache not written: {exc}", stacklevel=2)
    return out  # type: ignore[return-value]


def stratified_split(
    labels: np.ndarray, val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): ``val_fraction`` of each class goes to validation."""
    train_idx, val_idx = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        n_val = round(len(idx) * val_fraction)
        if len(idx) >= 2:
            n_val = min(max(n_val, 1), len(idx) - 1)
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def assemble(
    items: Sequence[np.ndarray],
    frames: int,
    pad_frame: np.ndarray,
    rng: np.random.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch (B, C, frames) float32 and valid-frame counts (B,).

    Long items are cropped (at random with ``rng``, centred without), short ones padded
    with the silence frame, which is what a zero-padded waveform turns into.
    """
    channels = pad_frame.shape[0]
    x = np.empty((len(items), channels, frames), dtype=np.float32)
    n_valid = np.empty(len(items), dtype=np.int64)
    for b, it in enumerate(items):
        t = it.shape[1]
        if t >= frames:
            extra = t - frames
            start = int(rng.integers(0, extra + 1)) if rng is not None else extra // 2
            x[b] = it[:, start : start + frames]
            n_valid[b] = frames
        else:
            x[b, :, :t] = it
            x[b, :, t:] = pad_frame[:, None]
            n_valid[b] = t
    return torch.from_numpy(x), torch.from_numpy(n_valid)
