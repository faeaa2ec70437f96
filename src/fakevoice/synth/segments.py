"""Voice segments: one real or synthesised utterance, cleaned the same way for both classes.

A segment is trimmed, has its long internal pauses shortened, its native bandwidth measured
and is stored as float32 ``.npy`` in a cache, so a build keeps only metadata in memory and
worker processes load what a clip needs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fakevoice.atomic import atomic_path
from fakevoice.audio import SAMPLE_RATE as SR
from fakevoice.synth.filters import effective_bandwidth
from fakevoice.synth.levels import db_to_amp, frame_rms

# Bump when the cleaning below changes, so cached segments are rebuilt.
PREP_VERSION = 3
MAX_PAUSE_SECONDS = 0.25
# Band levels a voice can be limited to; a voice qualifies for a level when its measured
# bandwidth reaches LEVEL_TOLERANCE of it. 16 kHz at 32 kHz is the full band.
BAND_LEVELS = (4000, 8000, 11025, 16000)
LEVEL_TOLERANCE = 0.88


@dataclass(frozen=True)
class Segment:
    key: str
    klass: str  # "real" or "fake"
    identity: str  # speaker for real voices; generator#voice/language or /speaker for fakes
    source: str  # real source the voice or its text comes from
    generator: str  # "" for real voices
    speaker: str  # the real speaker (for resynthesis: the one resynthesised), else ""
    language: str
    seconds: float
    bandwidth: float
    path: str

    @property
    def level(self) -> int:
        """The highest band level this segment can serve."""
        ok = [b for b in BAND_LEVELS if self.bandwidth >= LEVEL_TOLERANCE * b]
        return ok[-1] if ok else BAND_LEVELS[0]

    def load(self) -> np.ndarray:
        return np.load(self.path, mmap_mode=None).astype(np.float32, copy=False)


def segment_key(*parts: object) -> str:
    text = json.dumps([PREP_VERSION, *[str(p) for p in parts]], ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def cap_pauses(x: np.ndarray, sr: int, max_pause: float = MAX_PAUSE_SECONDS) -> np.ndarray:
    """Shorten every internal pause (frames 40 dB under the loudest) to ``max_pause``.

    Synthesisers and readers pause very differently between words; left alone, silence
    fraction tells the classes apart.
    """
    hop = max(1, int(sr * 0.01))
    fr = frame_rms(x, sr, 0.01)
    if len(fr) < 3:
        return x
    quiet = fr < fr.max() * db_to_amp(-40.0)
    keep_frames = max(1, int(max_pause / 0.01))
    keep = np.ones(len(x), dtype=bool)
    i = 0
    while i < len(quiet):
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < len(quiet) and quiet[j]:
            j += 1
        if j - i > keep_frames and i > 0 and j < len(quiet):
            half = keep_frames // 2
            keep[(i + half) * hop : (j - (keep_frames - half)) * hop] = False
        i = j
    return x[keep]


def clean(x: np.ndarray, sr: int = SR) -> np.ndarray:
    from fakevoice.synth.sources import trim_silence

    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0 or not np.isfinite(x).all():
        return x[:0]
    x = trim_silence(x, sr)
    if len(x) == 0:
        return x
    return cap_pauses(x, sr).astype(np.float32)


def store(
    x: np.ndarray, cache: Path, key: str, fields: dict[str, str], sr: int = SR
) -> Segment | None:
    """Clean ``x``, save it under ``cache`` and return its metadata (None if nothing is left)."""
    y = clean(x, sr)
    if len(y) < int(0.2 * sr) or float(np.max(np.abs(y))) < 1e-4:
        return None
    path = cache / key[:2] / f"{key}.npy"
    measured = _measure(y, sr)
    if not path.exists():
        # the measurements first: a .npy without its .json is re-measured, never the reverse
        _write_measure(path, measured)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, y)
    return Segment(key=key, path=str(path), **measured, **fields)  # type: ignore[arg-type]


def _measure(y: np.ndarray, sr: int) -> dict[str, float]:
    return {
        "seconds": round(len(y) / sr, 4),
        "bandwidth": round(effective_bandwidth(y, sr), 1),
    }


def _write_measure(path: Path, measured: dict[str, float]) -> None:
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(measured))


def cached(cache: Path, key: str, fields: dict[str, str], sr: int = SR) -> Segment | None:
    """Metadata of a segment already in the cache, or None.

    The measurements are kept beside the audio: recomputing the bandwidth of every cached
    segment was most of a warm build's pool stage.
    """
    path = cache / key[:2] / f"{key}.npy"
    if not path.exists():
        return None
    try:
        # mapping reads only the header, yet refuses a file cut short
        length = len(np.load(path, mmap_mode="r"))
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return None
    try:
        raw = json.loads(path.with_suffix(".json").read_text())
        measured = {name: float(raw[name]) for name in ("seconds", "bandwidth")}
        if abs(measured["seconds"] - length / sr) > 1e-3:
            raise ValueError("measurements of another segment")
    except (OSError, ValueError, KeyError, TypeError):
        measured = _measure(np.load(path), sr)
        _write_measure(path, measured)
    return Segment(key=key, path=str(path), **measured, **fields)  # type: ignore[arg-type]


def as_row(s: Segment) -> dict:
    return asdict(s)
