"""Property-based tests (hypothesis): what must hold for any input, not just the examples."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fakevoice.audio import SAMPLE_RATE, crop, load_audio, windows
from fakevoice.dataset import avoid_bin_edges
from fakevoice.errors import SubmissionError
from fakevoice.metric import expected_calibration_error, score_arrays, score_frames

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

rates = st.sampled_from([8000, 11025, 16000, 22050, 32000, 44100, 48000])
finite = st.floats(-1.0, 1.0, allow_nan=False, width=32)


@FAST
@given(
    rate=rates,
    channels=st.integers(1, 6),
    seconds=st.floats(0.01, 1.5),
    subtype=st.sampled_from(["PCM_16", "FLOAT", "PCM_24"]),
    target=st.sampled_from([16000, 32000]),
    data=st.data(),
)
def test_any_decodable_clip_has_requested_rate_and_length(
    rate, channels, seconds, subtype, target, data
) -> None:
    frames = max(1, int(rate * seconds))
    x = data.draw(arrays(np.float32, (frames, channels), elements=finite))
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.wav"
        sf.write(p, x, rate, subtype=subtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = load_audio(p, sr=target)
    assert y.dtype == np.float32 and y.ndim == 1
    assert np.isfinite(y).all()
    assert abs(len(y) - frames * target / rate) <= 2
    n = int(target * 0.5)
    assert len(crop(y, n)) == n
    w = windows(y, n, n // 2)
    assert w.shape[1] == n and w.shape[0] >= 1


prob = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def scored_sets(draw):
    n = draw(st.integers(4, 60))
    ans = np.array(
        draw(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=n, max_size=n))
    )
    ans[0], ans[1] = (0, 0), (1, 1)
    p = np.array(draw(st.lists(st.tuples(prob, prob), min_size=n, max_size=n)))
    return ans, avoid_bin_edges(p.ravel()).reshape(p.shape).clip(0, 1)


@FAST
@given(scored_sets(), st.randoms(use_true_random=False))
def test_score_is_in_range_and_invariant_to_row_order_by_id(case, rnd) -> None:
    ans, p = case
    ids = [f"T{i:04d}" for i in range(len(ans))]
    answer = pd.DataFrame({"id": ids, "fake": ans[:, 0], "real": ans[:, 1]})
    sub = pd.DataFrame({"id": ids, "fake": p[:, 0], "real": p[:, 1]})
    order = list(range(len(ids)))
    rnd.shuffle(order)
    try:
        a, _ = score_frames(answer, sub)
    except SubmissionError:
        return
    b, _ = score_frames(answer, sub.iloc[order].reset_index(drop=True), by_id=True)
    assert abs(a.score - b.score) < 1e-12
    assert 0.0 <= a.score <= 1.0
    for c in a.columns.values():
        assert 0 <= c.auc <= 1 and 0 <= c.brier <= 1 and 0 <= c.ece <= 1


@FAST
@given(scored_sets())
def test_ece_is_zero_for_perfectly_calibrated_bins(case) -> None:
    ans, _ = case
    rate = ans[:, 0].mean()
    if rate in (0.1 * k for k in range(1, 10)):
        return
    assert expected_calibration_error(ans[:, 0], np.full(len(ans), rate)) < 1e-12


@FAST
@given(arrays(np.float64, st.integers(1, 50), elements=prob))
def test_avoid_bin_edges_keeps_values_in_range(p) -> None:
    q = avoid_bin_edges(p)
    assert ((q >= 0) & (q <= 1)).all()
    assert np.abs(q - p).max() <= 1e-9 + 1e-15
    assert not np.isin(q, np.linspace(0, 1, 11)[1:-1]).any()


def test_perfect_predictions_score_zero() -> None:
    ans = np.array([[0, 1], [1, 0], [1, 1], [0, 0]], dtype=float)
    assert score_arrays(ans, ans).score == 0.0


def test_sample_rate_constant() -> None:
    assert SAMPLE_RATE == 32000


SCENE_SR = 16000  # properties hold at any rate; a lower one keeps the examples quick


@st.composite
def voices(draw):
    count = draw(st.integers(0, 2))
    out = []
    for _ in range(count):
        n = draw(st.integers(1, int(1.5 * SCENE_SR)))
        kind = draw(st.sampled_from(["noise", "tone", "silent", "loud"]))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        if kind == "silent":
            x = np.zeros(n, np.float32)
        elif kind == "tone":
            x = 0.3 * np.sin(np.arange(n) * rng.uniform(0.01, 0.5)).astype(np.float32)
        else:
            x = rng.standard_normal(n).astype(np.float32) * (0.9 if kind == "loud" else 0.05)
        out.append(x)
    return out


@FAST
@given(voices(), st.integers(0, 2**32 - 1))
def test_any_scene_is_finite_exact_length_and_reproducible(vs, seed) -> None:
    from fakevoice.synth.scenes import SceneConfig, render_scene

    cfg = SceneConfig(seconds=2.0)
    a, info = render_scene(vs, np.random.default_rng(seed), SCENE_SR, config=cfg)
    b, _ = render_scene(vs, np.random.default_rng(seed), SCENE_SR, config=cfg)
    assert a.dtype == np.float32 and len(a) == 2 * SCENE_SR
    assert np.isfinite(a).all() and np.abs(a).max() <= 1.0
    assert np.array_equal(a, b)
    assert len(info["offsets"]) == len(vs)
    assert all(0 <= o <= 2.0 for o in info["offsets"])


@FAST
@given(
    arrays(np.float32, st.integers(1, 4000), elements=st.floats(-1, 1, width=32)),
    st.integers(0, 2**32 - 1),
)
def test_transforms_keep_length_and_stay_finite(x, seed) -> None:
    from fakevoice.synth import transforms as tf

    kinds = ("hum", "white", "pink", "brown", "blue")
    for t in (
        tf.Loudness(),
        tf.PeakLimit(),
        tf.BandLimit(),
        tf.BackgroundNoise(kinds, [1.0] * len(kinds)),
        tf.ColouredNoise(),
        tf.Codec(),
    ):
        y, _ = t(x, SCENE_SR, np.random.default_rng(seed))
        assert len(y) == len(x), type(t).__name__
        assert np.isfinite(y).all(), type(t).__name__
