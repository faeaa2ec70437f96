"""Domain adaptation with the unlabeled clips: AdaBN, self-training's pseudo labels and
thresholds, the domain-adversarial loss, and each switch end to end on the toy contest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fakevoice.errors import FakevoiceError
from fakevoice.models.registry import build
from fakevoice.predict import predict
from fakevoice.runs import load_model
from fakevoice.train import adapt
from fakevoice.train.config import resolve
from fakevoice.train.loop import TrainingStopped, train

QUICK = ["steps_per_epoch=4", "val_scenes=24", "batch_size=16"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache") / "features"


def _bn_means(model) -> list[torch.Tensor]:
    return [m.running_mean.clone() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def test_adabn_sets_batch_norm_statistics_to_the_target_data() -> None:
    cfg = resolve("detector", sets=["net.widths=[16,16,16,16]"])
    model = build(cfg)
    x = torch.randn(40, 64, 201) * 3 + 5
    model.train()
    n = adapt.adabn(model, x, batch=20)  # equal batches: the average is the whole mean
    assert n == len(_bn_means(model)) > 0
    assert model.training  # the mode it was in is restored
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    # the stem's batch norm now holds the statistics of its own input on x
    model.eval()
    with torch.no_grad():
        h = model.net.stem[0](model.prepare(x, torch.full((40,), 201)).unsqueeze(1))
    stem_bn = model.net.stem[1]
    assert torch.allclose(stem_bn.running_mean, h.mean(dim=(0, 2, 3)), atol=1e-4)
    before = _bn_means(model)
    adapt.adabn(model, x[:1])  # too few clips: nothing changes
    assert all(torch.equal(a, b) for a, b in zip(before, _bn_means(model), strict=True))


def test_confidence_threshold_reaches_the_precision_on_validation() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.5).astype(float)
    # confident predictions are right, unsure ones are a coin toss
    conf = rng.uniform(0.5, 1.0, size=2000)
    right = rng.random(2000) < np.where(conf > 0.8, 0.99, 0.5)
    p = np.where(right == (y > 0.5), conf, 1 - conf)
    t = adapt.confidence_threshold(p, y, 0.95)
    assert 0.75 <= t <= 0.85
    keep = np.maximum(p, 1 - p) >= t
    assert ((p[keep] >= 0.5) == (y[keep] > 0.5)).mean() >= 0.95
    assert adapt.confidence_threshold(np.full(10, 0.6), np.zeros(10), 0.95) == 1.0


def test_pseudo_labels_keep_confident_columns_and_consistent_compositions() -> None:
    presence = np.array([[0.99, 0.01], [0.99, 0.6], [0.55, 0.52], [0.02, 0.97], [0.97, 0.98]])
    comp = np.zeros((5, 6))
    comp[0, 1] = 0.99  # F: agrees with (fake, no real)
    comp[1, 1] = 0.99
    comp[3, 1] = 0.99  # F, but presence says real only: disagrees
    comp[4, 5], comp[4, 0] = 0.94, 0.06  # FR, agrees, but below the stricter threshold 0.95
    comp[comp.sum(axis=1) == 0, 0] = 1.0
    comp = comp / comp.sum(axis=1, keepdims=True)
    out = adapt.pseudo_labels(presence, comp, (0.9, 0.95))
    assert out["idx"] == [0, 1, 3, 4]
    target = np.array(out["target"])
    mask = np.array(out["mask"])
    np.testing.assert_array_equal(mask, [[1, 1], [1, 0], [1, 1], [1, 1]])
    np.testing.assert_array_equal(target[:, :2], [[1, 0], [1, 1], [0, 1], [1, 1]])
    np.testing.assert_array_equal(target[:, 2], [1, -1, -1, -1])
    model = build(resolve("detector"))
    logits = torch.zeros(4, 8, requires_grad=True)
    target_t, mask_t = torch.tensor(target).float(), torch.tensor(mask).float()
    loss = adapt.pseudo_loss(model, logits, target_t, mask_t)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad[1, 1] == 0  # a masked column gives no gradient


def test_domain_loss_reverses_the_gradient() -> None:
    model = build(resolve("detector", sets=["adapt=[dann]"]))
    assert model.domain_head is not None
    emb = torch.randn(8, model.net.embed_dim, requires_grad=True)
    adapt.domain_loss(model, emb, 4, progress=1.0).backward()
    g_reversed = emb.grad.clone()
    emb.grad = None
    target = torch.cat([torch.zeros(4), torch.ones(4)])
    logit = model.domain_head(emb).squeeze(-1)
    torch.nn.functional.binary_cross_entropy_with_logits(logit, target).backward()
    scale = adapt.reversal_strength(1.0)
    assert torch.allclose(g_reversed, -scale * emb.grad, atol=1e-6)
    assert adapt.reversal_strength(0.0) == 0.0


def test_unknown_adaptation_is_refused() -> None:
    with pytest.raises(FakevoiceError, match="adapt"):
        resolve("detector", sets=["adapt=[coral]"]).validate()


@pytest.fixture(scope="module")
def plain(toy_contest, tmp_path_factory, cache) -> dict[str, torch.Tensor]:
    """The weights of the same quick run without adaptation."""
    run = tmp_path_factory.mktemp("plain") / "run"
    train(resolve("detector", epochs=1, sets=QUICK), toy_contest, run, cache_dir=cache)
    return torch.load(run / "model.pt", weights_only=True)["model"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["adabn", "selftrain", "dann"])
def test_each_adaptation_trains_changes_the_model_and_predicts(
    method, toy_contest, contest_fixtures, tmp_path, cache, plain
) -> None:
    sets = [*QUICK, f"adapt=[{method}]", "self_epochs=1", "self_precision=0.6"]
    run = tmp_path / "run"
    metrics = train(resolve("detector", epochs=1, sets=sets), toy_contest, run, cache_dir=cache)
    assert np.isfinite(metrics["val_score"])
    stages = [h.get("stage") for h in metrics["history"]]
    assert ("selftrain" in stages) == (method == "selftrain")
    if method == "adabn":
        assert metrics["adabn_layers"] > 0
    model, _ = load_model(run)
    assert (model.domain_head is not None) == (method == "dann")
    weights = torch.load(run / "model.pt", weights_only=True)["model"]
    assert any(not torch.equal(weights[k], plain[k]) for k in plain)
    out = tmp_path / "fixtures.csv"
    predict(run, [contest_fixtures], out)
    sub = pd.read_csv(out)
    assert len(sub) == 2 and sub[["fake", "real"]].notna().all().all()


@pytest.mark.slow
def test_self_training_with_the_domain_loss_resumes_bit_exactly(toy_contest, tmp_path, cache):
    # the pseudo labels (stage state) and the target batches must survive a kill
    sets = [*QUICK, "adapt=[selftrain,dann]", "self_epochs=2", "self_precision=0.6"]
    cfg = resolve("detector", epochs=1, sets=sets)
    full, cut = tmp_path / "full", tmp_path / "cut"
    train(cfg, toy_contest, full, cache_dir=cache)
    with pytest.raises(TrainingStopped):
        train(cfg, toy_contest, cut, cache_dir=cache, stop_after=2)
    train(cfg, toy_contest, cut, cache_dir=cache, resume=True)
    a = torch.load(full / "model.pt", weights_only=True)["model"]
    b = torch.load(cut / "model.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
