from __future__ import annotations

import numpy as np
import pytest
import torch

from fakevoice.audio import SAMPLE_RATE
from fakevoice.features import (
    FrontEnd,
    FrontEndConfig,
    compute,
    dct_matrix,
    hz_to_mel,
    linear_filterbank,
    mel_filterbank,
    mel_to_hz,
)


def _tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mel_scale_round_trips() -> None:
    f = np.array([0.0, 100.0, 1000.0, 16000.0])
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, rel=1e-3)


def test_mel_filterbank_matches_librosa_htk_slaney() -> None:
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(40, 1024, SAMPLE_RATE).numpy()
    ref = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=1024, n_mels=40, htk=True, norm="slaney")
    assert ours.shape == ref.shape
    assert np.allclose(ours, ref, atol=1e-6 * ref.max())


def test_filterbanks_cover_the_band_without_holes() -> None:
    for fb in (mel_filterbank(64, 2048, SAMPLE_RATE), linear_filterbank(30, 512, SAMPLE_RATE)):
        fb = fb.numpy()
        assert (fb >= 0).all()
        assert (fb.sum(axis=1) > 0).all(), "every band has weight"
        assert (np.argmax(fb, axis=1) == np.sort(np.argmax(fb, axis=1))).all()


def test_dct_is_orthonormal_and_matches_scipy() -> None:
    from scipy.fft import dct

    d = dct_matrix(32, 32).numpy()
    assert np.allclose(d @ d.T, np.eye(32), atol=1e-5)
    x = np.random.default_rng(0).standard_normal(32)
    assert np.allclose(dct_matrix(32, 13).numpy() @ x, dct(x, norm="ortho")[:13], atol=1e-5)


@pytest.mark.parametrize(
    "kind,channels", [("logmel", 64), ("loglinear", 64), ("mfcc", 13), ("lfcc", 13)]
)
def test_front_end_shapes_and_batching(kind: str, channels: int) -> None:
    cfg = FrontEndConfig(kind=kind, n_bands=64, n_coeffs=13)
    front = FrontEnd(cfg)
    rng = np.random.default_rng(1)
    waves = rng.standard_normal((3, 16000)).astype(np.float32) * 0.1
    out = front(torch.from_numpy(waves))
    assert out.shape == (3, channels, cfg.n_frames(16000))
    assert torch.isfinite(out).all()
    one = compute(front, waves[1])
    assert np.allclose(one, out[1].numpy(), atol=1e-3)


def test_silence_and_tiny_inputs_stay_finite() -> None:
    front = FrontEnd(FrontEndConfig(kind="mfcc", n_bands=40))
    assert np.isfinite(front.silence_frame()).all()
    tiny = front(torch.zeros(1, 10))
    assert tiny.shape[-1] >= 1 and torch.isfinite(tiny).all()
    # Digital silence is the floor: any sound has more energy in c0.
    loud = compute(front, _tone(440.0))
    assert loud[0].mean() > front.silence_frame()[0]


def test_tone_peaks_in_the_right_mel_band() -> None:
    cfg = FrontEndConfig(kind="logmel", n_fft=2048, hop=800, n_bands=64)
    feats = compute(FrontEnd(cfg), _tone(2000.0))
    band = int(np.argmax(feats.mean(axis=1)))
    centres = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(SAMPLE_RATE / 2), 66))[1:-1]
    assert abs(centres[band] - 2000.0) < 0.15 * 2000.0


def test_tone_peaks_in_the_right_linear_band() -> None:
    # linear bands are equally wide in Hz: a 12 kHz tone lands in band 12000 / 16000 * 96
    cfg = FrontEndConfig(kind="loglinear", n_fft=1024, hop=800, n_bands=96)
    feats = compute(FrontEnd(cfg), _tone(12000.0))
    centres = np.linspace(0.0, SAMPLE_RATE / 2, 98)[1:-1]
    assert abs(centres[int(np.argmax(feats.mean(axis=1)))] - 12000.0) < 200.0


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "cqt"},
        {"hop": 0},
        {"kind": "mfcc", "n_coeffs": 80, "n_bands": 40},
        {"fmin": 9000.0, "fmax": 8000.0},
    ],
)
def test_invalid_config_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        FrontEnd(FrontEndConfig(**bad))


def test_config_key_changes_with_settings() -> None:
    assert FrontEndConfig().key() != FrontEndConfig(n_bands=80).key()
    assert FrontEndConfig().key() == FrontEndConfig().key()
