from __future__ import annotations

import pytest
import torch

from fakevoice.errors import FakevoiceError, RunError
from fakevoice.models.common import (
    SeededDropout,
    attach_generator,
    init_weights,
    reverse_gradient,
)
from fakevoice.models.registry import SPECS, build, get_spec, names
from fakevoice.models.vit import SpecViT, load_pretrained
from fakevoice.seeding import torch_generator
from fakevoice.train.config import resolve

EXPECTED = {
    "prior",
    "mfcc-mlp",
    "mel-cnn",
    "detector",
    "ae-mlp",
    "mfcc-mlp-pseudo",
    "mel-cnn-pseudo",
    "spec-vit",
    "dann",
}


def _inputs(cfg, batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, cfg.frontend.channels, cfg.frames, generator=g) * 10 - 40
    n = torch.full((batch,), cfg.frames)
    n[0] = 3
    return x, n


def test_registry_holds_every_seed_approach() -> None:
    assert set(names()) == EXPECTED
    with pytest.raises(FakevoiceError, match="unknown model"):
        get_spec("resnet")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_model_gives_two_probabilities(name: str) -> None:
    cfg = resolve(name)
    model = build(cfg)
    init_weights(model, torch_generator(0, "init"))
    model.eval()
    x, n = _inputs(cfg)
    p = model.probabilities(model(x, n))
    assert p.shape == (4, 2)
    assert torch.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    if SPECS[name].head == "softmax":
        assert torch.allclose(p.sum(1), torch.ones(4), atol=1e-5), "p_real = 1 - p_fake"


def test_seeded_init_is_reproducible_and_seed_dependent() -> None:
    cfg = resolve("mel-cnn")

    def weights(seed: int) -> torch.Tensor:
        m = build(cfg)
        init_weights(m, torch_generator(seed, "init"))
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.equal(weights(3), weights(3))
    assert not torch.equal(weights(3), weights(4))


def test_seeded_dropout_uses_only_its_generator() -> None:
    drop = SeededDropout(0.5).train()
    with pytest.raises(RuntimeError, match="attach_generator"):
        drop(torch.ones(10))
    outs = []
    for _ in range(2):
        attach_generator(drop, torch.Generator().manual_seed(7))
        outs.append(drop(torch.ones(1000)))
    assert torch.equal(outs[0], outs[1])
    assert set(outs[0].unique().tolist()) == {0.0, 2.0}
    assert torch.equal(drop.eval()(torch.ones(5)), torch.ones(5))


def test_gradient_reversal_flips_and_scales_the_gradient() -> None:
    x = torch.ones(3, requires_grad=True)
    reverse_gradient(x, 0.5).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))


def test_mean_pooling_ignores_padded_frames() -> None:
    cfg = resolve("mfcc-mlp")
    model = build(cfg)
    x = torch.zeros(1, cfg.frontend.channels, cfg.frames)
    x[..., :5] = 2.0
    x[..., 5:] = -100.0
    raw = model.raw_input(x, torch.tensor([5]))
    assert torch.allclose(raw, torch.full_like(raw, 2.0))


def test_prior_net_returns_the_class_shares() -> None:
    model = build(resolve("prior"))
    model.net.fit(30, 10)
    x, n = _inputs(resolve("prior"), 2)
    p = model.probabilities(model(x, n))
    assert p[0, 0].item() == pytest.approx(31 / 42)
    assert p[0, 1].item() == pytest.approx(11 / 42)


def test_losses_follow_the_heads() -> None:
    for name in ("mfcc-mlp", "mfcc-mlp-pseudo"):
        model = build(resolve(name))
        logits = torch.tensor([[5.0, -5.0], [-5.0, 5.0]])
        good = model.loss(logits, torch.tensor([1.0, 0.0]))
        bad = model.loss(logits, torch.tensor([0.0, 1.0]))
        assert good < 0.05 < bad


def test_vit_loads_local_weights_by_name_and_shape(tmp_path) -> None:
    src = SpecViT(64, 101)
    init_weights(src, torch_generator(1, "x"))
    path = tmp_path / "vit.pt"
    state = src.state_dict()
    state["pos"] = torch.zeros(1, 3, 96)  # wrong shape: must be skipped, not crash
    torch.save(state, path)
    dst = SpecViT(64, 101)
    init_weights(dst, torch_generator(2, "x"))
    loaded = load_pretrained(dst, path)
    assert "patch.weight" in loaded and "pos" not in loaded
    assert torch.equal(dst.patch.weight, src.patch.weight)
    assert not torch.equal(dst.pos, src.pos)
    with pytest.raises(RunError, match="not found"):
        load_pretrained(dst, tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not torch")
    with pytest.raises(RunError, match="not a readable"):
        load_pretrained(dst, tmp_path / "junk.pt")


def test_net_settings_reach_the_family_and_bad_ones_are_refused() -> None:
    small = build(resolve("detector", sets=["net.widths=[8,16,32,32]", "net.embed=32"]))
    default = build(resolve("detector"))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(small) < count(default) / 2
    with pytest.raises(FakevoiceError, match=r"bad \[net\] setting"):
        build(resolve("mel-cnn", sets=["net.bogus=1"]))
