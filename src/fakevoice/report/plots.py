"""Figures people would rather see than read. Every function writes one PNG atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from fakevoice.atomic import atomic_path
from fakevoice.metric import N_BINS, calibration_bins


def _save(fig: Figure, path: Path) -> Path:
    # Figure without pyplot: no global backend or figure registry to leak between calls.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return path


def _subplots(
    nrows: int, ncols: int, figsize: tuple[float, float], **kw
) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def reliability_diagram(
    answers: dict[str, np.ndarray],
    probs: dict[str, np.ndarray],
    path: Path,
    title: str = "",
    before: dict[str, np.ndarray] | None = None,
) -> Path:
    """Per column: mean answer against mean probability in the contest's 10 bins, with counts.

    The bins are the ones the contest ECE uses, so the gaps drawn are the ones it charges.
    With ``before`` (the probabilities before calibration) both are drawn, side by side.
    """
    cols = list(answers)
    fig, axes = _subplots(
        2,
        len(cols),
        (4.2 * len(cols), 6),
        gridspec_kw={"height_ratios": [3, 1]},
        sharex=True,
    )
    centres = np.linspace(0.05, 0.95, N_BINS)
    for j, col in enumerate(cols):
        y = np.asarray(answers[col], float)
        ax = axes[0, j]
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
        series = [("calibrated" if before is not None else "model", probs[col], "C0")]
        if before is not None:
            series.insert(0, ("before calibration", before[col], "C1"))
        width = 0.09 / len(series)
        for s_i, (label, p, colour) in enumerate(series):
            p = np.asarray(p, float)
            frac, mean = calibration_bins(y, p, N_BINS)
            ax.plot(mean, frac, marker="o", color=colour, label=label)
            for m, f in zip(mean, frac, strict=True):
                ax.plot([m, m], [m, f], color=colour, lw=1, alpha=0.5)
            counts, _ = np.histogram(p, bins=np.linspace(0, 1, N_BINS + 1))
            offset = (s_i - (len(series) - 1) / 2) * width
            axes[1, j].bar(centres + offset, counts, width=width, color=colour, alpha=0.7)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{col}: reliability")
        ax.set_ylabel("fraction with a " + col + " voice")
        if j == 0:
            ax.legend(loc="upper left", fontsize=8)
        axes[1, j].set_xlabel("predicted probability")
        axes[1, j].set_ylabel("clips per bin")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def roc_curves(
    answers: dict[str, np.ndarray],
    probs: dict[str, np.ndarray],
    aucs: dict[str, float],
    path: Path,
    title: str = "",
) -> Path:
    fig, axs = _subplots(1, 1, (5, 5))
    ax = axs[0, 0]
    for i, col in enumerate(answers):
        fpr, tpr, _ = roc_curve(np.asarray(answers[col]), np.asarray(probs[col]))
        ax.plot(fpr, tpr, color=f"C{i}", label=f"{col} (AUC {aucs[col]:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title or "ROC")
    ax.legend(loc="lower right")
    return _save(fig, path)


def histograms(answers: dict[str, np.ndarray], probs: dict[str, np.ndarray], path: Path) -> Path:
    """Predicted probability split by the true answer: how well the classes separate."""
    cols = list(answers)
    fig, axes = _subplots(1, len(cols), (4.2 * len(cols), 3.2))
    bins = np.linspace(0, 1, 21)
    for j, col in enumerate(cols):
        y, p = np.asarray(answers[col]), np.asarray(probs[col])
        ax = axes[0, j]
        ax.hist(p[y == 0], bins=bins, alpha=0.6, label=f"no {col} voice", color="C0")
        ax.hist(p[y == 1], bins=bins, alpha=0.6, label=f"{col} voice present", color="C1")
        ax.set_title(f"{col}: predicted probability")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def breakdown_bars(table: list[dict], path: Path, title: str = "") -> Path:
    """Score per group (e.g. number of voices) with its clip count, and the constant
    prior's score on the same clips as a black tick (``prior_score``) when given.

    Where the score is undefined (a column holds one class in the group, so AUC is), the
    group gets its Brier and ECE, hatched, and says so, instead of no bar at all.
    """
    fig, axs = _subplots(1, 1, (max(4, 0.9 * len(table) + 2), 3.8))
    ax = axs[0, 0]
    labels = [f"{r['by']}={r['value']}" for r in table]
    prior_drawn = undefined_drawn = False
    for i, r in enumerate(table):
        score = r.get("score")
        n = int(r["n"])
        if score is not None and np.isfinite(score):
            ax.bar(i, score, color="C2", width=0.7)
            top, text = score, f"n={n}"
        else:
            brier, ece = float(r.get("brier", np.nan)), float(r.get("ece", np.nan))
            kw = {"width": 0.33, "hatch": "//", "edgecolor": "0.3"}
            ax.bar(i - 0.17, brier, color="C0", label=None if undefined_drawn else "Brier", **kw)
            ax.bar(i + 0.17, ece, color="C1", label=None if undefined_drawn else "ECE", **kw)
            undefined_drawn = True
            top = np.nanmax([brier, ece, 0.0])
            text = f"n={n}\nAUC undefined:\nBrier, ECE"
        ax.text(i, top, text, ha="center", va="bottom", fontsize=7)
        prior = r.get("prior_score")
        if prior is not None and np.isfinite(prior):
            label = None if prior_drawn else "constant prior"
            ax.hlines(prior, i - 0.4, i + 0.4, colors="k", linewidth=2, label=label)
            prior_drawn = True
    ax.set_xticks(range(len(table)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("score (lower is better)")
    ax.set_title(title or "score by group")
    if prior_drawn or undefined_drawn:
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the legend above the ticks
        ax.legend(fontsize=7, loc="upper right", ncol=3)
    fig.tight_layout()
    return _save(fig, path)
