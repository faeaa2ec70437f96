"""The run report's own figures: probabilities per true combination, training curves, the
domain map, spectrogram thumbnails. Each function writes one PNG atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.atomic import atomic_path
from fakevoice.report.plots import _save, _subplots

COMBINATIONS = (
    ((0, 0), "no voice"),
    ((1, 0), "fake only"),
    ((0, 1), "real only"),
    ((1, 1), "fake + real"),
)
DOMAIN_STYLE = {
    "train real": ("C2", "o"),
    "train fake": ("C3", "o"),
    "validation scenes": ("C1", "^"),
    "unlabeled": ("C7", "s"),
    "test": ("C0", "x"),
}


def combination_histograms(answer: np.ndarray, probs: np.ndarray, path: Path) -> tuple[Path, dict]:
    """Per column, the predicted probability for each true (fake, real) combination; returns
    the figure and the counts drawn (20 bins over [0, 1])."""
    bins = np.linspace(0, 1, 21)
    fig, axes = _subplots(1, 2, (9, 3.4))
    counts: dict[str, dict[str, list[int]]] = {}
    for j, col in enumerate(("fake", "real")):
        ax = axes[0, j]
        counts[col] = {}
        for k, ((f, r), name) in enumerate(COMBINATIONS):
            mask = (answer[:, 0] == f) & (answer[:, 1] == r)
            if not mask.any():
                continue
            h, _ = np.histogram(probs[mask, j], bins=bins)
            counts[col][name] = h.tolist()
            ax.stairs(h, bins, color=f"C{k}", label=f"{name} (n={int(mask.sum())})", lw=1.5)
        ax.set_title(f"predicted {col}")
        ax.set_xlabel("probability")
        ax.set_ylabel("clips")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path), {"bins": bins.tolist(), "counts": counts}


def probability_histograms(probs: np.ndarray, path: Path) -> tuple[Path, dict]:
    """Without answers: where the predicted probabilities fall, per column."""
    bins = np.linspace(0, 1, 21)
    fig, axes = _subplots(1, 2, (9, 3.2))
    counts = {}
    for j, col in enumerate(("fake", "real")):
        h, _ = np.histogram(probs[:, j], bins=bins)
        counts[col] = h.tolist()
        axes[0, j].stairs(h, bins, fill=True, alpha=0.6, color=f"C{j}")
        axes[0, j].set_title(f"predicted {col} (n={len(probs)})")
        axes[0, j].set_xlabel("probability")
    fig.tight_layout()
    return _save(fig, path), {"bins": bins.tolist(), "counts": counts}


def training_curves(history: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Loss and validation figures per epoch, stages one after another."""
    fig, axes = _subplots(1, 2, (10, 3.4))
    x = np.arange(1, len(history) + 1)
    loss = [float(r.get("loss", np.nan)) for r in history]
    axes[0, 0].plot(x, loss, marker=".", color="C0")
    axes[0, 0].set_title("training loss")
    keys = [
        k
        for k in ("val_score", "val_auc", "val_brier", "val_ece", "val_accuracy")
        if any(k in r for r in history)
    ]
    for i, k in enumerate(keys):
        axes[0, 1].plot(
            x, [float(r.get(k, np.nan)) for r in history], marker=".", color=f"C{i}", label=k
        )
    axes[0, 1].set_title("validation per epoch")
    if keys:
        axes[0, 1].legend(fontsize=7)
    stages = [str(r.get("stage", "")) for r in history]
    for ax in axes[0]:
        ax.set_xlabel("epoch (all stages)")
        for e in range(1, len(stages)):
            if stages[e] != stages[e - 1]:
                ax.axvline(e + 0.5, color="grey", lw=0.8, ls=":")
    fig.tight_layout()
    return _save(fig, path)


def pca(
    groups: Mapping[str, np.ndarray], dims: int = 2
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Every group projected on the first principal axes of all of them together (each
    feature standardised); returns the points and the share of variance of each axis."""
    names = [k for k, v in groups.items() if len(v)]
    if not names:
        return {}, []
    allx = np.concatenate([np.asarray(groups[k], np.float64) for k in names])
    mu, sd = allx.mean(0), allx.std(0) + 1e-8
    z = (allx - mu) / sd
    _, s, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    share = (s**2 / max(float((s**2).sum()), 1e-12))[:dims]
    out, at = {}, 0
    for k in names:
        n = len(groups[k])
        out[k] = (z[at : at + n] - z.mean(0)) @ vt[:dims].T
        at += n
    return out, [float(v) for v in share]


def domain_map(points: Mapping[str, np.ndarray], share: Sequence[float], path: Path) -> Path:
    fig, axs = _subplots(1, 1, (6.4, 5.2))
    ax = axs[0, 0]
    # the target set first, so the smaller sets drawn over it stay visible
    names = sorted(points, key=lambda k: k != "test")
    for i, name in enumerate(names):
        xy = points[name]
        colour, marker = DOMAIN_STYLE.get(name, (f"C{i}", "."))
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=10,
            alpha=0.55,
            color=colour,
            marker=marker,
            label=f"{name} (n={len(xy)})",
        )
    ax.set_xlabel(f"PC 1 ({100 * share[0]:.0f} % of variance)" if share else "PC 1")
    ax.set_ylabel(f"PC 2 ({100 * share[1]:.0f} % of variance)" if len(share) > 1 else "PC 2")
    ax.set_title("the model's embeddings, one map for every set")
    ax.legend(fontsize=7, markerscale=1.5)
    fig.tight_layout()
    return _save(fig, path)


def spectrogram_thumb(x: np.ndarray, sr: int, path: Path, title: str = "") -> Path:
    """A small log-power spectrogram (0 to sr/2) of one clip."""
    from scipy.signal import spectrogram

    x = np.asarray(x, np.float64)
    if len(x) < 512:
        x = np.pad(x, (0, 512 - len(x)))
    f, t, sxx = spectrogram(x, fs=sr, nperseg=512, noverlap=384)
    db = 10 * np.log10(sxx + 1e-10)
    fig, axs = _subplots(1, 1, (2.6, 1.3))
    ax = axs[0, 0]
    ax.pcolormesh(t, f / 1000, db, shading="auto", cmap="magma", vmin=db.max() - 80, vmax=db.max())
    ax.set_xticks([])
    ax.set_yticks([0, sr / 4000, sr / 2000])
    ax.tick_params(labelsize=5)
    if title:
        ax.set_title(title, fontsize=6)
    fig.subplots_adjust(left=0.12, right=0.99, bottom=0.04, top=0.85 if title else 0.98)
    # no tight bounding box: thumbnails keep one size, so a gallery lines up
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    return path
