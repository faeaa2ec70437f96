"""The scene-trained detector end to end on the toy contest: it trains, resumes exactly,
calibrates, learns the task, and predicts on any input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from fakevoice.errors import FakevoiceError
from fakevoice.metric import score_frames
from fakevoice.predict import Predictor, predict
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
    # the voice-activity gate was chosen on the validation scenes: kept only if it helped
    with_gate, without = metrics["val_score_gated"], metrics["val_score_ungated"]
    assert metrics["vad_gate_used"] == (with_gate < without)
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


def _scenes(speech: list[float], target: list[list[float]]) -> SimpleNamespace:
    return SimpleNamespace(
        val_speech=np.asarray(speech), val_y=np.asarray(target, dtype=np.float32)
    )


class _Fixed:
    """A presence model whose validation probabilities are given."""

    head = "presence"

    def __init__(self, probs: list[list[float]]) -> None:
        self.probs = torch.tensor(probs, dtype=torch.float64)

    def probabilities(self, logits):
        return self.probs


def test_the_gate_is_kept_only_where_it_lowers_the_validation_score(monkeypatch) -> None:
    from fakevoice.train import scenes_data

    monkeypatch.setattr(scenes_data, "validation_logits", lambda model, data: None)
    cfg = resolve("detector")
    assert cfg.gate_mode == "auto"
    # silent scenes the model called voiced: the gate mends them
    target = [[0, 0], [0, 0], [1, 0], [0, 1], [1, 1], [0, 1]]
    probs = [[0.83, 0.72], [0.64, 0.91], [0.93, 0.22], [0.12, 0.84], [0.73, 0.66], [0.31, 0.64]]
    helps = _scenes([0.1, 0.2, 0.9, 0.9, 0.8, 0.9], target)
    chosen = scenes_data.choose_gate(_Fixed(probs), helps, cfg)
    assert chosen["vad_gate_used"] and chosen["val_score_gated"] < chosen["val_score_ungated"]
    # voiced scenes the voice activity missed: the gate would silence them
    hurts = _scenes([0.9, 0.9, 0.1, 0.2, 0.1, 0.9], target)
    probs = [[0.11, 0.05], [0.05, 0.12], [0.93, 0.22], [0.12, 0.84], [0.73, 0.66], [0.31, 0.64]]
    chosen = scenes_data.choose_gate(_Fixed(probs), hurts, cfg)
    assert not chosen["vad_gate_used"]
    assert chosen["val_score_gated"] > chosen["val_score_ungated"]
    # configured: no scores needed, none looked at
    for word, used in (("on", True), ("true", True), ("off", False), ("false", False)):
        fixed = resolve("detector", sets=[f"vad_gate={word}"])
        assert scenes_data.choose_gate(_Fixed(probs), hurts, fixed) == {"vad_gate_used": used}
    with pytest.raises(FakevoiceError, match="vad_gate must be one of auto, on, off"):
        resolve("detector", sets=["vad_gate=maybe"])


def _counting(calls: list[int], fn):
    def counted(waves, lengths, **kw):
        calls.append(len(waves))
        return fn(waves, lengths, **kw)

    return counted


def test_prediction_without_the_gate_runs_no_voice_activity(toy_detector, tmp_path, monkeypatch):
    import fakevoice.vad

    run = tmp_path / "run"
    shutil.copytree(toy_detector, run)
    metrics = json.loads((run / "metrics.json").read_text())
    real = fakevoice.vad.window_scores
    for used in (True, False):
        metrics["vad_gate_used"] = used
        (run / "metrics.json").write_text(json.dumps(metrics))
        calls: list[int] = []
        monkeypatch.setattr(fakevoice.vad, "window_scores", _counting(calls, real))
        pred = Predictor(run)
        assert pred.gated is used
        wave = np.zeros((3, pred.cfg.clip_samples), np.float32)
        probs = pred.score_windows(wave, np.full(3, pred.cfg.clip_samples))
        assert probs.shape == (3, 2) and bool(calls) is used
