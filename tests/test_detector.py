"""The scene-trained detector end to end on the toy contest: it trains, resumes exactly,
calibrates, learns the task, and predicts on any input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fakevoice.metric import score_frames
from fakevoice.predict import predict
from fakevoice.runs import load_model
from fakevoice.train.config import resolve
from fakevoice.train.loop import train

QUICK = ["steps_per_epoch=4", "val_scenes=24", "batch_size=16"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache") / "features"


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "model.pt", weights_only=True)["model"]


def test_detector_calibrates_on_held_out_voices(toy_contest, tmp_path, cache) -> None:
    # (its exact resume is tested with every family's in test_train, and across
    # processes in test_distributed)
    cfg = resolve("detector", epochs=2, sets=QUICK)
    full = tmp_path / "full"
    metrics = train(cfg, toy_contest, full, cache_dir=cache)
    # whole voice groups are held out, and validation is scored with the contest score
    assert metrics["n_train"] + metrics["n_val"] == 40 and metrics["n_val"] >= 2
    for key in ("val_score", "uncalibrated_val_score", "temperature_fake", "temperature_real"):
        assert np.isfinite(metrics[key]), key
    assert metrics["temperature_fake"] > 0 and metrics["noise_pieces"] > 0
    model, _ = load_model(full)
    assert torch.allclose(
        model.temperature, torch.tensor([metrics["temperature_fake"], metrics["temperature_real"]])
    )


@pytest.mark.slow
def test_detector_learns_the_task(toy_contest, toy_detector, tmp_path) -> None:
    # on the toy voices (fakes steadier and brighter than reals) a detector trained on
    # scenes must rank the toy test scenes well above chance, and beat the prior's score
    # (4 x 20 steps: with 8 fake clusters held out the toy trains on fewer voice kinds)
    out = tmp_path / "sub.csv"
    predict(toy_detector, [toy_contest], out)
    answer = pd.read_csv(toy_contest / "test_answer.csv", dtype={"id": str})
    s, _ = score_frames(answer, pd.read_csv(out, dtype={"id": str}))
    assert s.auc > 0.75, s
    assert s.score < 0.25, s
    history = json.loads((toy_detector / "metrics.json").read_text())["history"]
    assert history[-1]["loss"] < history[0]["loss"]


def test_detector_scores_the_genuine_contest_clips(toy_contest, tmp_path, cache, contest_fixtures):
    # the options off by default are exercised here: Platt calibration, coarse fake
    # clusters for the validation split, lossy codecs in the scenes
    extra = ["calibration=platt", "fake_clusters=2", "scenes.p_codec=0.5"]
    cfg = resolve("detector", epochs=1, sets=[*QUICK, *extra])
    run = tmp_path / "run"
    metrics = train(cfg, toy_contest, run, cache_dir=cache)
    model, _ = load_model(run)
    assert torch.allclose(model.bias, torch.tensor([metrics["bias_fake"], metrics["bias_real"]]))
    out = tmp_path / "fixtures.csv"
    res = predict(run, [contest_fixtures], out)
    sub = pd.read_csv(out)
    assert res.n_ok == len(sub) == 2
    assert sub[["fake", "real"]].notna().all().all()
    assert ((sub[["fake", "real"]] >= 0) & (sub[["fake", "real"]] <= 1)).all().all()


def test_scene_workers_do_not_change_the_result(toy_contest, tmp_path, cache) -> None:
    runs = {}
    for workers in (0, 2):
        cfg = resolve("detector", epochs=1, sets=[*QUICK, f"scene_workers={workers}"])
        train(cfg, toy_contest, tmp_path / str(workers), cache_dir=cache)
        runs[workers] = _weights(tmp_path / str(workers))
    assert all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])
