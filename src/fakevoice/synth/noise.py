"""Noise and degradations of the benchmark's test scenes: coloured noise, mains hum, a
sound effect placed in the clip, and the lossy codecs."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile as sf
from scipy import fft as sfft

from fakevoice.audio import resample
from fakevoice.errors import FakevoiceError
from fakevoice.synth.levels import EPS, pad_or_trim

NOISE_COLOURS = ("white", "pink", "brown", "blue")


def coloured_noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """Unit-RMS noise with a 1/f^k power spectrum (white k=0, pink 1, brown 2, blue -1)."""
    k = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0}[colour]
    # drawn at a fast FFT length and cut: any stretch of stationary noise is as good
    m = sfft.next_fast_len(max(n, 2), real=True)
    spec = rng.standard_normal(m // 2 + 1) + 1j * rng.standard_normal(m // 2 + 1)
    freqs = np.arange(m // 2 + 1, dtype=np.float64)
    freqs[0] = 1.0
    spec *= freqs ** (-k / 2.0)
    spec[0] = 0.0
    y = sfft.irfft(spec, n=m)[:n]
    return (y / (np.sqrt(np.mean(y**2)) + EPS)).astype(np.float32)


def hum_noise(
    rng: np.random.Generator, n: int, sr: int, mains: float, harmonics: int
) -> np.ndarray:
    """Unit-RMS mains hum: a fundamental and decaying harmonics with random phases."""
    t = np.arange(n) / sr
    y = np.zeros(n)
    for h in range(1, harmonics + 1):
        y += (
            rng.uniform(0.3, 1.0)
            / h
            * np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 2 * np.pi))
        )
    return (y / (np.sqrt(np.mean(y**2)) + EPS)).astype(np.float32)


def place_effect(effect: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """An ``n``-sample noise track from one effect: looped when short, a random cut when long."""
    if len(effect) == 0:
        return np.zeros(n, dtype=np.float32)
    if len(effect) >= n:
        start = int(rng.integers(0, len(effect) - n + 1))
        return effect[start : start + n].astype(np.float32)
    reps = int(np.ceil(n / len(effect))) + 1
    tiled = np.tile(effect, reps)
    start = int(rng.integers(0, len(effect)))
    return tiled[start : start + n].astype(np.float32)


def codec(x: np.ndarray, sr: int, kind: str, quality: float) -> np.ndarray:
    """Pass audio through a lossy codec: OGG Vorbis at a given compression, 8-bit mu-law, or
    the codec2 low-bit-rate speech codec."""
    n = len(x)
    if kind == "vorbis":
        buf = io.BytesIO()
        sf.write(
            buf, np.clip(x, -1, 1), sr, format="OGG", subtype="VORBIS", compression_level=quality
        )
        buf.seek(0)
        y, _ = sf.read(buf, dtype="float32")
        return pad_or_trim(y, n)
    if kind == "mulaw":
        mu = 255.0
        c = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
        q = np.round((c + 1) / 2 * mu) / mu * 2 - 1
        return (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)
    if kind == "codec2":
        return codec2(x, sr, quality)
    raise ValueError(f"unknown codec {kind!r}")


# codec2 modes from the highest bit rate down; ``quality`` 1.0 picks the first.
CODEC2_MODES = ("3200", "2400", "1600", "1300", "1200", "700C")


def codec2(x: np.ndarray, sr: int, quality: float) -> np.ndarray:
    """Pass audio through the codec2 low-bit-rate speech codec (Debian ``codec2``: c2enc and
    c2dec) at 8 kHz, the mode picked by ``quality`` (1.0: 3200 bit/s, 0.0: 700 bit/s)."""
    if shutil.which("c2enc") is None or shutil.which("c2dec") is None:
        raise FakevoiceError("the codec2 condition needs c2enc and c2dec: install the Debian "
                             "package codec2 (`make setup`)")  # fmt: skip
    n = len(x)
    i = round((1.0 - float(np.clip(quality, 0.0, 1.0))) * (len(CODEC2_MODES) - 1))
    mode = CODEC2_MODES[i]
    pcm = (np.clip(resample(x.astype(np.float32), sr, 8000), -1, 1) * 32767).astype("<i2")
    try:
        bits = subprocess.run(["c2enc", mode, "-", "-"], input=pcm.tobytes(),
                              capture_output=True, timeout=60, check=True).stdout  # fmt: skip
        raw = subprocess.run(["c2dec", mode, "-", "-"], input=bits,
                             capture_output=True, timeout=60, check=True).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        raise FakevoiceError(f"codec2 {mode} failed: {exc}") from exc
    y = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return pad_or_trim(resample(y, 8000, sr), n)
