"""The contest score, computed exactly as the organisers did.

Score = 0.5 (1 - mean AUC) + 0.25 mean Brier + 0.25 mean ECE, means over ``fake`` and ``real``.

The ECE reproduces a quirk: per-bin means come from a binning where a probability on an
inner edge k/10 falls in the lower bin (scikit-learn's ``calibration_curve``), the bin
weights from one where it falls in the upper bin (``numpy.histogram``); empty bins are
dropped from both and the first ``len(weights)`` bin means are paired with the weights.
We compute both binnings here rather than call scikit-learn, so a change in its binning
cannot silently change our numbers; the tests compare against the organisers' code.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fakevoice.dataset import SUBMISSION_COLUMNS, TARGETS
from fakevoice.errors import SubmissionError

N_BINS = 10


def _edges(n_bins: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n_bins + 1)


def calibration_bins(
    y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = N_BINS
) -> tuple[np.ndarray, np.ndarray]:
    """Mean answer and mean probability of each non-empty bin, edges going to the lower bin."""
    ids = np.searchsorted(_edges(n_bins)[1:-1], y_prob, side="left")
    count = np.bincount(ids, minlength=n_bins)
    sum_true = np.bincount(ids, weights=y_true, minlength=n_bins)
    sum_prob = np.bincount(ids, weights=y_prob, minlength=n_bins)
    keep = count > 0
    return sum_true[keep] / count[keep], sum_prob[keep] / count[keep]


def histogram_weights(y_prob: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Share of rows in each non-empty bin, edges going to the upper bin (last bin closed)."""
    counts, _ = np.histogram(y_prob, bins=_edges(n_bins))
    return counts[counts > 0] / len(y_prob)


def expected_calibration_error(
    y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = N_BINS
) -> float:
    y_true = np.asarray(y_true, dtype=float)
    y_prob = np.asarray(y_prob, dtype=float)
    frac_true, mean_prob = calibration_bins(y_true, y_prob, n_bins)
    weights = histogram_weights(y_prob, n_bins)
    gap = np.abs(frac_true[: len(weights)] - mean_prob[: len(weights)])
    try:
        # numpy broadcasting, as in the organisers' code: one curve entry spreads over all
        # weights; other length mismatches made their scorer fail.
        return float(np.sum(weights * gap))
    except ValueError as exc:
        raise SubmissionError(
            "the organisers' ECE is undefined here: probabilities lying exactly on bin edges "
            f"give {len(gap)} calibration bins for {len(weights)} histogram bins"
        ) from exc


def combine(auc: float, brier: float, ece: float) -> float:
    """The contest's weighting of its three parts (lower is better)."""
    return 0.5 * (1.0 - auc) + 0.25 * brier + 0.25 * ece


@dataclass
class ColumnScore:
    auc: float
    brier: float
    ece: float

    @property
    def score(self) -> float:
        return combine(self.auc, self.brier, self.ece)


@dataclass
class Score:
    score: float
    auc: float
    brier: float
    ece: float
    n: int
    columns: dict[str, ColumnScore] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def column_score(
    y_true: np.ndarray, y_prob: np.ndarray, name: str = "column", *, strict: bool = True
) -> ColumnScore:
    """AUC, Brier and ECE of one column. A column holding one class has no AUC: an error,
    or with ``strict=False`` (subsets of a test set) an AUC of NaN."""
    y_true = np.asarray(y_true, dtype=float)
    y_prob = np.asarray(y_prob, dtype=float)
    one_class = len(np.unique(y_true)) < 2
    if one_class and strict:
        raise SubmissionError(f"{name}: AUC is undefined: the answer holds only one class")
    return ColumnScore(
        auc=math.nan if one_class else float(roc_auc_score(y_true, y_prob)),
        brier=float(np.mean((y_true - y_prob) ** 2)),
        ece=expected_calibration_error(y_true, y_prob),
    )


def score_arrays(answer: np.ndarray, probs: np.ndarray, names: tuple[str, ...] = TARGETS) -> Score:
    """Score (n, k) probabilities against (n, k) 0/1 answers, columns named ``names``."""
    answer = np.asarray(answer, dtype=float)
    probs = np.asarray(probs, dtype=float)
    if answer.shape != probs.shape or answer.ndim != 2 or answer.shape[1] != len(names):
        raise SubmissionError(
            f"answer shape {answer.shape} and prediction shape {probs.shape} differ"
        )
    cols = {n: column_score(answer[:, i], probs[:, i], n) for i, n in enumerate(names)}
    auc = float(np.mean([c.auc for c in cols.values()]))
    brier = float(np.mean([c.brier for c in cols.values()]))
    ece = float(np.mean([c.ece for c in cols.values()]))
    total = combine(auc, brier, ece)
    return Score(score=total, auc=auc, brier=brier, ece=ece, n=len(answer), columns=cols)


def align(
    answer: pd.DataFrame, submission: pd.DataFrame, *, by_id: bool = False
) -> tuple[pd.DataFrame, list[str]]:
    """Select the submission rows the organisers would score; return them and warnings.

    Like the organisers' check, rows whose id is not in the answer are dropped and the
    rest are paired with the answer by position. ``by_id`` pairs by id instead.
    """
    if list(submission.columns) != list(SUBMISSION_COLUMNS):
        raise SubmissionError(
            f"columns must be exactly id,fake,real, found {','.join(submission.columns)}"
        )
    if submission.isnull().to_numpy().any():
        raise SubmissionError("the submission has missing values")
    notes: list[str] = []
    answer_ids = answer["id"].astype(str)
    sub = submission[submission["id"].astype(str).isin(set(answer_ids))].reset_index(drop=True)
    dropped = len(submission) - len(sub)
    if dropped:
        notes.append(f"ignored {dropped} row(s) whose id is not in the answer")
    if sub["id"].duplicated().any():
        dup = sub.loc[sub["id"].duplicated(), "id"].tolist()[:5]
        raise SubmissionError(f"duplicate id(s) in the submission: {', '.join(dup)}")
    if len(sub) != len(answer):
        missing = sorted(set(answer_ids) - set(sub["id"]))
        raise SubmissionError(
            f"{len(missing)} id(s) of the answer are missing from the submission, "
            f"e.g. {', '.join(missing[:5])}"
        )
    if by_id:
        sub = sub.set_index("id").loc[answer_ids].reset_index()
    elif not (sub["id"].to_numpy() == answer_ids.to_numpy()).all():
        notes.append(
            "ids are not in the answer's order: the organisers pair rows by position, "
            "so this score does too (use --align-ids to pair by id)"
        )
    return sub, notes


def score_frames(
    answer: pd.DataFrame, submission: pd.DataFrame, *, by_id: bool = False
) -> tuple[Score, list[str]]:
    sub, notes = align(answer, submission, by_id=by_id)
    cols = list(TARGETS)
    return score_arrays(answer[cols].to_numpy(float), sub[cols].to_numpy(float)), notes


def constant_prior_score(answer: np.ndarray) -> Score:
    """Score of predicting each column's base rate for every row: the floor to beat."""
    answer = np.asarray(answer, dtype=float)
    return score_arrays(answer, np.broadcast_to(answer.mean(axis=0), answer.shape).copy())
