"""Leave one generator family (or real-voice source) out of training: which carry to which.

    python benchmarks/leave_one_out.py data/small --out runs/leave-one-out \\
        [--families all | formant,vits,...] [--sources tuxpaint,asterisk-intl,...] \\
        [--epochs 4] [--set KEY=VALUE ...] [--seed 0] [--all-run RUN]

For every group G asked for, the training clips of G are dropped from a view of the data
folder (symlinks to its audio, a filtered ``train.csv``), the default model is trained on
that view with the project's own ``fakevoice train`` and ``predict``, and scored on the
test clips that hold G (a fake voice of family G, or a real voice of source G), with the
clips that hold no voice of that class as negatives, as ``compare``'s breakdown does.
The same subsets are scored for one run trained on everything. Families the build
already holds out of train (``datacard.json``) are scored by the all-in run only: they
show how the model carries to a family it never saw.

Which training clip comes from which generator and source is read from the build's
``audit_features.csv`` (diagnostics, written by ``make-data``); the detector itself only
ever sees the filtered ``train.csv``.

Writes OUT/leave_one_out.csv, .md and .png; runs resume, finished ones are reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fakevoice.atomic import atomic_open
from fakevoice.compare import markdown_table, subset_scores


def groups_of_train(data: Path) -> pd.DataFrame:
    """Per training clip: id, label, generator family (fakes), source (real clips)."""
    feats = pd.read_csv(data / "audit_features.csv", dtype={"id": str}, keep_default_na=False)
    train = feats[feats["split"] == "train"].copy()
    card = json.loads((data / "datacard.json").read_text())
    family = {g: info["family"] for g, info in card["generators"].items()}
    train["family"] = [family.get(g, "") if g else "" for g in train["generator"]]
    if "source" not in train.columns:
        train["source"] = ""
    train.loc[train["label"] != "real", "source"] = ""
    return train[["id", "label", "family", "source"]]


def voice_groups(meta: pd.DataFrame, family: dict[str, str]) -> pd.DataFrame:
    """Per test clip: the set of fake families and the set of real sources it holds."""
    fams, srcs = [], []
    for _, row in meta.iterrows():
        f, s = set(), set()
        for k in (1, 2):
            klass = row.get(f"v{k}_class")
            if klass == "fake":
                f.add(family.get(str(row.get(f"v{k}_generator")), "?"))
            elif klass == "real":
                s.add(str(row.get(f"v{k}_source")))
        fams.append(f)
        srcs.append(s)
    return pd.DataFrame({"id": meta["id"], "families": fams, "sources": srcs})


def make_view(data: Path, view: Path, keep: pd.Series) -> int:
    """A data folder that is ``data`` with only the ``keep`` rows of train.csv."""
    view.mkdir(parents=True, exist_ok=True)
    for item in data.iterdir():
        link = view / item.name
        if item.name != "train.csv" and not link.exists():
            os.symlink(item.resolve(), link)
    train = pd.read_csv(data / "train.csv", dtype={"id": str})
    kept = train[train["id"].isin(keep)]
    with atomic_open(view / "train.csv") as fh:
        kept.to_csv(fh, index=False, lineterminator="\n")
    return len(train) - len(kept)


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def train_and_predict(view: Path, out: Path, args: argparse.Namespace) -> pd.DataFrame:
    sub = out / "submission.csv"
    if not sub.is_file():
        cmd = ["fakevoice", "train", str(view), "--out", str(out), "--seed", str(args.seed)]
        cmd += ["--resume"] + [f"--set={s}" for s in args.set]
        if args.epochs is not None:
            cmd += ["--epochs", str(args.epochs)]
        run(cmd)
        run(["fakevoice", "predict", str(out), str(view), "--out", str(sub)])
    return pd.read_csv(sub, dtype={"id": str})


def score_subset(answer: pd.DataFrame, sub: pd.DataFrame, mask: np.ndarray) -> dict[str, float]:
    merged = answer.merge(sub, on="id", suffixes=("_true", "_pred"))
    y = merged[["fake_true", "real_true"]].to_numpy(float)[mask]
    p = merged[["fake_pred", "real_pred"]].to_numpy(float)[mask]
    return subset_scores(y, p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--families", default="all", help="'all', 'none' or a comma list")
    ap.add_argument("--sources", default="", help="comma list of real sources to hold out")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--all-run", type=Path, default=None,
                    help="a finished run trained on everything to score instead of training one "
                         "(with --families none: the by-family table of that run)")  # fmt: skip
    args = ap.parse_args()

    data = args.data
    card = json.loads((data / "datacard.json").read_text())
    family = {g: info["family"] for g, info in card["generators"].items()}
    held = {info["family"] for info in card["generators"].values() if info["heldout"]}
    seen = {info["family"] for info in card["generators"].values() if not info["heldout"]}
    train = groups_of_train(data)
    if args.families == "all":
        families = sorted(seen)
    elif args.families == "none":
        families = []
    else:
        families = [f.strip() for f in args.families.split(",") if f.strip()]
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [f for f in families if f not in set(train["family"])]
    if unknown:
        sys.exit(f"leave_one_out: no training clips of family {', '.join(unknown)}")
    if sources and not (train["source"] != "").any():
        sys.exit(f"{data}/audit_features.csv has no source column: rebuild with make-data --force")

    answer = pd.read_csv(data / "test_answer.csv", dtype={"id": str})
    meta = pd.read_csv(data / "test_meta.csv", dtype={"id": str})
    voices = voice_groups(meta, family).set_index("id").loc[answer["id"]].reset_index()
    no_fake = voices["families"].map(len).to_numpy() == 0
    no_real = voices["sources"].map(len).to_numpy() == 0

    def mask_of(kind: str, group: str) -> np.ndarray:
        if kind == "family":
            return voices["families"].map(lambda s: group in s).to_numpy() | no_fake
        return voices["sources"].map(lambda s: group in s).to_numpy() | no_real

    t0 = time.perf_counter()
    all_sub = train_and_predict(data, args.all_run or args.out / "runs" / "all", args)
    rows = []
    every = [("family", f) for f in sorted(seen | held)]
    every += [("source", s) for s in sources]
    asked = {("family", f) for f in families} | {("source", s) for s in sources}
    for kind, group in every:
        mask = mask_of(kind, group)
        holding = int((mask & ~(no_fake if kind == "family" else no_real)).sum())
        if holding == 0:
            continue
        base = score_subset(answer, all_sub, mask)
        row = {"held out": f"{kind} {group}", "test clips holding it": holding,
               "held out by the build": kind == "family" and group in held - seen,
               "score, all in train": base["score"], "AUC, all in train": base["auc"]}  # fmt: skip
        if (kind, group) in asked:
            column = "family" if kind == "family" else "source"
            keep = train.loc[train[column] != group, "id"]
            view = args.out / "data" / f"{kind}-{group}"
            removed = make_view(data, view, keep)
            sub = train_and_predict(view, args.out / "runs" / f"{kind}-{group}", args)
            left = score_subset(answer, sub, mask)
            row |= {"train clips removed": removed, "score, left out": left["score"],
                    "AUC, left out": left["auc"],
                    "score change": left["score"] - base["score"]}  # fmt: skip
        rows.append(row)
        print(f"leave-one-out: {kind} {group} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    if "train clips removed" in table:
        table["train clips removed"] = table["train clips removed"].astype("Int64")
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out / "leave_one_out.csv") as fh:
        table.to_csv(fh, index=False, lineterminator="\n")
    with atomic_open(args.out / "leave_one_out.md") as fh:
        fh.write(markdown_table(table) + "\n")
    plot(table, args.out / "leave_one_out.png")
    print(markdown_table(table))


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.4 * len(table) + 1.5))
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["score, all in train"], height=0.4, label="all in train")
    if "score, left out" in table:
        ax.barh(y + 0.2, table["score, left out"].fillna(0), height=0.4, label="left out")
    ax.set_yticks(y, table["held out"])
    ax.invert_yaxis()
    ax.set_xlabel("contest score on the clips holding it (lower is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
