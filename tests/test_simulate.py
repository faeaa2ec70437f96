"""The training-scene simulator: labels follow the voices placed, scenes are reproducible,
and the noise bank takes the background, not the voices, of the unlabeled clips."""

from __future__ import annotations

import numpy as np
import pytest

from fakevoice.audio import SAMPLE_RATE
from fakevoice.simulate import (
    COMPOSITIONS,
    NoiseBank,
    SceneMaker,
    SceneSettings,
    active_frames,
    crop_voice,
    lossy,
)

SR = SAMPLE_RATE


def _tone(seconds: float, f0: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    return (0.2 * x).astype(np.float32)


@pytest.fixture
def maker() -> SceneMaker:
    # fakes are 200 Hz tones, reals 330 Hz: a scene's content is checkable by its spectrum
    clips = [_tone(2.0, 200.0, i) for i in range(4)] + [_tone(2.0, 330.0, i) for i in range(4)]
    noise = NoiseBank([0.01 * np.random.default_rng(i).standard_normal(SR * 5) for i in range(3)])
    return SceneMaker(
        {"fake": [0, 1, 2, 3], "real": [4, 5, 6, 7]},
        clips.__getitem__,
        noise,
        SceneSettings(p_reverb=0.0, p_band_limit=0.0, eq_db_per_octave=0.0, p_clip=0.0,
                      snr_db=(20.0, 20.0)),
    )  # fmt: skip


def _band_power(x: np.ndarray, hz: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[(f > hz - 5) & (f < hz + 5)].sum() / spec.sum())


def test_labels_follow_the_voices_placed(maker: SceneMaker) -> None:
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        x, target, comp = maker.draw(rng)
        seen.add(comp)
        assert x.shape == (5 * SR,) and x.dtype == np.float32
        assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
        name = COMPOSITIONS[comp]
        assert target[0] == ("F" in name) and target[1] == ("R" in name)
        # each voice placed is in the audio: its fundamental carries power, absent ones none
        assert (_band_power(x, 200.0) > 0.01) == bool(target[0])
        assert (_band_power(x, 330.0) > 0.01) == bool(target[1])
    assert seen == set(range(len(COMPOSITIONS)))


def test_same_generator_same_scenes(maker: SceneMaker) -> None:
    a = maker.batch(np.random.default_rng(5), 6)
    b = maker.batch(np.random.default_rng(5), 6)
    c = maker.batch(np.random.default_rng(6), 6)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["wave"], c["wave"])


def test_composition_shares_follow_the_weights(maker: SceneMaker) -> None:
    comps = maker.batch(np.random.default_rng(1), 300)["comp"]
    share = np.bincount(comps, minlength=6) / 300
    w = np.asarray(SceneSettings().weights)
    assert np.abs(share - w / w.sum()).max() < 0.08


def test_noise_bank_keeps_the_background_not_the_voice() -> None:
    rng = np.random.default_rng(0)
    n = SR * 5
    background = 0.01 * rng.standard_normal(n)
    x = background.copy()
    voiced = (np.arange(n) // (SR // 2)) % 2 == 0  # half a second on, half off
    x[voiced] += 0.3 * np.sin(2 * np.pi * 200 * np.arange(n) / SR)[voiced]
    piece = NoiseBank.quiet_part(x.astype(np.float32), 0.35)
    assert len(piece) > SR // 2
    assert np.sqrt(np.mean(piece**2)) < 0.02  # the voice (0.21 RMS) is left out
    bank = NoiseBank([x.astype(np.float32)])
    out = bank.sample(np.random.default_rng(1), 3 * n)
    assert len(out) == 3 * n and np.sqrt(np.mean(out**2)) == pytest.approx(1.0, rel=1e-3)


def test_empty_bank_falls_back_to_coloured_noise() -> None:
    clips = [_tone(1.0, 200.0, 0), _tone(1.0, 330.0, 1)]
    m = SceneMaker({"fake": [0], "real": [1]}, clips.__getitem__, NoiseBank([]))
    x, target, _ = m.draw(np.random.default_rng(0))
    assert np.isfinite(x).all() and x.std() > 0
    assert target.shape == (2,)


def test_crop_keeps_the_speech() -> None:
    x = np.zeros(SR * 8, np.float32)
    x[SR * 6 : SR * 7] = _tone(1.0, 200.0, 0)  # one second of voice in eight
    for seed in range(5):
        y = crop_voice(x, np.random.default_rng(seed), 2.0)
        assert len(y) == 2 * SR
    # of a few tries the one with the most voice is kept: usually it overlaps the voice
    hits = sum(active_frames(crop_voice(x, np.random.default_rng(s), 2.0)).mean() > 0.3
               for s in range(20))  # fmt: skip
    assert hits >= 10


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="weights"):
        SceneSettings(weights=(1.0, 0.0)).validate()
    with pytest.raises(ValueError, match="snr_db"):
        SceneSettings(snr_db=(10.0, 0.0)).validate()
    with pytest.raises(ValueError, match="both classes"):
        SceneMaker({"fake": [0], "real": []}, lambda i: np.zeros(10), NoiseBank([]))


@pytest.mark.parametrize("kind", ["ogg", "mp3"])
def test_lossy_codec_keeps_length_and_voice_but_changes_the_samples(kind: str) -> None:
    x = _tone(2.0, 200.0, 0) + 0.003 * np.random.default_rng(0).standard_normal(2 * SR).astype(
        np.float32
    )
    y = lossy(x, kind, 1.0)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert not np.allclose(x, y, atol=1e-4)  # really re-encoded
    assert _band_power(y, 200.0) > 0.5 * _band_power(x, 200.0)  # and still the voice


def test_codec_scenes_are_reproducible(maker: SceneMaker) -> None:
    maker.settings.p_codec = 1.0
    a = maker.batch(np.random.default_rng(2), 3)
    b = maker.batch(np.random.default_rng(2), 3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.isfinite(a["wave"]).all() and np.abs(a["wave"]).max() <= 1.0
    with pytest.raises(ValueError, match="codecs"):
        SceneSettings(p_codec=0.5, codecs=("flac",)).validate()
