"""Log-mel, log linear-band, MFCC and LFCC front ends in torch, batched, from float32 mono audio,
and the waveform itself at 16 kHz for pretrained speech encoders.

A front end maps waveforms ``(batch, samples)`` to frames ``(batch, channels, frames)``.
Filter banks and the DCT are built here (no torchaudio), so a front end is fully
described by its :class:`FrontEndConfig`, and that config is the cache key of its features.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from fakevoice.audio import SAMPLE_RATE

KINDS = ("logmel", "loglinear", "mfcc", "lfcc", "waveform")
# kinds that are log band energies as they are (no DCT to cepstra)
SPECTRAL = ("logmel", "loglinear")
# The waveform front end's rate: what pretrained speech encoders (wav2vec2, WavLM) read.
WAVE_RATE = 16_000
# dB floor: log of exact silence must be finite, and the same in training and prediction.
POWER_FLOOR = 1e-10


@dataclass
class FrontEndConfig:
    """One front end. ``n_bands`` filters (mel or linear); ``n_coeffs`` cepstra for mfcc/lfcc."""

    kind: str = "logmel"
    sample_rate: int = SAMPLE_RATE
    n_fft: int = 1024
    hop: int = 800
    n_bands: int = 64
    n_coeffs: int = 13
    fmin: float = 0.0
    fmax: float | None = None

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"front end kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "waveform":
            if self.sample_rate % WAVE_RATE:
                raise ValueError(f"the waveform front end needs a multiple of {WAVE_RATE} Hz")
            return
        if self.n_fft < 16 or self.hop < 1 or self.n_bands < 1:
            raise ValueError("front end needs n_fft >= 16, hop >= 1 and n_bands >= 1")
        if self.kind not in SPECTRAL and not 1 <= self.n_coeffs <= self.n_bands:
            raise ValueError("n_coeffs must lie between 1 and n_bands")
        top = self.fmax if self.fmax is not None else self.sample_rate / 2
        if not 0 <= self.fmin < top <= self.sample_rate / 2:
            raise ValueError("need 0 <= fmin < fmax <= sample_rate / 2")

    @property
    def channels(self) -> int:
        if self.kind == "waveform":
            return 1
        return self.n_bands if self.kind in SPECTRAL else self.n_coeffs

    def n_frames(self, n_samples: int) -> int:
        """Frames for ``n_samples`` samples (centred STFT): 1 + n_samples // hop; for the
        waveform, its samples at 16 kHz."""
        if self.kind == "waveform":
            return int(n_samples) // (self.sample_rate // WAVE_RATE)
        return 1 + int(n_samples) // self.hop

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def triangular_filterbank(centres_hz: np.ndarray, n_fft: int, sample_rate: int) -> torch.Tensor:
    """Triangles with feet on neighbouring centres, area-normalised; shape (bands, n_fft//2+1)."""
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = centres_hz[:-2, None], centres_hz[1:-1, None], centres_hz[2:, None]
    up = (freqs[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs[None, :]) / np.maximum(hi - mid, 1e-9)
    fb = np.maximum(0.0, np.minimum(up, down))
    fb *= 2.0 / np.maximum(hi - lo, 1e-9)
    return torch.from_numpy(fb.astype(np.float32))


def mel_filterbank(
    n_bands: int, n_fft: int, sample_rate: int, fmin: float = 0.0, fmax: float | None = None
) -> torch.Tensor:
    top = sample_rate / 2 if fmax is None else fmax
    centres = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(top), n_bands + 2))
    return triangular_filterbank(centres, n_fft, sample_rate)


def linear_filterbank(
    n_bands: int, n_fft: int, sample_rate: int, fmin: float = 0.0, fmax: float | None = None
) -> torch.Tensor:
    top = sample_rate / 2 if fmax is None else fmax
    return triangular_filterbank(np.linspace(fmin, top, n_bands + 2), n_fft, sample_rate)


def dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """Orthonormal DCT-II as a (n_out, n_in) matrix: cepstra = D @ log-energies."""
    n = np.arange(n_in)[None, :]
    k = np.arange(n_out)[:, None]
    d = np.cos(np.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    d[0] /= math.sqrt(2.0)
    return torch.from_numpy(d.astype(np.float32))


class FrontEnd(torch.nn.Module):
    """Waveforms (B, N) float32 at ``sample_rate`` -> features (B, channels, 1 + N // hop)."""

    def __init__(self, cfg: FrontEndConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        if cfg.kind == "waveform":
            self.factor = cfg.sample_rate // WAVE_RATE
            self.register_buffer("lowpass", lowpass_taps(self.factor), persistent=False)
            return
        make = mel_filterbank if cfg.kind in ("logmel", "mfcc") else linear_filterbank
        fb = make(cfg.n_bands, cfg.n_fft, cfg.sample_rate, cfg.fmin, cfg.fmax)
        self.register_buffer("filterbank", fb, persistent=False)
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)
        if cfg.kind not in SPECTRAL:
            self.register_buffer("dct", dct_matrix(cfg.n_bands, cfg.n_coeffs), persistent=False)

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim == 1:
            wave = wave[None, :]
        wave = wave.to(torch.float32)
        if self.cfg.kind == "waveform":
            return decimate(wave, self.factor, self.lowpass)[:, None, :]
        if wave.shape[-1] < self.cfg.n_fft // 2 + 1:
            # torch.stft needs at least half a window after centring; silence is the honest pad.
            wave = torch.nn.functional.pad(wave, (0, self.cfg.n_fft // 2 + 1 - wave.shape[-1]))
        spec = torch.stft(
            wave,
            n_fft=self.cfg.n_fft,
            hop_length=self.cfg.hop,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        bands = torch.matmul(self.filterbank, power)
        db = 10.0 * torch.log10(bands.clamp_min(POWER_FLOOR))
        if self.cfg.kind in SPECTRAL:
            return db
        return torch.matmul(self.dct, db)

    def silence_frame(self) -> np.ndarray:
        """The feature frame of digital silence: what zero-padding a waveform turns into."""
        return self(torch.zeros(1, self.cfg.n_fft * 2))[0, :, 0].numpy()


def lowpass_taps(factor: int, half_width: int = 32) -> torch.Tensor:
    """A Kaiser-windowed sinc low-pass at 0.9 of the decimated Nyquist frequency."""
    if factor == 1:
        return torch.ones(1)
    n = torch.arange(-half_width * factor, half_width * factor + 1, dtype=torch.float64)
    cutoff = 0.9 / factor
    taps = cutoff * torch.sinc(cutoff * n) * torch.kaiser_window(len(n), False, beta=8.0).double()
    return (taps / taps.sum()).float()


def decimate(wave: torch.Tensor, factor: int, taps: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B, N // factor): low-pass, then every ``factor``-th sample."""
    if factor == 1:
        return wave
    pad = (len(taps) - 1) // 2
    y = torch.nn.functional.conv1d(wave[:, None, :], taps[None, None, :], padding=pad)
    return y[:, 0, : (wave.shape[-1] // factor) * factor : factor]


def compute(front: FrontEnd, x: np.ndarray) -> np.ndarray:
    """Features of one mono signal, (channels, frames) float32."""
    return front(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))[0].numpy()
