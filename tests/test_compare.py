from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakevoice.cli import main
from fakevoice.compare import breakdown_groups, compare, generator_flags, subset_scores
from fakevoice.metric import score_arrays


def test_subset_scores_match_the_contest_score_when_defined() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (50, 2)).astype(float)
    p = rng.uniform(size=(50, 2))
    s = subset_scores(y, p)
    assert s["score"] == pytest.approx(score_arrays(y, p).score)


def test_subset_scores_report_what_is_defined_without_auc() -> None:
    y = np.zeros((6, 2))  # clips with no voice: both columns hold one class
    p = np.full((6, 2), 0.5)
    s = subset_scores(y, p)
    assert math.isnan(s["auc"]) and math.isnan(s["score"])
    assert s["brier"] == pytest.approx(0.25) and s["ece"] == pytest.approx(0.5)


def test_generator_flags_from_per_voice_columns() -> None:
    meta = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "n_voices": [0, 1, 2, 2],
            "v1_seen_generator": [None, 1, 1, None],
            "v2_seen_generator": [None, None, 0, None],
            "snr_db": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert list(generator_flags(meta)) == ["none", "seen", "unseen", "none"]
    groups = {(by, v): list(mask) for by, v, mask in breakdown_groups(meta)}
    assert groups[("n_voices", "2")] == [False, False, True, True]
    assert groups[("fake_generator", "unseen")] == [True, False, True, True]
    assert generator_flags(meta.drop(columns=["v1_seen_generator", "v2_seen_generator"])) is None


def test_compare_writes_leaderboard_and_breakdown(toy_contest: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_contest, data)
    answer = pd.read_csv(data / "test_answer.csv")
    meta = pd.DataFrame(
        {
            "id": answer["id"],
            "n_voices": answer["fake"] + answer["real"],
            "v1_seen_generator": np.where(answer["fake"] == 1, answer.index % 3 == 0, None),
        }
    )
    meta.to_csv(data / "test_meta.csv", index=False)
    out = tmp_path / "cmp"
    res = compare(data, ["prior", "mfcc-mlp", "mel-cnn"], out, epochs=1)
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["model"]) == {"prior", "mfcc-mlp", "mel-cnn"}
    assert list(board["score"]) == sorted(board["score"])
    assert board[["score", "auc", "brier", "ece", "val_accuracy"]].notna().all().all()
    prior = board.set_index("model").loc["prior"]
    assert prior["auc"] == pytest.approx(0.5)
    assert (out / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "leaderboard.md").read_text()
    assert "| model |" in md and "Breakdown" in md
    bd = pd.read_csv(out / "breakdown.csv")
    assert set(bd["by"]) == {"n_voices", "fake_generator"}
    unseen = bd[(bd["by"] == "fake_generator") & (bd["value"] == "unseen")]
    assert unseen["auc_fake"].notna().all()
    zero = bd[(bd["by"] == "n_voices") & (bd["value"].astype(str) == "0")]
    assert len(zero) == 3 and zero["score"].isna().all() and zero["brier"].notna().all()
    two = bd[(bd["by"] == "n_voices") & (bd["value"].astype(str) == "2")]
    assert two["brier"].notna().all()
    assert res.breakdown is not None and len(res.files) == 4
    # A second compare reuses the finished runs instead of training again.
    before = (out / "runs" / "mel-cnn" / "model.pt").stat().st_mtime_ns
    compare(data, ["mel-cnn"], out, epochs=1)
    assert (out / "runs" / "mel-cnn" / "model.pt").stat().st_mtime_ns == before
    # finished runs stand under labels of their own: variants of one model side by side
    run = out / "runs" / "mel-cnn"
    res = compare(data, ["prior"], tmp_path / "cmp2", runs={"mel-cnn": run, "mel-cnn-b": run})
    rows = res.leaderboard.set_index("model")
    assert set(rows.index) == {"prior", "mel-cnn", "mel-cnn-b"}
    assert rows.loc["mel-cnn", "score"] == rows.loc["mel-cnn-b", "score"]


def test_compare_cli_without_answer_still_ranks_validation(
    toy_contest: Path, tmp_path: Path, capsys
) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_contest, data)
    (data / "test_answer.csv").unlink()
    out = tmp_path / "cmp"
    code = main(
        ["compare", str(data), "--models", "prior,mfcc-mlp", "--out", str(out), "--epochs", "1"]
    )
    assert code == 0
    board = pd.read_csv(out / "leaderboard.csv")
    assert board["score"].isna().all() and board["val_accuracy"].notna().all()
    assert "No test_answer.csv" in (out / "leaderboard.md").read_text()
    assert main(["compare", str(data), "--models", "nope", "--out", str(out)]) == 2
    assert "unknown model" in capsys.readouterr().err
