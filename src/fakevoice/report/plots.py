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
    answers: dict[str, np.ndarray], probs: dict[str, np.ndarray], path: Path, title: str = ""
) -> Path:
    """Per column: mean answer against mean probability in the contest's 10 bins, with counts.

    The bins are the ones the contest ECE uses, so the gaps drawn are the ones it charges.
    """
    cols = list(answers)
    fig, axes = _subplots(
        2,
        len(cols),
        (4.2 * len(cols), 6),
        gridspec_kw={"height_ratios": [3, 1]},
        sharex=True,
    )
    for j, col in enumerate(cols):
        y, p = np.asarray(answers[col], float), np.asarray(probs[col], float)
        frac, mean = calibration_bins(y, p, N_BINS)
        ax = axes[0, j]
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
        ax.plot(mean, frac, marker="o", color="C0", label="model")
        for m, f in zip(mean, frac, strict=True):
            ax.plot([m, m], [m, f], color="C3", lw=1, alpha=0.7)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{col}: reliability")
        ax.set_ylabel("fraction with a " + col + " voice")
        if j == 0:
            ax.legend(loc="upper left", fontsize=8)
        counts, _ = np.histogram(p, bins=np.linspace(0, 1, N_BINS + 1))
        axes[1, j].bar(np.linspace(0.05, 0.95, N_BINS), counts, width=0.09, color="C0", alpha=0.6)
        axes[1, j].set_xlabel("predicted probability")
        axes[1, j].set_ylabel("clips")
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
    """Score per group (e.g. number of voices), with the group sizes on the bars."""
    fig, axs = _subplots(1, 1, (max(4, 0.9 * len(table) + 2), 3.5))
    ax = axs[0, 0]
    labels = [f"{r['by']}={r['value']}" for r in table]
    values = [r["score"] if r["score"] is not None else np.nan for r in table]
    bars = ax.bar(range(len(table)), values, color="C2")
    for b, r in zip(bars, table, strict=True):
        ax.text(
            b.get_x() + b.get_width() / 2,
            b.get_height(),
            f"n={r['n']}",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(range(len(table)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("score (lower is better)")
    ax.set_title(title or "score by group")
    fig.tight_layout()
    return _save(fig, path)
