"""On-disk cache of synthesised voices: one float32 ``.npy`` per request key, written atomically."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from fakevoice.atomic import atomic_path


def cache_key(parts: dict[str, object]) -> str:
    """A stable hex key for a request: the same parts give the same key on any machine."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


class SynthCache:
    """``DIR/<generator>/<key[:2]>/<key>.npy``: few files per folder even for the full build."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, generator: str, key: str) -> Path:
        return self.root / generator / key[:2] / f"{key}.npy"

    def get(self, generator: str, key: str) -> np.ndarray | None:
        p = self.path(generator, key)
        if not p.exists():
            return None
        try:
            x = np.load(p, allow_pickle=False)
        except (OSError, ValueError):
            # A damaged entry (disk trouble) is recomputed rather than trusted.
            return None
        return x.astype(np.float32, copy=False)

    def put(self, generator: str, key: str, x: np.ndarray) -> None:
        with (
            atomic_path(self.path(generator, key), suffix=".npy.tmp") as tmp,
            open(tmp, "wb") as fh,
        ):
            np.save(fh, np.asarray(x, dtype=np.float32), allow_pickle=False)
