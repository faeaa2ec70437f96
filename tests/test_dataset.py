"""Contest layout: reading, validation that reports every problem, atomic submissions."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakevoice.cli import main
from fakevoice.dataset import load_contest, read_submission, read_table, write_submission
from fakevoice.errors import DataError, SubmissionError


@pytest.fixture
def contest(tmp_path: Path, toy_contest: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(toy_contest, dst)
    return dst


def test_reads_toy_contest(contest: Path) -> None:
    data = load_contest(contest, need=("train", "test", "unlabeled"))
    assert len(data.train) == 40 and len(data.test) == 24 and len(data.unlabeled) == 8
    assert set(data.train["label"]) == {"real", "fake"}
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in data.train["path"])
    assert data.has_answer and list(data.answer.columns) == ["id", "fake", "real"]


def test_check_verb_passes_on_good_folder(contest: Path, capsys) -> None:
    assert main(["check", str(contest)]) == 0
    assert "ok: 72 audio file(s) decoded" in capsys.readouterr().out


def test_every_problem_is_reported_at_once(contest: Path) -> None:
    train = pd.read_csv(contest / "train.csv")
    train.loc[0, "label"] = "maybe"
    train.loc[2, "id"] = train.loc[1, "id"]
    train.to_csv(contest / "train.csv", index=False)
    (contest / Path(pd.read_csv(contest / "test.csv")["path"][3])).unlink()
    with pytest.raises(DataError) as exc:
        load_contest(contest)
    problems = " | ".join(exc.value.problems)
    assert "labels must be real or fake" in problems
    assert "duplicate id" in problems
    assert "test.csv: 1 audio file(s) missing" in problems
    assert "\n" not in str(exc.value)


def test_check_verb_names_bad_audio(contest: Path, capsys) -> None:
    victim = contest / "test" / "TEST_00002.ogg"
    victim.write_bytes(b"garbage" * 100)
    assert main(["check", str(contest)]) == 2
    err = capsys.readouterr().err
    assert "TEST_00002.ogg: not audio" in err
    assert "1 unusable audio file(s)" in err


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id,path\nA,./a.ogg\n", "missing column(s) label"),
        ("id,path,label,x\nA,./a.ogg,real,1\n", "unexpected column(s) x"),
        ("id,path,label\nA,./a.ogg,real\nA,./b.ogg,fake\n", "duplicate id(s): A"),
        ("id,path,label\nA,./a.ogg\n", "line 2: 2 fields"),
        ("", "empty file"),
        (",path,label\n,./a.ogg,real\n", "missing column(s) id"),
    ],
)
def test_bad_csvs(tmp_path: Path, text: str, reason: str) -> None:
    p = tmp_path / "train.csv"
    p.write_text(text)
    _, problems = read_table(p, ("id", "path", "label"))
    assert any(reason in q for q in problems), problems


def test_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"\xef\xbb\xbfid,path\r\nA,./a.ogg\r\n\r\n\r\nB,./b.ogg\r\n")
    df, problems = read_table(p, ("id", "path"))
    assert problems == [] and df["id"].tolist() == ["A", "B"]


def test_write_submission_orders_and_refuses_bad_values(tmp_path: Path) -> None:
    out = tmp_path / "sub.csv"
    write_submission(out, ["b", "a"], [0.2, 0.1], [0.3, 0.4], order=["a", "b"])
    df = read_submission(out)
    assert df["id"].tolist() == ["a", "b"] and df["fake"].tolist() == [0.1 + 1e-9, 0.2 + 1e-9]
    before = out.read_bytes()
    for fake, reason in (([np.nan, 0.1], "non-finite"), ([1.2, 0.1], "outside [0, 1]")):
        with pytest.raises(SubmissionError, match=re.escape(reason)):
            write_submission(out, ["a", "b"], fake, [0.5, 0.5])
    with pytest.raises(SubmissionError, match="have no prediction"):
        write_submission(out, ["a"], [0.5], [0.5], order=["a", "b"])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub.csv"]


def test_write_submission_to_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception, match="cannot write"):
        write_submission(blocker / "sub.csv", ["a"], [0.5], [0.5])
