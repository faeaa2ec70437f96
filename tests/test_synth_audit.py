"""The audit's statistics: the bootstrap interval and the rule that judges a build."""

from __future__ import annotations

import numpy as np
import pytest

from fakevoice import organisers
from fakevoice.synth import audit


def _rows(n: int, shortcut: float, seed: int) -> list[dict]:
    """Train clips whose roll-off tells the label by ``shortcut`` standard deviations, and a
    few test scenes, with random MFCCs."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = "fake" if i % 2 else "real"
        feats = {k: float(rng.standard_normal()) for k in audit.NUISANCE}
        feats["rolloff_hz"] += shortcut * (label == "fake")
        feats["mfcc"] = list(rng.standard_normal(organisers.N_MFCC))
        rows.append({"split": "train", "label": label, "features": feats})
    for i in range(40):
        mfcc = list(rng.standard_normal(organisers.N_MFCC))
        rows.append({"split": "test", "fake": i % 2, "real": (i // 2) % 2,
                     "features": {"mfcc": mfcc}})  # fmt: skip
    return rows


def test_no_shortcut_passes_and_a_shortcut_fails():
    clean = audit.run_audit(_rows(400, 0.0, 1), {}, seed=0)
    assert clean["passed"] and clean["conclusive"]
    assert clean["nuisance_auc"] < 0.6
    leaky = audit.run_audit(_rows(400, 1.5, 1), {}, seed=0)
    assert not leaky["passed"]
    assert leaky["nuisance_auc_by_feature"]["rolloff_hz"] > 0.8


def test_a_small_build_is_judged_on_its_interval_not_its_luck():
    # 60 clips with a weak cue: the point estimate may exceed the limit by chance, but the
    # interval is wide; the rule fails a build only when the whole interval is above it
    small = audit.run_audit(_rows(60, 0.5, 2), {}, seed=0)
    low, high = small["nuisance_auc_ci"]
    assert high - low > 0.15
    assert small["passed"] == (low <= audit.MAX_NUISANCE_AUC)
    assert not small["conclusive"]


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_clips():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 2000):
        y = np.arange(n) % 2
        p = rng.standard_normal(n) + 0.5 * y
        low, high = audit.bootstrap_auc_interval(y, p, seed=1, n=300)
        from sklearn.metrics import roc_auc_score

        assert low <= roc_auc_score(y, p) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3
    # the same seed gives the same interval
    y = np.arange(100) % 2
    p = rng.standard_normal(100)
    assert audit.bootstrap_auc_interval(y, p, 5, 200) == audit.bootstrap_auc_interval(y, p, 5, 200)


@pytest.mark.parametrize("n", [8, 30])
def test_interval_is_defined_for_tiny_samples(n):
    y = np.arange(n) % 2
    low, high = audit.bootstrap_auc_interval(y, np.linspace(0, 1, n), seed=0, n=100)
    assert 0.0 <= low <= high <= 1.0


@pytest.mark.parametrize("n", [900, 2048, 48_000, 160_003])
def test_mfcc_mean_is_librosas(n):
    librosa = pytest.importorskip("librosa")
    sr = 32000
    x = (np.random.default_rng(n).standard_normal(n) * np.linspace(0.0, 0.3, n)).astype(np.float32)
    padded = np.pad(x, (0, max(0, organisers.MFCC_FFT - n)))
    want = librosa.feature.mfcc(y=padded, sr=sr, n_mfcc=organisers.N_MFCC).mean(axis=1)
    np.testing.assert_allclose(audit.mfcc_mean(x, sr), want, atol=1e-4)
