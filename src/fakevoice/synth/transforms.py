"""The benchmark's scene transforms, the audiomentations pattern without its global state.

Arguments are validated at construction, random parameters are drawn in
:meth:`Transform.draw` from an explicit ``numpy.random.Generator``, and
:meth:`Transform.apply` is a pure function of the signal and those parameters. ``p`` is the
probability the transform is applied; exactly one uniform number is consumed for that
decision (:meth:`Transform.maybe_draw`), so a stream of draws stays aligned whatever happens
downstream. The scene renderer (:mod:`fakevoice.synth.scenes`) and the voice levelling
(:mod:`fakevoice.synth.voices`) are composed of these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from fakevoice.synth.filters import band_limit, convolve_rir
from fakevoice.synth.levels import active_rms, add_at_snr, db_to_amp, limit_crest
from fakevoice.synth.noise import NOISE_COLOURS, codec, coloured_noise, hum_noise, place_effect


class Transform(ABC):
    """Base class: validate in ``__init__``, draw in ``draw``, apply purely in ``apply``."""

    def __init__(self, p: float = 1.0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = float(p)

    @abstractmethod
    def draw(self, rng: np.random.Generator, x: np.ndarray, sr: int) -> dict[str, Any]:
        """Random parameters for one application."""

    @abstractmethod
    def apply(self, x: np.ndarray, sr: int, **params: Any) -> np.ndarray:
        """The transform itself: a pure function of the signal and the parameters."""

    def maybe_draw(self, rng: np.random.Generator, x: np.ndarray, sr: int) -> dict[str, Any] | None:
        """The parameters of one application, or None when the coin says not to apply."""
        if rng.random() >= self.p:
            return None
        return self.draw(rng, x, sr)

    def __call__(
        self, x: np.ndarray, sr: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, Any] | None]:
        params = self.maybe_draw(rng, x, sr)
        return (x, None) if params is None else (self.apply(x, sr, **params), params)


def _check_range(name: str, lo: float, hi: float) -> None:
    if not lo <= hi:
        raise ValueError(f"{name}: min {lo} is above max {hi}")


class Loudness(Transform):
    """Set the active-speech RMS to a level drawn in [min_db, max_db] dBFS."""

    def __init__(self, min_db: float = -28.0, max_db: float = -18.0, p: float = 1.0) -> None:
        super().__init__(p)
        _check_range("Loudness", min_db, max_db)
        if max_db > 0:
            raise ValueError("Loudness: levels are dBFS and must be <= 0")
        self.min_db, self.max_db = min_db, max_db

    def draw(self, rng, x, sr):
        return {"level_db": float(rng.uniform(self.min_db, self.max_db))}

    def apply(self, x, sr, level_db: float):
        if not np.any(x):
            return x.astype(np.float32, copy=False)
        return (x * (db_to_amp(level_db) / active_rms(x, sr))).astype(np.float32)


class PeakLimit(Transform):
    """Limit peaks to ``crest_db`` (drawn) above the active RMS, keeping that RMS as it was;
    never above -0.1 dBFS."""

    def __init__(self, min_crest_db: float = 9.0, max_crest_db: float = 13.0, p: float = 1.0):
        super().__init__(p)
        _check_range("PeakLimit", min_crest_db, max_crest_db)
        if min_crest_db < 3.0:
            raise ValueError("PeakLimit: a crest factor under 3 dB would square the wave off")
        self.min_crest_db, self.max_crest_db = min_crest_db, max_crest_db

    def draw(self, rng, x, sr):
        return {"crest_db": float(rng.uniform(self.min_crest_db, self.max_crest_db))}

    def apply(self, x, sr, crest_db: float):
        return limit_crest(x, sr, crest_db)


class BandLimit(Transform):
    """A band limit chosen from ``bands`` (low-pass cutoff, optional high-pass low cut; a
    cutoff of None keeps the full band), uniformly or with ``weights``."""

    def __init__(
        self,
        bands: Sequence[tuple[float | None, float | None]] = ((4000.0, None), (8000.0, None)),
        weights: Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        super().__init__(p)
        if not bands:
            raise ValueError("BandLimit: give at least one band")
        for cutoff, low_cut in bands:
            if (cutoff is not None and cutoff <= 0) or (low_cut is not None and low_cut <= 0):
                raise ValueError("BandLimit: cutoffs must be positive")
            if cutoff is not None and low_cut is not None and low_cut >= cutoff:
                raise ValueError("BandLimit: a low cut must lie below its cutoff")
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            if len(w) != len(bands) or (w < 0).any() or w.sum() <= 0:
                raise ValueError("BandLimit: weights must be non-negative, one per band")
            weights = w / w.sum()
        self.bands = [tuple(b) for b in bands]
        self.weights = weights

    def draw(self, rng, x, sr):
        if self.weights is None:
            k = int(rng.integers(len(self.bands)))
        else:
            k = int(rng.choice(len(self.bands), p=self.weights))
        cutoff, low_cut = self.bands[k]
        return {"cutoff": cutoff, "low_cut": low_cut}

    def apply(self, x, sr, cutoff: float | None, low_cut: float | None = None):
        return band_limit(x, sr, cutoff, low_cut)


class _AddNoise(Transform):
    """Adds a drawn ``noise`` track at ``snr_db`` relative to a reference level: ``ref`` when
    given (the voices' level, so later noise does not raise it), else the signal's own."""

    def apply(self, x, sr, noise: np.ndarray, snr_db: float, ref: float | None = None, **_):
        return add_at_snr(x, noise, snr_db, active_rms(x, sr) if ref is None else ref)


class BackgroundNoise(_AddNoise):
    """The scene's background: one kind drawn with ``weights`` from ``kinds`` (a recorded
    sound effect, a noise colour, or mains hum), at an SNR in [min_snr_db, max_snr_db]."""

    KINDS = ("effect", "hum", *NOISE_COLOURS)

    def __init__(
        self,
        kinds: Sequence[str],
        weights: Sequence[float],
        effects: Sequence[np.ndarray] = (),
        min_snr_db: float = -5.0,
        max_snr_db: float = 20.0,
        p: float = 1.0,
    ) -> None:
        super().__init__(p)
        _check_range("BackgroundNoise", min_snr_db, max_snr_db)
        bad = [k for k in kinds if k not in self.KINDS]
        w = np.asarray(weights, dtype=float)
        if bad or not kinds or len(w) != len(kinds) or (w < 0).any():
            raise ValueError(f"BackgroundNoise: kinds among {self.KINDS}, one weight each")
        if not effects:  # no recordings: their share goes to the other kinds
            w = np.where(np.array(kinds) == "effect", 0.0, w)
        if w.sum() <= 0:
            raise ValueError("BackgroundNoise: no kind left with a positive weight")
        self.kinds, self.weights, self.effects = list(kinds), w / w.sum(), list(effects)
        self.min_snr_db, self.max_snr_db = min_snr_db, max_snr_db

    def draw(self, rng, x, sr):
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.weights))]
        n = len(x)
        if kind == "effect":
            k = int(rng.integers(len(self.effects)))
            noise, label = place_effect(self.effects[k], n, rng), f"effect:{k}"
        elif kind == "hum":
            mains = float(rng.choice([50.0, 60.0]))
            noise = hum_noise(rng, n, sr, mains, int(rng.integers(1, 8)))
            label = f"hum:{int(mains)}"
        else:
            noise, label = coloured_noise(rng, n, kind), kind
        snr = float(rng.uniform(self.min_snr_db, self.max_snr_db))
        return {"label": label, "noise": noise, "snr_db": snr}


class ColouredNoise(_AddNoise):
    """Additive white/pink/brown/blue noise at an SNR in [min_snr_db, max_snr_db]."""

    def __init__(
        self,
        min_snr_db: float = 0.0,
        max_snr_db: float = 20.0,
        colours: Sequence[str] = NOISE_COLOURS,
        p: float = 1.0,
    ) -> None:
        super().__init__(p)
        _check_range("ColouredNoise", min_snr_db, max_snr_db)
        bad = [c for c in colours if c not in NOISE_COLOURS]
        if bad or not colours:
            raise ValueError(f"ColouredNoise: colours must be among {NOISE_COLOURS}, got {bad}")
        self.min_snr_db, self.max_snr_db, self.colours = min_snr_db, max_snr_db, list(colours)

    def draw(self, rng, x, sr):
        colour = self.colours[int(rng.integers(len(self.colours)))]
        return {
            "colour": colour,
            "snr_db": float(rng.uniform(self.min_snr_db, self.max_snr_db)),
            "noise": coloured_noise(rng, len(x), colour),
        }


class RoomReverb(Transform):
    """A room from a bank of simulated rooms with two source positions each: one draw per
    scene, applied to each voice from its own position (``source``)."""

    def __init__(self, rooms: Sequence[dict[str, Any]], p: float = 1.0) -> None:
        super().__init__(p)
        if not rooms or any(len(r["rirs"]) < 1 for r in rooms):
            raise ValueError("RoomReverb: the room bank is empty")
        self.rooms = list(rooms)

    def draw(self, rng, x, sr):
        return {"room": int(rng.integers(len(self.rooms)))}

    def apply(self, x, sr, room: int, source: int = 0):
        rirs = self.rooms[room]["rirs"]
        return convolve_rir(x, rirs[source % len(rirs)])


class Codec(Transform):
    """Lossy codec pass: Vorbis at a drawn compression level, 8-bit mu-law, or codec2 at a
    drawn bit rate."""

    KINDS = ("vorbis", "mulaw", "codec2")

    def __init__(self, kinds: Sequence[str] = ("vorbis", "mulaw"), p: float = 1.0) -> None:
        super().__init__(p)
        bad = [k for k in kinds if k not in self.KINDS]
        if bad or not kinds:
            raise ValueError(f"Codec: kinds must be among {', '.join(self.KINDS)}, got {bad}")
        self.kinds = list(kinds)

    def draw(self, rng, x, sr):
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        # codec2 spans its whole range of bit rates; Vorbis stays at its higher qualities.
        low = 0.0 if kind == "codec2" else 0.7
        return {"kind": kind, "quality": float(rng.uniform(low, 1.0))}

    def apply(self, x, sr, kind: str, quality: float):
        return codec(x, sr, kind, quality)
