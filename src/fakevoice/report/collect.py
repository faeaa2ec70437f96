"""What a run report reads: the files to describe, and the run's outputs on them.

DATA is a contest folder (``test.csv``, with ``test_answer.csv`` / ``test_meta.csv``
when answers exist, ``train.csv``, ``unlabeled.csv``) or, for a user's own recordings,
a folder or list of audio files with no answers. Each set is run through the model once
(:meth:`fakevoice.predict.Predictor.describe`): calibrated and uncalibrated probabilities
and the embedding per file. Train and unlabeled clips are drawn as a seeded sample: a map
and a gallery need hundreds, not thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fakevoice.dataset import TARGETS, load_contest
from fakevoice.errors import DataError, FakevoiceError
from fakevoice.predict import Predictor, collect_inputs
from fakevoice.progress import progress
from fakevoice.seeding import rng


@dataclass
class Described:
    """One set of files through the model; rows align with ``ids``."""

    name: str
    ids: list[str]
    paths: list[Path]
    probs: np.ndarray  # (N, 2) calibrated, as predict writes them
    raw: np.ndarray  # (N, 2) before calibration
    embedding: np.ndarray  # (N, D)
    labels: list[str] | None = None  # train: real/fake per file
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ReportInputs:
    """The target set (``test``: the contest test split or the given files) and the sets
    it is compared with, plus answers and meta when DATA has them."""

    test_ids: list[str]
    test_paths: list[Path]
    answer: pd.DataFrame | None = None
    meta: pd.DataFrame | None = None
    train: pd.DataFrame | None = None  # id, path, label
    unlabeled: list[Path] = field(default_factory=list)
    contest: bool = False


def resolve_inputs(data: Sequence[str | Path], train_data: str | Path | None) -> ReportInputs:
    """Read DATA (a contest folder, a folder of audio, or files) and the optional folder
    whose ``train.csv`` gives the training clips for the domain map."""
    missing = [str(d) for d in data if not Path(d).exists()]
    if missing:
        raise FakevoiceError(f"{missing[0]}: not found (DATA is a folder or audio files)")
    items = collect_inputs(data)
    out = ReportInputs(items.ids, items.paths, contest=items.contest)
    root = Path(data[0]) if items.contest else None
    here = load_contest(root, check_files=False) if root is not None else None
    if here is not None and here.answer is not None:
        answer = here.answer.set_index("id")
        missing = [i for i in items.ids if i not in answer.index]
        if missing:
            raise DataError(
                root / "test_answer.csv", [f"no answer for {len(missing)} id(s), e.g. {missing[0]}"]
            )
        out.answer = answer.loc[items.ids, list(TARGETS)].reset_index()
        out.meta = here.meta
    source = load_contest(train_data, check_files=False) if train_data is not None else here
    if source is not None:
        if source.train is not None:
            out.train = source.train[["id", "path", "label"]].reset_index(drop=True)
        out.unlabeled = list(source.unlabeled)
    return out


def sample(n_total: int, n: int, seed: int, name: str) -> np.ndarray:
    """A seeded, sorted sample of at most ``n`` of ``n_total`` indices."""
    if n_total <= n:
        return np.arange(n_total)
    return np.sort(rng(seed, "report-sample", name).choice(n_total, n, replace=False))


def describe(
    predictor: Predictor,
    name: str,
    ids: Sequence[str],
    paths: Sequence[Path],
    labels: Sequence[str] | None = None,
) -> Described:
    """Run ``paths`` through the model once; files that fail are listed, not fatal."""
    n = len(paths)
    dim = 0
    rows: dict[int, dict[str, np.ndarray]] = {}
    errors: list[tuple[str, str]] = []
    bar = progress(total=n, desc=f"report: {name}", unit="file")
    for i, d, reason in predictor.describe(list(paths)):
        if d is None:
            errors.append((str(paths[i]), reason))
        else:
            rows[i] = d
            dim = len(d["embedding"])
        bar.update(1)
    bar.close()
    keep = sorted(rows)
    probs = np.array([rows[i]["probs"] for i in keep]).reshape(-1, 2)
    raw = np.array([rows[i]["raw"] for i in keep]).reshape(-1, 2)
    embedding = np.array([rows[i]["embedding"] for i in keep]).reshape(len(keep), dim)
    return Described(
        name,
        [ids[i] for i in keep],
        [Path(paths[i]) for i in keep],
        probs,
        raw,
        embedding,
        None if labels is None else [labels[i] for i in keep],
        errors,
    )
