"""The contest layout: train/test/unlabeled/sample_submission, and submissions.

```
DATA/train.csv (id,path,label)  test.csv (id,path)  sample_submission.csv (id,fake,real)
DATA/train/*.ogg  DATA/test/*.ogg  DATA/unlabeled_data/*.ogg
```
Reading validates and reports every problem at once; writing is atomic.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fakevoice.atomic import atomic_open
from fakevoice.audio import is_audio_path
from fakevoice.errors import DataError, SubmissionError

LABELS = ("real", "fake")
TARGETS = ("fake", "real")
TRAIN_COLUMNS = ("id", "path", "label")
TEST_COLUMNS = ("id", "path")
SUBMISSION_COLUMNS = ("id", "fake", "real")
UNLABELED_DIR = "unlabeled_data"


def read_table(
    path: str | Path, columns: Sequence[str], *, numeric: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV with exactly ``columns`` as strings; return it and the list of problems.

    Tolerates a UTF-8 BOM and blank lines (both noted), refuses missing or extra columns,
    empty ids and duplicate ids. Numeric columns are parsed and every bad cell reported.
    """
    path = Path(path)
    problems: list[str] = []
    if not path.exists():
        return pd.DataFrame(columns=list(columns)), ["file not found"]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return pd.DataFrame(columns=list(columns)), [f"cannot read: {exc.strerror}"]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return pd.DataFrame(columns=list(columns)), ["not a UTF-8 text file"]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return pd.DataFrame(columns=list(columns)), ["empty file (no header)"]
    header = [h.strip() for h in rows[0]]
    if header != list(columns):
        missing = [c for c in columns if c not in header]
        extra = [c for c in header if c not in columns]
        detail = []
        if missing:
            detail.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected column(s) {', '.join(extra)}")
        if not detail:
            detail.append(f"columns in the wrong order {header}")
        problems.append(f"expected columns {','.join(columns)}: " + "; ".join(detail))
        return pd.DataFrame(columns=list(columns)), problems
    body: list[list[str]] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(f"line {lineno}: {len(row)} fields, expected {len(columns)}")
            continue
        body.append([cell.strip() for cell in row])
    df = pd.DataFrame(body, columns=list(columns), dtype=object)
    if "id" in columns and len(df):
        empty = df.index[df["id"] == ""].tolist()
        if empty:
            problems.append(f"{len(empty)} row(s) with an empty id")
        dup = df["id"][df["id"].duplicated() & (df["id"] != "")].unique().tolist()
        if dup:
            problems.append(f"duplicate id(s): {', '.join(map(str, dup[:10]))}")
    for col in numeric:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df.loc[values.isna(), "id"].tolist() if "id" in df else []
        if bad:
            problems.append(
                f"column {col}: non-numeric or missing value for id(s) {', '.join(bad[:10])}"
            )
        df[col] = values.astype(float)
    return df, problems


def _resolve(root: Path, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else (root / p)


@dataclass
class ContestData:
    """A contest data folder, read and validated. Paths are absolute."""

    root: Path
    train: pd.DataFrame | None = None
    test: pd.DataFrame | None = None
    sample_submission: pd.DataFrame | None = None
    unlabeled: list[Path] = field(default_factory=list)
    answer: pd.DataFrame | None = None
    meta: pd.DataFrame | None = None

    @property
    def has_answer(self) -> bool:
        return self.answer is not None


def load_contest(
    root: str | Path, *, need: Sequence[str] = (), check_files: bool = True
) -> ContestData:
    """Read every part of a contest folder that exists; refuse with every problem at once.

    ``need`` lists parts that must be present (``train``, ``test``, ``unlabeled``).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, ["data folder not found"])
    problems: list[str] = []
    data = ContestData(root=root.resolve())

    def note(name: str, issues: list[str]) -> None:
        problems.extend(f"{name}: {msg}" for msg in issues)

    train_csv = root / "train.csv"
    if train_csv.exists():
        df, issues = read_table(train_csv, TRAIN_COLUMNS)
        note("train.csv", issues)
        bad = sorted(set(df["label"]) - set(LABELS))
        if bad:
            note(
                "train.csv", [f"labels must be real or fake, found {', '.join(map(repr, bad[:5]))}"]
            )
        df["path"] = [str(_resolve(data.root, p)) for p in df["path"]]
        data.train = df
    elif "train" in need:
        note("train.csv", ["file not found"])

    test_csv = root / "test.csv"
    if test_csv.exists():
        df, issues = read_table(test_csv, TEST_COLUMNS)
        note("test.csv", issues)
        df["path"] = [str(_resolve(data.root, p)) for p in df["path"]]
        data.test = df
    elif "test" in need:
        note("test.csv", ["file not found"])

    sub_csv = root / "sample_submission.csv"
    if sub_csv.exists():
        df, issues = read_table(sub_csv, SUBMISSION_COLUMNS, numeric=("fake", "real"))
        note("sample_submission.csv", issues)
        data.sample_submission = df

    unl = root / UNLABELED_DIR
    if unl.is_dir():
        data.unlabeled = sorted(
            p.resolve() for p in unl.rglob("*") if p.is_file() and is_audio_path(p)
        )
    if "unlabeled" in need and not data.unlabeled:
        note(UNLABELED_DIR, ["no audio files found"])

    answer_csv = root / "test_answer.csv"
    if answer_csv.exists():
        df, issues = read_table(answer_csv, SUBMISSION_COLUMNS, numeric=("fake", "real"))
        note("test_answer.csv", issues)
        data.answer = df
    meta_csv = root / "test_meta.csv"
    if meta_csv.exists():
        data.meta = pd.read_csv(meta_csv, dtype={"id": str})

    if not (train_csv.exists() or test_csv.exists() or unl.is_dir()):
        problems.append("not a contest data folder (no train.csv, test.csv or unlabeled_data/)")
    if check_files:
        for name, df in (("train.csv", data.train), ("test.csv", data.test)):
            if df is None:
                continue
            missing = [
                i for i, p in zip(df["id"], df["path"], strict=True) if not Path(p).is_file()
            ]
            if missing:
                note(
                    name,
                    [f"{len(missing)} audio file(s) missing, e.g. id {', '.join(missing[:5])}"],
                )
    if data.test is not None and data.sample_submission is not None:
        a, b = set(data.test["id"]), set(data.sample_submission["id"])
        if a != b:
            note(
                "sample_submission.csv",
                [f"ids differ from test.csv ({len(b - a)} extra, {len(a - b)} missing)"],
            )
    if problems:
        raise DataError(root, problems)
    return data


def write_submission(
    path: str | Path,
    ids: Sequence[str],
    fake: Sequence[float] | np.ndarray,
    real: Sequence[float] | np.ndarray,
    *,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Write ``id,fake,real`` atomically, in ``order`` (sample_submission ids) when given.

    Refuses NaN and values outside [0, 1]; every id of ``order`` must be predicted.
    """
    fake_a = np.asarray(fake, dtype=float)
    real_a = np.asarray(real, dtype=float)
    ids = [str(i) for i in ids]
    if not (len(ids) == len(fake_a) == len(real_a)):
        raise SubmissionError("ids, fake and real have different lengths")
    for name, arr in (("fake", fake_a), ("real", real_a)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise SubmissionError(
                f"{path}: refusing to write: {int(bad.sum())} non-finite {name} value(s)"
            )
        out = (arr < 0) | (arr > 1)
        if out.any():
            raise SubmissionError(
                f"{path}: refusing to write: {int(out.sum())} {name} value(s) outside [0, 1]"
            )
    df = pd.DataFrame({"id": ids, "fake": fake_a, "real": real_a})
    if df["id"].duplicated().any():
        raise SubmissionError(f"{path}: refusing to write: duplicate ids")
    if order is not None:
        order = [str(i) for i in order]
        missing = sorted(set(order) - set(ids))
        if missing:
            raise SubmissionError(
                f"{path}: refusing to write: {len(missing)} id(s) of the sample submission have no "
                f"prediction, e.g. {', '.join(missing[:5])}"
            )
        df = df.set_index("id").loc[order].reset_index()
    for col in TARGETS:
        df[col] = avoid_bin_edges(df[col].to_numpy())
    with atomic_open(path, "w") as fh:
        df.to_csv(fh, index=False, float_format="%.10g", lineterminator="\n")
    return df


def avoid_bin_edges(p: np.ndarray) -> np.ndarray:
    """Move probabilities sitting exactly on an inner ECE bin edge (0.1 ... 0.9) up by 1e-9.

    The organisers' ECE bins such values differently in its two halves and, for some
    submissions, then fails outright; a shift of 1e-9 changes no score that matters.
    """
    p = np.asarray(p, dtype=float).copy()
    edges = np.linspace(0, 1, 11)[1:-1]
    on_edge = np.isin(p, edges)
    p[on_edge] = p[on_edge] + 1e-9
    return p


def read_submission(path: str | Path) -> pd.DataFrame:
    """Read a submission as the organisers' check sees it; raise on anything it would refuse."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: file not found")
    try:
        df = pd.read_csv(path, dtype={"id": str}, encoding="utf-8-sig", skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from exc
    cols = [str(c).strip() for c in df.columns]
    if cols != list(SUBMISSION_COLUMNS):
        raise SubmissionError(
            f"{path}: columns must be exactly id,fake,real, found {','.join(cols)}"
        )
    df.columns = cols
    if df.isnull().to_numpy().any():
        n = int(df.isnull().to_numpy().sum())
        raise SubmissionError(
            f"{path}: {n} missing value(s); the organisers refuse any missing value"
        )
    for col in TARGETS:
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            bad = df.loc[values.isna(), "id"].tolist()[:5]
            raise SubmissionError(
                f"{path}: column {col} has non-numeric value(s) for id(s) {', '.join(bad)}"
            )
        arr = values.to_numpy(dtype=float)
        if not np.isfinite(arr).all():
            raise SubmissionError(f"{path}: column {col} has non-finite value(s)")
        if ((arr < 0) | (arr > 1)).any():
            n = int(((arr < 0) | (arr > 1)).sum())
            raise SubmissionError(f"{path}: column {col} has {n} value(s) outside [0, 1]")
        df[col] = arr
    df["id"] = df["id"].astype(str).str.strip()
    return df
