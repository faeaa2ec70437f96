"""The validation split's voice groups and the calibration fitted on validation scenes."""

from __future__ import annotations

import numpy as np
import torch

from fakevoice.train.groups import group_split, voice_groups
from fakevoice.train.scenes_data import fit_platt, fit_temperature


def _clusters(rng: np.random.Generator, centres: int, per: int) -> np.ndarray:
    return np.concatenate([rng.normal(10.0 * c, 0.3, size=(per, 4)) for c in range(centres)])


def test_few_fake_clusters_hold_out_whole_generators() -> None:
    rng = np.random.default_rng(0)
    # four "generators" of 50 fakes each, far apart; 200 reals in one blob
    fakes, reals = _clusters(rng, 4, 50), rng.normal(0.0, 1.0, size=(200, 4)) - 30.0
    x, labels = np.concatenate([fakes, reals]), np.repeat([1, 0], 200)
    generator = np.repeat(np.arange(4), 50)
    groups = voice_groups(x, labels, seed=0, fake_clusters=4)
    assert len(np.unique(groups[:200])) == 4
    assert len(np.unique(groups[200:])) == 8  # reals: about 25 clips a group
    train, val = group_split(groups, labels, 0.25, np.random.default_rng(1))
    val_fakes = val[val < 200]
    # validation's fakes are whole generators that training never sees
    assert len(val_fakes) == 50
    assert not set(generator[val_fakes]) & set(generator[train[train < 200]])
    # without the option the fake clusters are small, and generators are split up
    fine = voice_groups(x, labels, seed=0)
    assert len(np.unique(fine[:200])) == 8


def test_platt_fixes_a_bias_temperature_cannot() -> None:
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0.0, 2.0, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-true_logit))).astype(np.float32)
    # a model that is too sure (x3) and shifted (+2): calibrated logits are (z - 2) / 3
    z = torch.tensor(3.0 * true_logit + 2.0, dtype=torch.float32)
    t, b = fit_platt(z, torch.from_numpy(y))
    assert abs(t - 3.0) < 0.4 and abs(b + 2.0 / 3.0) < 0.15

    def nll(p: torch.Tensor) -> float:
        return float(torch.nn.functional.binary_cross_entropy(p, torch.from_numpy(y)))

    platt = nll(torch.sigmoid(z / t + b))
    temperature = nll(torch.sigmoid(z / fit_temperature(z, torch.from_numpy(y))))
    assert platt < temperature - 0.01
