"""Spectral filters and measures of the benchmark's audio: band limits, tilt and shelf,
brightness matching, room convolution, the long-term spectrum and what is read off it."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy import fft as sfft
from scipy import signal
from scipy.ndimage import uniform_filter1d

from fakevoice.audio import resample
from fakevoice.synth.levels import EPS, pad_or_trim


def band_limit(x: np.ndarray, sr: int, cutoff: float | None, low_cut: float | None = None):
    """Remove content above ``cutoff`` the way a lower sampling rate would (soxr's steep
    anti-alias filter, down then up), and optionally below ``low_cut`` (telephone band)."""
    y = x.astype(np.float32, copy=False)
    if cutoff is not None and cutoff < sr / 2 - 1:
        low_sr = round(2 * cutoff)
        n = len(y)
        y = resample(resample(y, sr, low_sr), low_sr, sr)
        y = pad_or_trim(y, n)
    if low_cut:
        sos = signal.butter(4, low_cut, btype="highpass", fs=sr, output="sos")
        y = signal.sosfilt(sos, y).astype(np.float32)
    return y.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n)


def average_spectrum(x: np.ndarray, sr: int, nfft: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average power spectrum (Hann frames, half overlap): frequencies and power.

    A plain numpy Welch estimate; scipy's is several times slower on short clips.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < nfft:
        x = np.pad(x, (0, nfft - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, nfft)[:: nfft // 2] * _hann(nfft)
    power = np.mean(np.abs(sfft.rfft(frames, axis=1)) ** 2, axis=0)
    return sfft.rfftfreq(nfft, 1.0 / sr), power


def effective_bandwidth(x: np.ndarray, sr: int, drop_db: float = 50.0) -> float:
    """Highest frequency whose long-term power is within ``drop_db`` of the spectral peak.

    Sources differ in native bandwidth (8 kHz telephone prompts, 22 kHz TTS, 44 kHz
    recordings); the builder measures it so it can match band limits across classes.
    """
    if len(x) < 256:
        return 0.0
    f, pxx = average_spectrum(x, sr, 2048)
    smooth = uniform_filter1d(pxx, size=5)
    above = np.nonzero(smooth > smooth.max() * 10 ** (-drop_db / 10))[0]
    return float(f[above[-1]]) if len(above) else 0.0


def spectral_slope(x: np.ndarray, sr: int, lo: float = 300.0, hi: float = 4000.0) -> float:
    """Slope in dB per octave of the long-term spectrum between ``lo`` and ``hi`` Hz."""
    f, pxx = average_spectrum(x, sr)
    sel = (f >= lo) & (f <= min(hi, sr / 2))
    if sel.sum() < 4:
        return 0.0
    db = 10 * np.log10(pxx[sel] + EPS)
    return float(np.polyfit(np.log2(f[sel]), db, 1)[0])


def _zero_phase(x: np.ndarray, sr: int, gain_db: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``x`` through a zero-phase filter whose gain in dB at each frequency (Hz) is
    ``gain_db(f)``, limited to +-18 dB."""
    n = len(x)
    # A length with only small prime factors: an FFT of a prime length is ~100x slower,
    # and the zero padding also keeps the filter's wrap-around off the clip's start.
    m = sfft.next_fast_len(n + sr // 50, real=True)
    spec = sfft.rfft(x.astype(np.float64), n=m)
    spec *= 10 ** (np.clip(gain_db(sfft.rfftfreq(m, 1.0 / sr)), -18.0, 18.0) / 20.0)
    return sfft.irfft(spec, n=m)[:n].astype(np.float32)


def tilt_gain_db(f: np.ndarray, db_per_octave: float, pivot: float = 500.0) -> np.ndarray:
    """The gain in dB at frequencies ``f`` of :func:`tilt`."""
    return np.clip(db_per_octave * np.log2(np.maximum(f, 100.0) / pivot), -18.0, 18.0)


def tilt(x: np.ndarray, sr: int, db_per_octave: float, pivot: float = 500.0) -> np.ndarray:
    """Zero-phase spectral tilt: gain of ``db_per_octave`` per octave around ``pivot`` Hz
    (flat below 100 Hz, limited to +-18 dB)."""
    if len(x) == 0 or abs(db_per_octave) < 1e-3:
        return x.astype(np.float32, copy=False)
    return _zero_phase(x, sr, lambda f: tilt_gain_db(f, db_per_octave, pivot))


def rolloff(f: np.ndarray, pxx: np.ndarray, share: float = 0.85) -> float:
    """Frequency below which ``share`` of the power spectrum ``pxx`` lies."""
    return float(rolloffs(f, pxx[None, :], share)[0])


def rolloffs(f: np.ndarray, pxx: np.ndarray, share: float = 0.85) -> np.ndarray:
    """:func:`rolloff` of each row of ``pxx`` (the same floats, row by row)."""
    cum = np.cumsum(pxx, axis=1) / (pxx.sum(axis=1, keepdims=True) + 1e-20)
    # cum is non-decreasing, so the count below ``share`` is searchsorted's left index
    return f[np.minimum(np.sum(cum < share, axis=1), len(f) - 1)]


# Levels of the bisection tree evaluated in one vectorised call: numpy's per-call overhead
# dominates a 513-bin spectrum, so 3 points cost little more than one.
TREE_DEPTH = 2
# Halvings of a brightness search: 14 leave 0.0015 dB per octave of tilt and 0.002 dB of
# shelf undecided, far below what a spectrum estimate resolves (24 cost 70 % more).
HALVINGS = 14


def _bisect(
    fn: Callable[[np.ndarray], np.ndarray],
    target: float,
    lo: float,
    hi: float,
    halvings: int = HALVINGS,
) -> float:
    """The x in [lo, hi] where the increasing ``fn`` reaches ``target``.

    ``fn`` maps an array of points to their values. Each call evaluates every midpoint the
    next ``TREE_DEPTH`` halvings could visit, then walks down them: the same midpoints and
    comparisons as one halving at a time, so the same result in fewer calls.
    """
    done = 0
    while done < halvings:
        depth = min(TREE_DEPTH, halvings - done)
        mids: list[float] = []  # heap order: the children of node i are 2i+1 (low), 2i+2
        level = [(lo, hi)]
        for _ in range(depth):
            nxt = []
            for a, b in level:
                m = 0.5 * (a + b)
                mids.append(m)
                nxt += [(a, m), (m, b)]
            level = nxt
        values = fn(np.asarray(mids))
        i = 0
        for _ in range(depth):
            if values[i] < target:
                lo, i = mids[i], 2 * i + 2
            else:
                hi, i = mids[i], 2 * i + 1
        done += depth
    return 0.5 * (lo + hi)


def match_brightness(
    x: np.ndarray,
    sr: int,
    rolloff_hz: float,
    above_4k_db: float | None = None,
) -> np.ndarray:
    """``x`` through one zero-phase filter, a :func:`tilt` plus a :func:`high_shelf` at 4 kHz,
    chosen so that its spectral roll-off is ``rolloff_hz`` and (when given) its share of
    power above 4 kHz is ``above_4k_db``.

    The two are solved in turn on the long-term spectrum times the filter's power gain, so
    the search costs one spectrum and the signal is filtered once; the turns stop when
    neither moves by more than the searches resolve.
    """
    if len(x) == 0 or not np.any(x):
        return x.astype(np.float32, copy=False)
    f, pxx = average_spectrum(x, sr)
    # The two gains' shapes, computed once: each evaluation of a search is then a scale,
    # clip and sum (the same floats as tilt_gain_db and shelf_gain_db give).
    octaves = tilt_gain_db(f, 1.0)
    shelf = shelf_gain_db(f, 1.0)
    high = f >= 4000.0

    def weighted(t: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The spectrum through the filter of each (t, g) pair, one row each."""
        tilt_db = np.clip(t[:, None] * octaves, -18.0, 18.0)
        gain = np.clip(tilt_db + shelf * np.clip(g, -18.0, 18.0)[:, None], -18.0, 18.0)
        # exp rather than 10 ** x: numpy vectorises exp, not pow (5x faster here)
        return pxx * np.exp(gain * (np.log(10.0) / 10.0))

    def shares_db(t: float, g: np.ndarray) -> list[float]:
        p = weighted(np.full(len(g), t), g)
        above, total = p[:, high].sum(axis=1), p.sum(axis=1)
        return [
            float(10 * np.log10(a / (s + EPS) + EPS)) for a, s in zip(above, total, strict=True)
        ]

    def rolloffs_at(t: np.ndarray, g: float) -> np.ndarray:
        return rolloffs(f, weighted(t, np.full(len(t), g)))

    t, g = 0.0, 0.0
    settled = 2 * 36.0 / 2**HALVINGS
    for _ in range(1 if above_4k_db is None else 8):
        last = (t, g)
        t = _bisect(functools.partial(rolloffs_at, g=g), rolloff_hz, -12.0, 12.0)
        if above_4k_db is not None:
            g = _bisect(functools.partial(shares_db, t), above_4k_db, -18.0, 18.0)
        if abs(t - last[0]) < settled and abs(g - last[1]) < settled:
            break
    return _zero_phase(x, sr, lambda freq: tilt_gain_db(freq, t) + shelf_gain_db(freq, g))


def share_above_db(f: np.ndarray, pxx: np.ndarray, hz: float) -> float:
    """Share of the power spectrum ``pxx`` (at frequencies ``f``) above ``hz``, in dB."""
    return float(10 * np.log10(pxx[f >= hz].sum() / (pxx.sum() + EPS) + EPS))


def energy_above(x: np.ndarray, sr: int, hz: float) -> float:
    """Share of the long-term spectrum's energy above ``hz``, in dB."""
    return share_above_db(*average_spectrum(x, sr), hz)


def high_shelf(
    x: np.ndarray, sr: int, gain_db: float, corner: float = 4000.0, width: float = 1000.0
) -> np.ndarray:
    """Zero-phase gain of ``gain_db`` (limited to +-18 dB) above ``corner`` Hz, reached over a
    raised-cosine transition ``width`` Hz wide centred on the corner."""
    if len(x) == 0 or abs(gain_db) < 1e-3:
        return x.astype(np.float32, copy=False)
    return _zero_phase(x, sr, lambda f: shelf_gain_db(f, gain_db, corner, width))


def shelf_gain_db(
    f: np.ndarray, gain_db: float, corner: float = 4000.0, width: float = 1000.0
) -> np.ndarray:
    """The gain in dB at frequencies ``f`` of :func:`high_shelf`."""
    ramp = np.clip((f - (corner - width / 2)) / width, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * ramp)) * float(np.clip(gain_db, -18.0, 18.0))


def convolve_rir(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Reverberate, keeping the direct path aligned and the input's length and level."""
    if len(x) == 0:
        return x
    direct = int(np.argmax(np.abs(rir)))
    y = signal.fftconvolve(x.astype(np.float64), rir.astype(np.float64))[direct : direct + len(x)]
    y = pad_or_trim(y, len(x))
    scale = np.sqrt(np.mean(x.astype(np.float64) ** 2) / (np.mean(y**2) + EPS))
    return (y * scale).astype(np.float32)
