"""The benchmark's output folder in the contest layout: made ready (or refused, or resumed),
clip ids, and the CSVs written atomically."""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakevoice.atomic import atomic_open, atomic_write_text
from fakevoice.errors import FakevoiceError
from fakevoice.seeding import rng as derive_rng
from fakevoice.synth.options import BuildOptions

MANIFEST = ".complete"
BUILDING = ".building"


OUR_FILES = (
    "train.csv",
    "test.csv",
    "sample_submission.csv",
    "test_answer.csv",
    "test_meta.csv",
    "unlabeled_answer.csv",
    "audit_features.csv",
    "datacard.md",
    "datacard.json",
    "spectrograms.png",
    BUILDING,
    MANIFEST,
)


OUR_DIRS = ("train", "test", "unlabeled_data")


def prepare_out(opts: BuildOptions) -> bool:
    """Make ``opts.out`` ready. Returns False when an identical complete build is already there.

    A complete build with other options, or a folder of someone else's files, is refused
    without ``force``; an interrupted build with the same options is resumed.
    """
    out = opts.out
    ident = json.dumps(opts.identity(), sort_keys=True)
    if out.exists() and not out.is_dir():
        raise FakevoiceError(f"{out}: exists and is not a folder")
    marker, building = out / MANIFEST, out / BUILDING
    if out.is_dir() and not opts.force:
        if marker.exists():
            done = json.loads(marker.read_text())
            if json.dumps(done.get("options"), sort_keys=True) == ident:
                return False
            raise FakevoiceError(
                f"{out}: holds a complete build with other options (use --force to replace it)"
            )
        if building.exists():
            if building.read_text() != ident:
                raise FakevoiceError(
                    f"{out}: holds an interrupted build with other options "
                    "(use --force to replace it)"
                )
        elif any(out.iterdir()):
            raise FakevoiceError(
                f"{out}: folder is not empty and holds no fakevoice build (use --force)"
            )
    if opts.force and out.is_dir():
        for name in OUR_FILES:
            (out / name).unlink(missing_ok=True)
        for name in OUR_DIRS:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUR_DIRS:
        (out / name).mkdir(exist_ok=True)
    # .complete goes last and .building first, so a folder with .building and no .complete
    # is never mistaken for a finished data set.
    atomic_write_text(building, ident)
    return True


def make_ids(seed: int, counts: dict[str, int]) -> dict[str, list[str]]:
    r = derive_rng(seed, "ids")
    letters = np.array(list(string.ascii_uppercase))
    need = counts["train"] + counts["unlabeled"]
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < need:
        cand = "".join(letters[r.integers(0, 26, 8)])
        if cand not in seen:
            seen.add(cand)
            names.append(cand)
    return {
        "train": names[: counts["train"]],
        "unlabeled": names[counts["train"] :],
        "test": [f"TEST_{i:05d}" for i in range(counts["test"])],
    }


def _csv(path: Path, df: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        df.to_csv(fh, index=False, lineterminator="\n")


INT_FIELDS = ("band", "segments", "seen_generator", "seen_speaker")


def write_tables(out: Path, rows: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    train = pd.DataFrame([r for r in rows if r["split"] == "train"])
    test = pd.DataFrame([r for r in rows if r["split"] == "test"])
    unl = pd.DataFrame([r for r in rows if r["split"] == "unlabeled"])
    _csv(out / "train.csv", train[["id", "path", "label"]])
    _csv(out / "test.csv", test[["id", "path"]])
    sub = test[["id"]].assign(fake=0, real=0)
    _csv(out / "sample_submission.csv", sub)
    _csv(out / "test_answer.csv", test[["id", "fake", "real"]])
    meta = test[[c for c in test.columns if c not in ("split", "path", "features")]].copy()
    for c in meta.columns:
        if c == "band_limit" or c.split("_", 1)[-1] in INT_FIELDS:
            meta[c] = pd.to_numeric(meta[c], errors="coerce").astype("Int64")
    _csv(out / "test_meta.csv", meta)
    # the audit's inputs, so anyone can check or extend it
    feats = pd.DataFrame(
        [
            {"split": r["split"], "id": r["id"], "label": r.get("label", ""),
             "fake": r.get("fake", ""), "real": r.get("real", ""),
             "generator": r.get("v1_generator", "") if r["split"] == "train" else "",
             "source": r.get("v1_source", "") if r["split"] == "train" else "",
             **{k: round(float(v), 6) for k, v in r["features"].items() if k != "mfcc"}}
            for r in rows
        ]
    )  # fmt: skip
    _csv(out / "audit_features.csv", feats)
    _csv(out / "unlabeled_answer.csv", unl[["id", "fake", "real"]])
    return {"train": train, "test": test, "unlabeled": unl}
