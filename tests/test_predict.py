from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakevoice.audio import SAMPLE_RATE, write_audio
from fakevoice.cli import main
from fakevoice.dataset import read_submission
from fakevoice.errors import FakevoiceError, RunError
from fakevoice.predict import Predictor, collect_inputs, predict
from fakevoice.train.config import resolve
from fakevoice.train.loop import train
from tests.predictions import assert_same_predictions


@pytest.fixture(scope="module")
def run(toy_contest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("predict-run") / "run"
    cache = tmp_path_factory.mktemp("predict-cache")
    train(resolve("mfcc-mlp", epochs=2), toy_contest, out, cache_dir=cache)
    return out


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    """Good clips in nested folders with odd names, plus files that cannot be read."""
    root = tmp_path / "in put"
    rng = np.random.default_rng(0)
    write_audio(root / "a.wav", 0.1 * rng.standard_normal(SAMPLE_RATE * 5).astype(np.float32))
    write_audio(root / "sub" / "ü b.ogg", 0.1 * rng.standard_normal(SAMPLE_RATE).astype(np.float32))
    write_audio(root / "sub" / "short.wav", 0.1 * rng.standard_normal(3200).astype(np.float32))
    write_audio(root / "silent.flac", np.zeros(SAMPLE_RATE * 2, np.float32))
    long = 0.1 * rng.standard_normal(SAMPLE_RATE * 23).astype(np.float32)
    write_audio(root / "long.wav", long)
    (root / "broken.ogg").write_bytes(b"OggS" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.txt").write_text("not audio and not an audio extension: ignored")
    return root


def test_contest_folder_gives_a_full_submission_in_sample_order(
    run: Path, toy_contest: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_contest, data)
    sample = pd.read_csv(data / "sample_submission.csv")
    sample.iloc[::-1].to_csv(data / "sample_submission.csv", index=False)
    out = tmp_path / "sub.csv"
    res = predict(run, [data], out)
    sub = read_submission(out)
    assert list(sub["id"]) == list(sample["id"])[::-1]
    assert np.isfinite(sub[["fake", "real"]].to_numpy()).all()
    assert res.n_ok == len(sample) and not res.errors
    assert not (tmp_path / "errors.csv").exists()
    assert not list(tmp_path.glob(".sub.csv.parts"))


def test_contest_folder_with_a_bad_clip_fills_it_with_the_prior(
    run: Path, toy_contest: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_contest, data)
    (data / "test" / "TEST_00003.ogg").write_bytes(b"garbage")
    out = tmp_path / "out" / "sub.csv"
    res = predict(run, [data], out)
    assert res.filled == 1
    errors = list(csv.reader((out.parent / "errors.csv").open()))
    assert errors[0] == ["file", "reason"] and errors[1][0].endswith("TEST_00003.ogg")
    sub = read_submission(out)
    share = json.loads((run / "metrics.json").read_text())["train_fake_share"]
    row = sub.set_index("id").loc["TEST_00003"]
    assert row["fake"] == pytest.approx(share) and row["real"] == pytest.approx(1 - share)
    with pytest.raises(FakevoiceError, match="could not be scored"):
        predict(run, [data], tmp_path / "strict.csv", strict=True)
    assert not (tmp_path / "strict.csv").exists()


def test_plain_folder_recursive_ids_and_errors_csv(
    run: Path, messy_folder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "o" / "pred.csv"
    assert main(["predict", str(run), str(messy_folder), "--out", str(out)]) == 0
    sub = read_submission(out)
    assert sorted(sub["id"]) == ["a.wav", "long.wav", "silent.flac", "sub/short.wav", "sub/ü b.ogg"]
    values = sub[["fake", "real"]].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    errors = pd.read_csv(out.parent / "errors.csv")
    assert sorted(Path(f).name for f in errors["file"]) == ["broken.ogg", "empty.wav"]
    assert errors["reason"].str.len().min() > 5
    assert "could not be read" in capsys.readouterr().err
    assert main(["predict", str(run), str(messy_folder), "--out", str(out), "--strict"]) == 2


def test_long_files_are_scored_window_by_window(run: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a = 0.2 * rng.standard_normal(SAMPLE_RATE * 5).astype(np.float32)
    b = 0.02 * rng.standard_normal(SAMPLE_RATE * 5).astype(np.float32)
    write_audio(tmp_path / "a.wav", a)
    write_audio(tmp_path / "b.wav", b)
    write_audio(tmp_path / "ab.wav", np.concatenate([a, b]))
    pred = Predictor(run)
    got = {i: p for i, p, _ in pred.stream([tmp_path / n for n in ("a.wav", "b.wav", "ab.wav")])}
    assert np.allclose(got[2], (got[0] + got[1]) / 2, atol=1e-4)


def test_list_of_files_and_the_genuine_contest_clips(
    run: Path, contest_fixtures: Path, tmp_path: Path
) -> None:
    clips = sorted(str(p) for p in contest_fixtures.glob("*.ogg"))
    assert len(clips) == 2
    out = tmp_path / "files.csv"
    assert main(["predict", str(run), *clips, "--out", str(out), "--strict"]) == 0
    assert list(read_submission(out)["id"]) == clips
    out2 = tmp_path / "folder.csv"
    assert main(["predict", str(run), str(contest_fixtures), "--out", str(out2), "--strict"]) == 0
    sub = read_submission(out2)
    assert sorted(sub["id"]) == ["AHJQEQQY.ogg", "TEST_00021.ogg"]
    a = read_submission(out).set_index("id")
    for clip in clips:
        assert a.loc[clip, "fake"] == pytest.approx(
            sub.set_index("id").loc[Path(clip).name, "fake"]
        )


def test_missing_file_in_a_list_is_an_error_row(run: Path, tmp_path: Path) -> None:
    write_audio(tmp_path / "ok.wav", np.full(SAMPLE_RATE, 0.1, np.float32))
    res = predict(run, [tmp_path / "ok.wav", tmp_path / "gone.wav"], tmp_path / "o.csv")
    assert res.n_ok == 1 and res.errors[0][1] == "file not found"


def test_resume_after_a_kill_reuses_finished_parts(
    run: Path, toy_contest: Path, tmp_path: Path, monkeypatch
) -> None:
    full = tmp_path / "full.csv"
    predict(run, [toy_contest], full, chunk=5)
    out = tmp_path / "cut.csv"
    real_stream = Predictor.stream
    seen = {"files": 0, "die_after": 12}

    def dying(self, paths):
        for res in real_stream(self, paths):
            if seen["files"] == seen["die_after"]:
                raise KeyboardInterrupt
            seen["files"] += 1
            yield res

    monkeypatch.setattr(Predictor, "stream", dying)
    with pytest.raises(KeyboardInterrupt):
        predict(run, [toy_contest], out, chunk=5)
    assert not out.exists()
    parts = sorted((tmp_path / ".cut.csv.parts").glob("part_*.json"))
    assert len(parts) == 2  # 12 files scored: two parts of 5 complete, the third not
    seen.update(files=0, die_after=-1)
    predict(run, [toy_contest], out, chunk=5, resume=True)
    assert seen["files"] == 24 - 10  # only the files of the three missing parts
    assert_same_predictions(out, full)


def test_resume_refuses_parts_from_other_input(
    run: Path, toy_contest: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "cut.csv"
    parts = tmp_path / ".cut.csv.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"fingerprint": "other"}))
    with pytest.raises(RunError, match="another run or input"):
        predict(run, [toy_contest], out, resume=True)
    predict(run, [toy_contest], out)  # without --resume, stale parts are discarded
    assert out.is_file() and not parts.exists()


def test_bad_runs_and_inputs_are_refused(run: Path, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="run directory not found"):
        predict(tmp_path / "nope", [tmp_path], tmp_path / "o.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FakevoiceError, match="no audio files"):
        collect_inputs([tmp_path / "empty"])
    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    manifest = json.loads((old / "run.json").read_text())
    manifest["format_version"] = 0
    (old / "run.json").write_text(json.dumps(manifest))
    assert main(["predict", str(old), str(tmp_path), "--out", str(tmp_path / "o.csv")]) == 2
