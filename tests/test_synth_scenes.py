"""Scene transforms on tiny seeded arrays: shape, rate, p=0 identity, determinism, SNR."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fakevoice.audio import SAMPLE_RATE
from fakevoice.synth import banks, filters, levels, noise, scenes
from fakevoice.synth import transforms as tf

SR = SAMPLE_RATE


def tone(seconds: float = 1.0, f0: float = 220.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 20))
    env = np.clip(np.sin(np.pi * t / seconds) * 2, 0, 1)
    return (0.1 * x * env).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, float) ** 2)))


@pytest.fixture(scope="module")
def effects() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.standard_normal(SR // 2).astype(np.float32) * 0.05]


@pytest.fixture(scope="module")
def transforms(effects):
    rooms = [
        {"rt60": 0.3, "rirs": [np.r_[1.0, np.zeros(99), 0.5, np.zeros(200), 0.25]] * 2},
        {"rt60": 0.6, "rirs": [np.r_[1.0, np.zeros(40), -0.7, np.zeros(900), 0.4]] * 2},
    ]
    kinds = ("effect", "hum", *noise.NOISE_COLOURS)
    return [
        tf.Loudness(-30, -20),
        tf.PeakLimit(9, 12),
        tf.BandLimit(((4000.0, None), (8000.0, 300.0), (3400.0, 300.0))),
        tf.BandLimit(((4000.0, None), (8000.0, None)), weights=(1.0, 3.0)),
        tf.BackgroundNoise(kinds, [1.0] * len(kinds), effects, -5, 20),
        tf.ColouredNoise(0, 20),
        tf.RoomReverb(rooms),
        tf.Codec(),
        *([tf.Codec(("codec2",))] if shutil.which("c2enc") else []),
    ]


def test_transforms_keep_shape_dtype_and_are_deterministic(transforms):
    x = speech_like(1.0, 0)
    for t in transforms:
        name = type(t).__name__
        a, pa = t(x, SR, np.random.default_rng(7))
        b, pb = t(x, SR, np.random.default_rng(7))
        assert a.shape == x.shape and a.dtype == np.float32, name
        assert np.isfinite(a).all(), name
        np.testing.assert_array_equal(a, b)
        assert pa is not None and pa.keys() == pb.keys(), name
        # and the draw matters: another seed gives another output, for every transform
        others = [t(x, SR, np.random.default_rng(s))[0] for s in range(8, 14)]
        assert any(not np.array_equal(a, c) for c in others), name


def test_p_zero_is_identity_and_consumes_one_draw(transforms):
    x = tone()
    for t in transforms:
        t0 = type(t).__new__(type(t))
        t0.__dict__.update(t.__dict__, p=0.0)
        r = np.random.default_rng(1)
        y, params = t0(x, SR, r)
        assert params is None and y is x
        # exactly one uniform drawn, so later draws stay aligned
        assert r.random() == pytest.approx(
            (lambda g: (g.random(), g.random())[1])(np.random.default_rng(1))
        )


def test_apply_is_pure_given_params(transforms):
    x = tone()
    for t in transforms:
        params = t.draw(np.random.default_rng(2), x, SR)
        np.testing.assert_array_equal(t.apply(x, SR, **params), t.apply(x, SR, **params))


@pytest.mark.parametrize(
    "bad",
    [
        lambda: tf.Loudness(-10, 5),
        lambda: tf.PeakLimit(1, 2),
        lambda: tf.Loudness(p=1.5),
        lambda: tf.BandLimit(()),
        lambda: tf.BandLimit(((4000.0, None),), weights=(1.0, 2.0)),
        lambda: tf.BandLimit(((300.0, 3400.0),)),
        lambda: tf.ColouredNoise(colours=("purple",)),
        lambda: tf.BackgroundNoise(("effect",), (1.0,), effects=[]),
        lambda: tf.BackgroundNoise(("rain",), (1.0,)),
        lambda: tf.RoomReverb([]),
        lambda: tf.Codec(kinds=("mp3",)),
    ],
)
def test_bad_arguments_refused_at_construction(bad):
    with pytest.raises(ValueError):
        bad()


@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0, 20.0])
@pytest.mark.parametrize("colour", noise.NOISE_COLOURS)
def test_coloured_noise_reaches_requested_snr(snr, colour):
    x = tone(2.0)
    t = tf.ColouredNoise(snr, snr, colours=(colour,))
    y, params = t(x, SR, np.random.default_rng(5))
    noise = y - x
    achieved = 20 * np.log10(levels.active_rms(x, SR) / rms(noise))
    assert achieved == pytest.approx(snr, abs=0.1)
    assert params["colour"] == colour


def test_noise_colours_have_their_slopes():
    rng = np.random.default_rng(0)
    slopes = {
        c: filters.spectral_slope(noise.coloured_noise(rng, SR * 2, c), SR)
        for c in noise.NOISE_COLOURS
    }
    assert slopes["white"] == pytest.approx(0.0, abs=0.7)
    assert slopes["pink"] == pytest.approx(-3.0, abs=0.7)
    assert slopes["brown"] == pytest.approx(-6.0, abs=0.7)
    assert slopes["blue"] == pytest.approx(3.0, abs=0.7)


@pytest.mark.skipif(shutil.which("c2enc") is None, reason="codec2 (Debian) is not installed")
def test_codec2_is_narrowband_and_worse_at_lower_bit_rates():
    x = tone(2.0, 180.0)
    errors = []
    for quality in (1.0, 0.0):
        y = noise.codec(x, SR, "codec2", quality)
        assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
        # 8 kHz sampling: nothing survives above 4 kHz
        assert filters.effective_bandwidth(y, SR) < 4200
        spec_x = np.abs(np.fft.rfft(x))[: len(x) // 8]
        spec_y = np.abs(np.fft.rfft(y))[: len(x) // 8]
        errors.append(float(np.mean((np.log1p(spec_x) - np.log1p(spec_y)) ** 2)))
    assert errors[1] > errors[0]


def test_band_limit_removes_energy_above_cutoff():
    x = noise.coloured_noise(np.random.default_rng(1), SR, "white")
    for cutoff in (4000.0, 8000.0, 11025.0):
        y = filters.band_limit(x, SR, cutoff)
        assert len(y) == len(x)
        assert filters.effective_bandwidth(y, SR) == pytest.approx(cutoff, rel=0.06)
    assert filters.effective_bandwidth(x, SR) > 15000


def test_tilt_sets_the_slope():
    x = noise.coloured_noise(np.random.default_rng(2), SR * 2, "white")
    y = filters.tilt(x, SR, -6.0)
    assert filters.spectral_slope(y, SR) == pytest.approx(-6.0, abs=0.5)


def test_loudness_and_limiter_set_levels():
    x = tone(1.5)
    y, _ = tf.Loudness(-25, -25)(x, SR, np.random.default_rng(0))
    assert 20 * np.log10(levels.active_rms(y, SR)) == pytest.approx(-25, abs=0.01)
    z, _p = tf.PeakLimit(9, 9)(y, SR, np.random.default_rng(0))
    peak_db = 20 * np.log10(np.abs(z).max())
    # the limiter's smoothed gain lands just under the target, never over it
    assert -25 + 9 - 1.0 < peak_db <= -25 + 9 + 0.01


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Voiced syllables with pauses and plosive-like bursts: a crest factor far above a
    tone's, as in speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    syllables = np.sin(np.arange(n) / SR * 2 * np.pi * rng.uniform(2, 5)) > 0.2
    x = tone(seconds, rng.uniform(100, 250), seed) * syllables
    for at in rng.integers(0, n - 400, 12):
        x[at : at + 400] += rng.standard_normal(400) * rng.uniform(0.2, 0.5)
    return x.astype(np.float32)


@pytest.mark.parametrize("crest", [9.0, 11.0, 13.0])
def test_limiter_holds_the_level_and_hits_the_crest(crest):
    # one limiter pass lowers the RMS by dB, so the crest ended up above its target by
    # an amount that differed by class; the bisection has to land on both
    for seed in range(3):
        x = speech_like(3.0, seed)
        level = 20 * np.log10(levels.active_rms(x, SR))
        assert 20 * np.log10(np.abs(x).max()) - level > crest + 3  # it really must limit
        y = levels.limit_crest(x, SR, crest)
        out = 20 * np.log10(levels.active_rms(y, SR))
        assert out == pytest.approx(level, abs=0.05)
        assert 20 * np.log10(np.abs(y).max()) - out == pytest.approx(crest, abs=0.1)


def test_limiter_leaves_quiet_peaks_alone():
    x = tone(1.0)
    assert np.array_equal(levels.limit_crest(x, SR, 12.0), x)
    assert np.array_equal(levels.limit_peak(x, SR, 1.0), x)


def test_render_scene_exact_length_and_meta(effects):
    rooms = [{"rt60": 0.3, "dims": [4, 4, 3], "rirs": [np.r_[1.0, 0.3].astype(np.float32)] * 2}]
    voices = [tone(2.0), tone(3.0, 150.0, 1)]
    for k in range(3):
        x, info = scenes.render_scene(
            voices[:k], np.random.default_rng(k), SR, effects=effects, rooms=rooms
        )
        assert x.shape == (5 * SR,) and x.dtype == np.float32
        assert np.abs(x).max() <= 1.0
        assert len(info["offsets"]) == k
        y, _ = scenes.render_scene(
            voices[:k], np.random.default_rng(k), SR, effects=effects, rooms=rooms
        )
        np.testing.assert_array_equal(x, y)
    # a second voice always overlaps the first
    for seed in range(20):
        _, info = scenes.render_scene(voices, np.random.default_rng(seed), SR, effects=effects)
        a, b = info["offsets"]
        assert b < a + 2.0 and a < b + 3.0


def test_tuxpaint_effects_are_not_speech():
    paths = banks.tuxpaint_effects()
    if not paths:
        pytest.skip("tuxpaint-stamps-default is not installed")
    names = [p.name for p in paths]
    assert 80 <= len(paths) <= 140
    assert not any("_desc" in n for n in names)
    assert not any(p.parent.name == "math" for p in paths)


@pytest.mark.parametrize("source_tilt", [-5.0, -1.0])
@pytest.mark.parametrize(("target_rolloff", "target_above"), [(900.0, -22.0), (2200.0, -13.0)])
def test_match_brightness_brings_dark_and_bright_sources_to_one_target(
    source_tilt, target_rolloff, target_above
):
    # a dark and a bright source land on the same roll-off and share of power above
    # 4 kHz: the brightness of a clip no longer tells its source
    pink = noise.coloured_noise(np.random.default_rng(3), SR * 2, "pink") * 0.1
    x = filters.tilt(pink, SR, source_tilt)
    y = filters.match_brightness(x, SR, target_rolloff, target_above)
    f, pxx = filters.average_spectrum(y, SR)
    step = f[1] - f[0]
    assert abs(filters.rolloff(f, pxx) - target_rolloff) <= max(2 * step, 0.03 * target_rolloff)
    assert filters.energy_above(y, SR, 4000) == pytest.approx(target_above, abs=0.5)


def test_match_brightness_without_a_share_sets_only_the_rolloff():
    x = noise.coloured_noise(np.random.default_rng(4), SR, "pink") * 0.1
    y = filters.match_brightness(x, SR, 1200.0)
    f, pxx = filters.average_spectrum(y, SR)
    assert abs(filters.rolloff(f, pxx) - 1200.0) <= 2 * (f[1] - f[0])
    assert not np.any(filters.match_brightness(np.zeros(100, np.float32), SR, 1200.0))


@pytest.mark.parametrize("target", [-3.0, 0.1, 2.5, 7.77, 40.0])
def test_tree_bisection_visits_what_one_halving_at_a_time_would(target):
    # the vectorised search must land exactly where the plain bisection does, for every
    # count of halvings (a remainder shorter than the tree's depth included)
    def plain(fn, lo, hi, halvings):
        for _ in range(halvings):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if fn(mid) < target else (lo, mid)
        return 0.5 * (lo + hi)

    def step(v):
        return np.floor(np.asarray(v) * 3.0) ** 3  # increasing, with flat steps

    for halvings in (1, 2, 3, 7, 14):
        got = filters._bisect(step, target, -5.0, 5.0, halvings)
        assert got == plain(lambda v: float(step(v)), -5.0, 5.0, halvings)


def test_rolloffs_row_by_row_equal_rolloff():
    rng = np.random.default_rng(5)
    f = np.linspace(0.0, 16000.0, 513)
    p = rng.random((6, 513)) ** 4
    p[2] = 0.0  # silence: the first bin, as before
    assert list(filters.rolloffs(f, p)) == [filters.rolloff(f, row) for row in p]
