"""`fakevoice report RUN DATA`: one self-contained page with every section, numbers that
agree with predict and score, and a page for folders without answers."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakevoice.cli import main
from fakevoice.dataset import read_submission
from fakevoice.metric import score_frames

SCORED = {"summary", "scores", "calibration", "roc", "distributions", "conditions", "mistakes"}
ALWAYS = {"summary", "distributions", "domain", "galleries", "uncertain", "training"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()
        self.audio = 0

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        d = dict(attrs)
        if tag == "section":
            self.sections.append(d.get("id", ""))
        if tag == "audio":
            self.audio += 1
        for k in ("src", "href", "action", "srcset", "poster", "data"):
            if k in d:
                self.refs.append((tag, k, d[k] or ""))


def _parse(path: Path) -> _Page:
    text = path.read_text(encoding="utf-8")
    p = _Page()
    p.feed(text)
    # nothing to fetch: every image and sound inline, links only within the page
    for tag, k, v in p.refs:
        ok = v.startswith("#") if k == "href" else v.startswith("data:")
        assert ok, (tag, k, v[:60])
    assert not p.tags & {"script", "link", "iframe", "object", "embed"}
    assert "url(" not in text and "@import" not in text
    return p


def _with_meta(toy: Path, dst: Path) -> Path:
    shutil.copytree(toy, dst)
    ans = pd.read_csv(dst / "test_answer.csv", dtype={"id": str})
    rng = np.random.default_rng(0)
    n = len(ans)
    meta = pd.DataFrame(
        {
            "id": ans["id"],
            "n_voices": ans["fake"] + ans["real"],
            "fake": ans["fake"],
            "real": ans["real"],
            "v1_class": np.where(ans["fake"] == 1, "fake", np.where(ans["real"] == 1, "real", "")),
            "v1_generator": np.where(ans["fake"] == 1, rng.choice(["tone-a", "tone-b"], n), ""),
            "v1_language": np.where(ans["fake"] + ans["real"] > 0, "en", ""),
            "noise": rng.choice(["pink", "effect:3", "effect:7"], n),
            "snr_db": rng.uniform(-5, 20, n).round(2),
            "codec": rng.choice(["", "opus"], n),
        }
    )
    meta.to_csv(dst / "test_meta.csv", index=False)
    return dst


def test_report_of_a_run_on_a_scored_folder(toy_detector: Path, toy_contest: Path, tmp_path):
    data = _with_meta(toy_contest, tmp_path / "data")
    out = tmp_path / "rep"
    code = main(
        [
            "report",
            str(toy_detector),
            str(data),
            "--out",
            str(out),
            "--compare",
            str(toy_detector),
            "--sample",
            "16",
            "--examples",
            "2",
        ]
    )
    assert code == 0
    page = _parse(out / "report.html")
    assert set(page.sections) >= SCORED | ALWAYS, page.sections
    assert page.audio >= 4  # examples, mistakes, galleries carry players
    numbers = json.loads((out / "report.json").read_text())

    # the page's score is the one predict + score give for the same run and folder
    assert main(["predict", str(toy_detector), str(data), "--out", str(tmp_path / "s.csv")]) == 0
    answer = pd.read_csv(data / "test_answer.csv", dtype={"id": str})
    expected, _ = score_frames(answer, read_submission(tmp_path / "s.csv"), by_id=True)
    rows = {r["model"]: r for r in numbers["scores"]}
    assert rows["this run"]["score"] == pytest.approx(expected.score, abs=1e-4)
    assert rows[toy_detector.name]["score"] == pytest.approx(expected.score, abs=1e-4)
    prior = rows["constant prior (the set's own rates)"]
    assert prior["AUC"] == pytest.approx(0.5)

    # every clip is counted once in each reliability diagram, before and after calibration
    cal = numbers["calibration"]["test"]
    for key in ("fake_before", "fake_after", "real_before", "real_after"):
        assert sum(cal[key]["count"]) == len(answer)
    assert "validation" in numbers["calibration"]  # the run kept its validation scenes
    by = {r["by"] for r in numbers["conditions"]}
    assert {"n_voices", "noise", "codec", "generator", "language", "snr"} <= by
    scores = [r["score"] for r in numbers["conditions"] if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)  # worst first
    assert set(numbers["domain"]["n"]) >= {
        "train real",
        "train fake",
        "test",
        "unlabeled",
        "validation scenes",
    }
    # null where a set has too few clips to cross-validate; the 48 validation scenes do not
    aucs = numbers["domain"]["domain_auc"]
    assert all(v is None or 0.0 <= v <= 1.0 for v in aucs.values())
    assert aucs["validation scenes vs test"] is not None
    assert len(numbers["mistakes"]) == min(10, len(answer))
    assert numbers["training"]["history"]
    for png in (
        "reliability.png",
        "roc.png",
        "histograms.png",
        "breakdown.png",
        "domain_map.png",
        "training.png",
    ):
        assert (out / png).stat().st_size > 1000


def test_report_of_a_folder_without_answers(toy_detector: Path, toy_contest: Path, tmp_path):
    out = tmp_path / "rep"
    folder = toy_contest / "test"
    code = main(
        [
            "report",
            str(toy_detector),
            str(folder),
            "--out",
            str(out),
            "--train-data",
            str(toy_contest),
            "--sample",
            "12",
        ]
    )
    assert code == 0
    page = _parse(out / "report.html")
    assert set(page.sections) >= ALWAYS
    assert not {"scores", "calibration", "conditions", "mistakes"} & set(page.sections)
    files = pd.read_csv(out / "files.csv")
    assert len(files) == len(list(folder.glob("*.ogg")))
    assert list(files["uncertainty"]) == sorted(files["uncertainty"], reverse=True)
    numbers = json.loads((out / "report.json").read_text())
    assert set(numbers["domain"]["n"]) >= {"train real", "test"}


def test_report_accepts_the_genuine_contest_clips(toy_detector: Path, contest_fixtures, tmp_path):
    clips = sorted(str(p) for p in contest_fixtures.glob("*.ogg"))
    out = tmp_path / "rep"
    assert main(["report", str(toy_detector), *clips, "--out", str(out)]) == 0
    files = pd.read_csv(out / "files.csv")
    assert len(files) == len(clips) and np.isfinite(files[["fake", "real"]].to_numpy()).all()


def test_report_of_a_run_refuses_a_missing_folder(toy_detector: Path, tmp_path, capsys):
    assert (
        main(["report", str(toy_detector), str(tmp_path / "nope"), "--out", str(tmp_path / "r")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]
