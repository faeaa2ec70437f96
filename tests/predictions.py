"""Comparing two prediction files: the same ids in the same order, and probabilities
within a float32 rounding. torch's float32 kernels depend on how the windows were
batched at the last bit on some CPUs (measured on this project's machine: 6e-8 between
batches of 8 and of 64), and a resumed run batches its remaining files afresh, so equal
bytes are not the promise; the same answers to well within the printed precision are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fakevoice.dataset import read_submission

ROUNDING = 1e-6


def probabilities(path: Path) -> dict[str, np.ndarray]:
    sub = read_submission(path)
    return {
        i: np.array([f, r]) for i, f, r in zip(sub["id"], sub["fake"], sub["real"], strict=True)
    }


def max_gap(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert list(a) == list(b)  # same ids, same order
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def assert_same_predictions(a: Path, b: Path, tol: float = ROUNDING) -> None:
    gap = max_gap(probabilities(a), probabilities(b))
    assert gap <= tol, f"{a} and {b} differ by up to {gap}"
