"""The contest score against hand-worked cases and the organisers' own computation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import mean_squared_error, roc_auc_score

from fakevoice.cli import main
from fakevoice.errors import SubmissionError
from fakevoice.metric import (
    constant_prior_score,
    expected_calibration_error,
    score_arrays,
    score_frames,
)


def organisers_ece(y_true, y_prob, n_bins=10):
    """The organisers' ECE, written as they wrote it (scikit-learn + numpy)."""
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy="uniform")
    bin_totals = np.histogram(y_prob, bins=np.linspace(0, 1, n_bins + 1), density=False)[0]
    non_empty_bins = bin_totals > 0
    bin_weights = bin_totals / len(y_prob)
    bin_weights = bin_weights[non_empty_bins]
    prob_true = prob_true[: len(bin_weights)]
    prob_pred = prob_pred[: len(bin_weights)]
    return np.sum(bin_weights * np.abs(prob_true - prob_pred))


def organisers_score(answer_df: pd.DataFrame, submission_df: pd.DataFrame) -> float:
    submission_df = submission_df[submission_df.iloc[:, 0].isin(answer_df.iloc[:, 0])]
    submission_df.index = range(submission_df.shape[0])
    aucs, briers, eces = [], [], []
    for column in answer_df.columns[1:]:
        y_true = answer_df[column].values
        y_prob = submission_df[column].values
        aucs.append(roc_auc_score(y_true, y_prob))
        briers.append(mean_squared_error(y_true, y_prob))
        eces.append(organisers_ece(y_true, y_prob))
    return 0.5 * (1 - np.mean(aucs)) + 0.25 * np.mean(briers) + 0.25 * np.mean(eces)


def frame(ids, fake, real) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "fake": fake, "real": real})


def test_hand_worked_ece() -> None:
    # Bins: [0.0,0.1): p=0.05 y=0 -> gap 0.05, weight 1/4 ; [0.9,1.0]: p=0.95,0.95,0.95
    # y=1,1,0 -> mean y 2/3, gap |0.6667-0.95| = 0.28333, weight 3/4.
    y = np.array([0, 1, 1, 0])
    p = np.array([0.05, 0.95, 0.95, 0.95])
    assert expected_calibration_error(y, p) == pytest.approx(0.25 * 0.05 + 0.75 * (0.95 - 2 / 3))


def test_hand_worked_score() -> None:
    ans = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    prob = np.array([[0.8, 0.3], [0.3, 0.6], [0.6, 0.7], [0.2, 0.4]])
    s = score_arrays(ans, prob)
    # fake: AUC 1; Brier (0.04+0.09+0.16+0.04)/4 = 0.0825; ECE: bins 2 (0.2,y0),3 (0.3,y0),
    # 6 (0.6,y1),8 (0.8,y1): (0.2+0.3+0.4+0.2)/4 = 0.275
    # real: AUC 1; Brier (0.09+0.16+0.09+0.16)/4 = 0.125; ECE (0.3+0.4+0.4+0.3)/4 = 0.35
    assert s.columns["fake"].auc == 1.0 and s.columns["real"].auc == 1.0
    assert s.columns["fake"].brier == pytest.approx(0.0825)
    assert s.columns["fake"].ece == pytest.approx(0.275)
    assert s.columns["real"].ece == pytest.approx(0.35)
    assert s.score == pytest.approx(0.25 * (0.0825 + 0.125) / 2 + 0.25 * (0.275 + 0.35) / 2)


@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_organisers_on_random_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    ans = rng.integers(0, 2, size=(n, 2))
    ans[0], ans[1] = [0, 0], [1, 1]
    if seed % 3 == 0:  # rounded probabilities: many values sit exactly on bin edges
        prob = np.round(rng.uniform(0, 1, size=(n, 2)), 1)
        prob[:, 1] = np.clip(prob[:, 1], 0.3, 1.0)
    elif seed % 3 == 1:
        prob = rng.beta(0.5, 0.5, size=(n, 2))
    else:
        prob = np.clip(ans + rng.normal(0, 0.4, size=(n, 2)), 0, 1)
    ids = [f"TEST_{i:05d}" for i in range(n)]
    answer = frame(ids, ans[:, 0], ans[:, 1])
    sub = frame(ids, prob[:, 0], prob[:, 1])
    try:
        expected = organisers_score(answer, sub)
    except ValueError:  # their ECE fails on some edge layouts; so must ours
        with pytest.raises(SubmissionError):
            score_frames(answer, sub)
        return
    got, _ = score_frames(answer, sub)
    assert abs(got.score - expected) < 1e-9


def test_probabilities_on_bin_edges_follow_the_organisers_quirk() -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.1, 0.1, 0.15, 0.2, 0.2])  # curve: bins 0,1 ; histogram: bins 1,2
    assert expected_calibration_error(y, p) == pytest.approx(organisers_ece(y, p), abs=1e-12)
    # one curve bin against two histogram bins broadcasts in their code: so in ours
    p2 = np.array([0.05, 0.1, 0.05, 0.1, 0.1])
    assert expected_calibration_error(y, p2) == pytest.approx(organisers_ece(y, p2), abs=1e-12)


def test_edge_layout_that_breaks_the_organisers_code_is_refused() -> None:
    y = np.array([0, 1, 0])
    p = np.array([0.05, 0.1, 0.5])  # curve 2 bins, histogram 3 bins
    with pytest.raises(ValueError):
        organisers_ece(y, p)
    with pytest.raises(SubmissionError, match="bin edges"):
        expected_calibration_error(y, p)


def test_constant_predictions() -> None:
    ans = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]], dtype=float)
    half = score_arrays(ans, np.full(ans.shape, 0.5))
    # task.md: constant 0.5 scores 0.5*(1-0.5) + 0.25*0.25 + 0.25*ECE
    ece = np.mean([abs(ans[:, 0].mean() - 0.5), abs(ans[:, 1].mean() - 0.5)])
    assert half.score == pytest.approx(0.25 + 0.0625 + 0.25 * ece)
    prior = constant_prior_score(ans)
    assert prior.auc == 0.5 and prior.ece == pytest.approx(0.0)
    assert prior.brier == pytest.approx(np.mean(ans.mean(0) * (1 - ans.mean(0))))


def test_extra_rows_and_shuffled_ids_match_the_organisers() -> None:
    rng = np.random.default_rng(1)
    n = 50
    ids = [f"TEST_{i:05d}" for i in range(n)]
    ans = rng.integers(0, 2, size=(n, 2))
    ans[0], ans[1] = [0, 0], [1, 1]
    answer = frame(ids, ans[:, 0], ans[:, 1])
    prob = rng.uniform(0.01, 0.99, size=(n, 2))
    sub = frame(ids, prob[:, 0], prob[:, 1])
    extra = frame(["EXTRA_1", "EXTRA_2"], [0.3, 0.4], [0.5, 0.6])
    shuffled = pd.concat([extra, sub.sample(frac=1, random_state=3)], ignore_index=True)
    got, notes = score_frames(answer, shuffled)
    assert abs(got.score - organisers_score(answer, shuffled)) < 1e-9
    assert any("not in the answer" in n for n in notes)
    assert any("pair rows by position" in n for n in notes)
    aligned, _ = score_frames(answer, shuffled, by_id=True)
    assert abs(aligned.score - organisers_score(answer, sub)) < 1e-9


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


ANSWER = "id,fake,real\nA,1,0\nB,0,1\nC,1,1\nD,0,0\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("id,fake,real\nA,0.5,0.5\nB,nan,0.5\nC,0.5,0.5\nD,0.5,0.5\n", "missing value"),
        ("id,fake\nA,0.5\nB,0.5\nC,0.5\nD,0.5\n", "columns must be exactly id,fake,real"),
        ("id,fake,real,extra\nA,0.5,0.5,1\nB,0.5,0.5,1\nC,.5,.5,1\nD,.5,.5,1\n", "columns must be"),
        ("id,fake,real\nA,0.5,0.5\nB,0.5,0.5\nC,0.5,0.5\n", "missing from the submission"),
        ("id,fake,real\nA,0.5,0.5\nB,abc,0.5\nC,0.5,0.5\nD,0.5,0.5\n", "non-numeric"),
        ("id,fake,real\nA,1.5,0.5\nB,0.5,0.5\nC,0.5,0.5\nD,0.5,0.5\n", "outside [0, 1]"),
        ("id,fake,real\nA,.5,.5\nB,.5,.5\nC,.5,.5\nD,.5,.5\nD,.5,.5\n", "duplicate id"),
    ],
)
def test_bad_submissions_exit_2_with_one_line(tmp_path, capsys, body, reason) -> None:
    answer = write(tmp_path, "answer.csv", ANSWER)
    sub = write(tmp_path, "sub.csv", body)
    assert main(["score", str(answer), str(sub)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0], err


def test_score_cli_json_and_table(tmp_path, capsys) -> None:
    answer = write(tmp_path, "answer.csv", ANSWER)
    sub = write(tmp_path, "sub.csv", "id,fake,real\nA,0.9,0.2\nB,0.2,0.8\nC,0.7,0.7\nD,0.1,0.3\n")
    assert main(["score", str(answer), str(sub), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"score", "auc", "brier", "ece"} <= set(out)
    expected = organisers_score(pd.read_csv(answer), pd.read_csv(sub))
    assert abs(out["score"] - expected) < 1e-9
    assert main(["score", str(answer), str(sub)]) == 0
    table = capsys.readouterr().out
    assert "AUC" in table and "fake" in table and "real" in table
