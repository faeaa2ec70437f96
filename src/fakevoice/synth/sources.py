"""Real human speech shipped in Debian packages: discovery, texts, loading, silence trimming.

Each source is a folder tree installed by one Debian package. Discovery reads only file
names and the packages' own metadata (tuxpaint ``.txt`` descriptions, klettres
``sounds.xml``, ktuberling ``.soundtheme``, pocketsphinx transcriptions) and never decodes
audio, so it takes well under a second for the ~11,000 clips.

Byte-identical recordings are common (tuxpaint copies one recording into several stamp
folders); only one copy is kept so that no recording can land in both train and test.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from fakevoice.audio import SAMPLE_RATE, load_audio, resample
from fakevoice.errors import FakevoiceError
from fakevoice.synth.catalogue import SOURCES, SourceMissingError, Utterance, _missing
from fakevoice.synth.packages import (
    _asterisk,
    _asterisk_intl,
    _klettres,
    _ktuberling,
    _pocketsphinx,
    _tuxpaint,
)

__all__ = ["SOURCES", "SourceMissingError", "Utterance", "load_utterance", "real_utterances"]


_DISCOVER = {
    "tuxpaint": _tuxpaint,
    "klettres": _klettres,
    "ktuberling": _ktuberling,
    "asterisk": _asterisk,
    "asterisk-intl": _asterisk_intl,
    "pocketsphinx": _pocketsphinx,
}


def _content_key(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def _dedupe(utts: Iterable[Utterance]) -> list[Utterance]:
    """One utterance per distinct recording (smallest uid); only same-size files are hashed."""
    by_size: dict[int, list[Utterance]] = defaultdict(list)
    for u in utts:
        by_size[u.path.stat().st_size].append(u)
    kept: list[Utterance] = []
    for group in by_size.values():
        if len(group) == 1:
            kept.extend(group)
            continue
        by_hash: dict[str, list[Utterance]] = defaultdict(list)
        for u in group:
            by_hash[_content_key(u.path)].append(u)
        for same in by_hash.values():
            # Prefer a copy that carries a text, then the smallest uid, so the choice is stable.
            kept.append(min(same, key=lambda u: (u.text == "", u.uid)))
    return kept


@functools.lru_cache(maxsize=8)
def _discover(names: tuple[str, ...], roots: tuple[tuple[str, str], ...]) -> tuple[Utterance, ...]:
    root_of = dict(roots)
    found: list[Utterance] = []
    for name in names:
        root = Path(root_of.get(name, str(SOURCES[name].root)))
        if not root.is_dir():
            raise _missing(name)
        utts = _DISCOVER[name](root)
        if not utts:
            raise _missing(name)
        found.extend(utts)
    kept = _dedupe(found)
    uids = [u.uid for u in kept]
    if len(set(uids)) != len(uids):
        raise FakevoiceError("voice sources: duplicate utterance ids (package layout changed?)")
    return tuple(sorted(kept, key=lambda u: u.uid))


def real_utterances(
    sources: Sequence[str] | None = None, *, roots: Mapping[str, str | Path] | None = None
) -> list[Utterance]:
    """Every real utterance of the requested sources (all by default), sorted by uid.

    A requested source that is not installed raises :class:`SourceMissingError` naming its
    Debian package; the result is never silently smaller. ``roots`` overrides install folders.
    """
    names = tuple(sorted(set(sources))) if sources is not None else tuple(sorted(SOURCES))
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise FakevoiceError(
            f"unknown voice source(s) {', '.join(unknown)}; known: {', '.join(sorted(SOURCES))}"
        )
    root_items = tuple(sorted((k, str(v)) for k, v in (roots or {}).items()))
    return list(_discover(names, root_items))


def texts(language: str, sources: Sequence[str] | None = None) -> list[str]:
    """Distinct texts that real speakers read in ``language``, sorted: the scripts for TTS."""
    return sorted({u.text for u in real_utterances(sources) if u.language == language and u.text})


# ----------------------------------------------------------------------------- audio

RAW_RATE = 16_000  # pocketsphinx .raw files: headerless 16-bit little-endian mono at 16 kHz


# A clip uses at most 8 s of one voice, yet a few packaged prompts run to 73 s: resynthesising
# one whole took HiFi-GAN 140 s and 2 GB. Both classes are cut at the same length, so the cut
# is no cue; 12 s leaves room for the pauses cleaning removes.
MAX_UTTERANCE_SECONDS = 12.0


def load_utterance(
    u: Utterance,
    sr: int = SAMPLE_RATE,
    *,
    trim: bool = False,
    max_seconds: float | None = MAX_UTTERANCE_SECONDS,
) -> np.ndarray:
    """The utterance as float32 mono at ``sr`` (untrimmed unless ``trim``), its first
    ``max_seconds`` (after trimming) unless that is None."""
    if u.path.suffix == ".raw":
        try:
            pcm = np.fromfile(u.path, dtype="<i2")
        except OSError as exc:
            raise FakevoiceError(f"{u.path}: cannot read: {exc.strerror}") from exc
        x = resample(pcm.astype(np.float32) / 32768.0, RAW_RATE, sr)
    else:
        x = load_audio(u.path, sr, warn_silent=False)
    if trim:
        x = trim_silence(x, sr)
    return x if max_seconds is None else x[: round(max_seconds * sr)]


def trim_silence(
    x: np.ndarray, sr: int, *, top_db: float = 45.0, frame_ms: float = 10.0, margin_ms: float = 30.0
) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``top_db`` below the loudest frame.

    Real clips start with room tone and synthesisers with exact zeros; one relative rule
    for both leaves the two classes with the same lead-in, so silence length cannot tell
    them apart. ``margin_ms`` of the quiet part is kept on each side so onsets are not
    clipped. An input with no frame above the absolute floor (digital silence) yields an
    empty array.
    """
    x = np.asarray(x, dtype=np.float32)
    hop = max(1, int(sr * frame_ms / 1000))
    n = len(x) // hop
    if n == 0:
        return x[:0] if float(np.max(np.abs(x), initial=0.0)) < 1e-5 else x
    frames = x[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    threshold = max(float(rms.max()) * 10 ** (-top_db / 20), 1e-5)
    loud = np.flatnonzero(rms > threshold)
    if loud.size == 0:
        return x[:0]
    margin = int(sr * margin_ms / 1000)
    start = max(0, int(loud[0]) * hop - margin)
    end = min(len(x), (int(loud[-1]) + 1) * hop + margin)
    return x[start:end]
