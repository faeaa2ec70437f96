"""The large-encoder option (``encoder=PATH``), built from tiny random wav2vec2 / WavLM /
HuBERT configurations saved to a folder, as a real checkpoint would be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fakevoice.errors import FakevoiceError
from fakevoice.features import FrontEnd, FrontEndConfig
from fakevoice.models.common import attach_generator, init_weights
from fakevoice.models.registry import build
from fakevoice.predict import predict
from fakevoice.train.config import resolve
from fakevoice.train.loop import train

transformers = pytest.importorskip("transformers")

TINY = {
    "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 32, "conv_dim": (16, 16, 16), "conv_kernel": (10, 3, 3),
    "conv_stride": (5, 2, 2), "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2,
}  # fmt: skip
FAMILIES = {
    "wav2vec2": "Wav2Vec2",
    "wavlm": "WavLM",
    "hubert": "Hubert",
}


def tiny_encoder(folder: Path, family: str = "wav2vec2") -> Path:
    name = FAMILIES[family]
    config = getattr(transformers, f"{name}Config")(**TINY)
    torch.manual_seed(0)
    getattr(transformers, f"{name}Model")(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("wav2vec2"))


def test_waveform_front_end_is_16k_and_removes_what_16k_cannot_hold() -> None:
    front = FrontEnd(FrontEndConfig(kind="waveform"))
    t = np.arange(32000) / 32000
    low = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    high = np.sin(2 * np.pi * 12000 * t).astype(np.float32)
    y_low, y_high = front(torch.from_numpy(low)), front(torch.from_numpy(high))
    assert y_low.shape == (1, 1, 16000) == (1, front.cfg.channels, front.cfg.n_frames(32000))
    mid = slice(1000, 15000)
    assert float(y_low[0, 0, mid].square().mean()) == pytest.approx(0.5, rel=0.02)
    assert float(y_high[0, 0, mid].square().mean()) < 1e-4  # would alias to 4 kHz


@pytest.mark.parametrize("family", list(FAMILIES))
def test_encoder_trunk_keeps_its_weights_and_gives_the_detector_logits(
    family, tmp_path: Path
) -> None:
    folder = tiny_encoder(tmp_path / family, family)
    cfg = resolve("detector", sets=[f"encoder={folder}"])
    assert cfg.frontend.kind == "waveform"
    model = build(cfg)
    loaded = {k: v.clone() for k, v in model.net.encoder.state_dict().items()}
    init_weights(model, torch.Generator().manual_seed(1))
    after = model.net.encoder.state_dict()
    assert all(torch.equal(loaded[k], after[k]) for k in loaded)
    assert not any(p.requires_grad for p in model.net.encoder.parameters())
    model.train()
    attach_generator(model, torch.Generator().manual_seed(2))
    assert not model.net.encoder.training  # frozen: dropout stays off
    x = torch.randn(3, 1, 16000) * 0.1
    logits = model(x, torch.full((3,), 16000))
    assert logits.shape == (3, 8) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert model.net.layer_logits.grad is not None


def test_fine_tuning_trains_the_encoder(encoder: Path) -> None:
    model = build(resolve("detector", sets=[f"encoder={encoder}", "net.freeze=false"]))
    model.train()
    attach_generator(model, torch.Generator().manual_seed(2))
    assert model.net.encoder.training
    model(torch.randn(2, 1, 16000), torch.full((2,), 16000)).sum().backward()
    grads = [p.grad for p in model.net.encoder.parameters() if p.requires_grad]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads)


def test_bad_encoder_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FakevoiceError, match=r"config\.json"):
        build(resolve("detector", sets=[f"encoder={tmp_path / 'missing'}"]))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(FakevoiceError, match="cannot load"):
        build(resolve("detector", sets=[f"encoder={tmp_path / 'broken'}"]))
    with pytest.raises(FakevoiceError, match="takes no encoder"):
        build(resolve("mel-cnn", sets=[f"encoder={tmp_path}"]))


@pytest.mark.slow
def test_detector_with_an_encoder_trains_and_predicts(
    encoder: Path, toy_contest, contest_fixtures, tmp_path: Path
) -> None:
    sets = [f"encoder={encoder}", "steps_per_epoch=3", "val_scenes=16", "batch_size=8"]
    cfg = resolve("detector", epochs=1, sets=sets)
    run = tmp_path / "run"
    metrics = train(cfg, toy_contest, run, cache_dir=tmp_path / "cache" / "features")
    assert np.isfinite(metrics["val_score"])
    out = tmp_path / "sub.csv"
    predict(run, [contest_fixtures], out)
    sub = pd.read_csv(out)
    assert len(sub) == 2 and sub[["fake", "real"]].notna().all().all()
    assert sub[["fake", "real"]].apply(lambda c: c.between(0, 1)).all().all()
