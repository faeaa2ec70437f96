from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from fakevoice.cli import main
from fakevoice.errors import FakevoiceError, RunError
from fakevoice.models.registry import get_spec, names
from fakevoice.runs import load_model, read_manifest
from fakevoice.train.config import TrainConfig, from_dict, resolve
from fakevoice.train.loop import TrainingStopped, train


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "model.pt", weights_only=True)["model"]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_config_precedence_file_then_set_then_flags(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('model = "mfcc-mlp"\nlr = 0.01\nepochs = 3\n[frontend]\nn_coeffs = 20\n')
    cfg = resolve(config_file=toml, sets=["lr=0.002", "frontend.n_bands=64"], epochs=2)
    assert cfg.model == "mfcc-mlp"
    assert cfg.lr == 0.002
    assert cfg.frontend.kind == "mfcc" and cfg.frontend.n_coeffs == 20
    assert cfg.frontend.n_bands == 64
    assert cfg.epochs == cfg.ae_epochs == cfg.pseudo_epochs == 2
    assert from_dict(cfg.as_dict()) == cfg


@pytest.mark.parametrize(
    "sets,msg",
    [
        (["nope=1"], "unknown config key"),
        (["lr=fast"], "not a valid float"),
        (["epochs=1.5"], "not a valid int"),
        (["val_fraction=1.0"], "val_fraction"),
        (["frontend.kind=cqt"], "front end kind"),
        (["lr"], "KEY=VALUE"),
        (["lr_schedule=linear"], "lr_schedule"),
        (["calibration=isotonic"], "calibration"),
        (["fake_clusters=-1"], "fake_clusters"),
    ],
)
def test_bad_config_is_refused_in_one_line(sets: list[str], msg: str) -> None:
    with pytest.raises(FakevoiceError, match=msg):
        resolve("mfcc-mlp", sets=sets)


def test_train_writes_a_complete_run(toy_contest: Path, tmp_path: Path, cache: Path) -> None:
    run = tmp_path / "run"
    metrics = train(resolve("mfcc-mlp", epochs=3), toy_contest, run, cache_dir=cache)
    for name in ("run.json", "config.json", "checkpoint.pt", "model.pt", "metrics.json"):
        assert (run / name).is_file(), name
    assert read_manifest(run)["state"] == "complete"
    assert metrics["n_train"] + metrics["n_val"] == 40
    assert metrics["n_val"] == 8  # the 80/20 split
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert len(metrics["history"]) == 3
    model, cfg = load_model(run)
    assert cfg.model == "mfcc-mlp" and not model.training


def test_a_model_learns_separable_data(tmp_path: Path, cache: Path) -> None:
    # toy fakes have twice the harmonics of toy reals: the mean MFCCs separate them, so the
    # organisers' baseline must reach a high held-out accuracy, and a shuffled copy of the
    # labels (nothing to learn) must not
    from tests.conftest import build_toy_contest

    data = build_toy_contest(tmp_path / "data", n_train=120, n_test=4, n_unlabeled=2, seed=3)
    metrics = train(resolve("mfcc-mlp"), data, tmp_path / "run", cache_dir=cache)
    assert metrics["n_val"] == 24
    assert metrics["val_accuracy"] >= 0.9, metrics["val_accuracy"]
    table = pd.read_csv(data / "train.csv")
    table["label"] = table["label"].sample(frac=1.0, random_state=0).to_numpy()
    table.to_csv(data / "train.csv", index=False)
    shuffled = train(resolve("mfcc-mlp"), data, tmp_path / "shuffled", cache_dir=cache)
    assert shuffled["val_accuracy"] <= 0.75, shuffled["val_accuracy"]


def test_same_seed_same_weights_other_seed_other_weights(
    toy_contest: Path, tmp_path: Path, cache: Path
) -> None:
    runs = {}
    for tag, seed in (("a", 5), ("b", 5), ("c", 6)):
        train(
            resolve("mfcc-mlp", epochs=2, seed=seed), toy_contest, tmp_path / tag, cache_dir=cache
        )
        runs[tag] = _weights(tmp_path / tag)
    assert _same(runs["a"], runs["b"])
    assert not _same(runs["a"], runs["c"])


# Every registered family, so a new one cannot silently break exact resume (seeded
# initialisation, dropout and batches); stop after the first epoch of the last stage.
RESUME_STOPS = {"mel-cnn-pseudo": 3, "ae-mlp": 2, "mfcc-mlp-pseudo": 3, "prior": 0}
SCENE_QUICK = ["steps_per_epoch=3", "val_scenes=16"]


@pytest.mark.parametrize("model", [n for n in names() if n != "prior"])
def test_resume_after_a_kill_gives_the_uninterrupted_result(
    toy_contest: Path, tmp_path: Path, cache: Path, model: str
) -> None:
    stop = RESUME_STOPS.get(model, 1)
    quick = SCENE_QUICK if get_spec(model).trains_on_scenes else []
    cfg = resolve(model, epochs=2, sets=["batch_size=16", *quick])
    full = tmp_path / "full"
    train(cfg, toy_contest, full, cache_dir=cache)
    cut = tmp_path / "cut"
    with pytest.raises(TrainingStopped):
        train(cfg, toy_contest, cut, cache_dir=cache, stop_after=stop)
    assert read_manifest(cut)["state"] == "training"
    with pytest.raises(RunError, match="training has not finished"):
        load_model(cut)
    train(cfg, toy_contest, cut, cache_dir=cache, resume=True)
    assert _same(_weights(full), _weights(cut))

    def history(run: Path) -> list[dict]:
        rows = json.loads((run / "metrics.json").read_text())["history"]
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    assert history(cut) == history(full)


def test_existing_run_needs_resume_or_overwrite(
    toy_contest: Path, tmp_path: Path, cache: Path
) -> None:
    run = tmp_path / "run"
    cfg = resolve("prior")
    train(cfg, toy_contest, run, cache_dir=cache)
    with pytest.raises(RunError, match="--resume"):
        train(cfg, toy_contest, run, cache_dir=cache)
    with pytest.raises(RunError, match="different configuration"):
        train(resolve("prior", seed=9), toy_contest, run, cache_dir=cache, resume=True)
    assert train(cfg, toy_contest, run, cache_dir=cache, resume=True)["model"] == "prior"
    train(resolve("prior", seed=9), toy_contest, run, cache_dir=cache, overwrite=True)
    assert json.loads((run / "config.json").read_text())["seed"] == 9


def test_run_from_another_format_version_is_refused(
    toy_contest: Path, tmp_path: Path, cache: Path
) -> None:
    run = tmp_path / "run"
    train(resolve("prior"), toy_contest, run, cache_dir=cache)
    manifest = json.loads((run / "run.json").read_text())
    manifest["format_version"] = 999
    (run / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(RunError, match="format version 999"):
        load_model(run)


def test_train_cli(toy_contest: Path, tmp_path: Path, cache: Path, capsys) -> None:
    run = tmp_path / "cli-run"
    args = ["train", str(toy_contest), "--model", "mfcc-mlp", "--out", str(run)]
    args += ["--epochs", "1", "--seed", "3", "--set", "batch_size=8", "--cache-dir", str(cache)]
    assert main(args) == 0
    assert "validation accuracy" in capsys.readouterr().out
    cfg = TrainConfig(**{**json.loads((run / "config.json").read_text()), "frontend": None})
    assert cfg.batch_size == 8 and cfg.seed == 3
    assert main(args) == 2  # exists: refused with a message, not a traceback
    assert "--resume" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")]) == 2


def test_training_without_unlabeled_clips_is_refused_for_models_that_need_them(
    toy_contest: Path, tmp_path: Path, cache: Path
) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(toy_contest, data)
    shutil.rmtree(data / "unlabeled_data")
    with pytest.raises(FakevoiceError, match="unlabeled"):
        train(resolve("dann", epochs=1), data, tmp_path / "run", cache_dir=cache)
