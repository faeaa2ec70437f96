"""Where the on-disk caches live, and their keys: the settings plus every file's path, size
and modification time, so a changed file or setting never reuses a stale entry."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def cache_root(kind: str) -> Path:
    """``$FAKEVOICE_CACHE/KIND``, or ``~/.cache/fakevoice/KIND`` (kinds: synth, features,
    waves)."""
    env = os.environ.get("FAKEVOICE_CACHE")
    return (Path(env) if env else Path.home() / ".cache" / "fakevoice") / kind


def cache_key(settings: Any, paths: Sequence[str]) -> str:
    """32 hex digits for ``settings`` (JSON-serialisable) and the files at ``paths``."""
    h = hashlib.sha256(json.dumps(settings).encode())
    for p in paths:
        try:
            st = os.stat(p)
            h.update(f"{os.path.abspath(p)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{os.path.abspath(p)}\0missing\n".encode())
    return h.hexdigest()[:32]
