"""Faults: a full disk or a read-only folder gives a clear error and leaves no half file."""

from __future__ import annotations

import numpy as np
import pytest

from fakevoice.atomic import atomic_write_text
from fakevoice.audio import write_audio
from fakevoice.cli import main
from fakevoice.dataset import write_submission
from fakevoice.errors import FakevoiceError
from tests.faults import leftovers, mounted


@pytest.fixture
def full_disk(tmp_path):
    with mounted(tmp_path / "full", "size=16k") as d:
        (d / "filler").write_bytes(b"\0" * 8192)
        yield d


@pytest.fixture
def readonly_dir(tmp_path):
    with mounted(tmp_path / "ro", "ro,size=1m") as d:
        yield d


def test_submission_on_full_disk(full_disk) -> None:
    n = 2000
    ids = [f"TEST_{i:05d}" for i in range(n)]
    with pytest.raises(FakevoiceError, match="no space left on device"):
        write_submission(full_disk / "sub.csv", ids, np.full(n, 0.3), np.full(n, 0.6))
    assert leftovers(full_disk) == ["filler"]


def test_audio_on_full_disk(full_disk) -> None:
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 32000 * 5).astype(np.float32)
    with pytest.raises(FakevoiceError, match="no space left on device"):
        write_audio(full_disk / "a.wav", x)
    assert leftovers(full_disk) == ["filler"]


def test_text_into_read_only_folder(readonly_dir) -> None:
    with pytest.raises(FakevoiceError, match="read-only file system") as exc:
        atomic_write_text(readonly_dir / "x.txt", "hello")
    assert str(readonly_dir / "x.txt") in str(exc.value)


def test_existing_file_survives_a_failed_rewrite(full_disk) -> None:
    target = full_disk / "keep.csv"
    atomic_write_text(target, "id,fake,real\nA,0.1,0.2\n")
    ids = [f"T{i}" for i in range(3000)]
    with pytest.raises(FakevoiceError):
        write_submission(target, ids, np.full(3000, 0.5), np.full(3000, 0.5))
    assert target.read_text() == "id,fake,real\nA,0.1,0.2\n"
    assert leftovers(full_disk) == ["filler", "keep.csv"]


def test_check_reads_a_read_only_folder(readonly_dir, capsys) -> None:
    # `check` only reads: on an empty read-only folder it says what is wrong, in one line.
    assert main(["check", str(readonly_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a contest data folder" in err[0]


# Every verb joins this table: one invocation with a missing or broken input. A verb added
# without a row here fails `test_every_verb_has_a_bad_input_case`.
def _bad_invocations(tmp_path) -> dict[str, list[str]]:
    missing = str(tmp_path / "does-not-exist")
    not_audio = tmp_path / "notes.ogg"
    not_audio.write_text("this is a text file, not audio\n" * 20)
    return {
        "check": [missing],
        "score": [missing, missing],
        "report": [missing, missing, "--out", str(tmp_path / "rep")],
        "train": [missing, "--out", str(tmp_path / "run")],
        "predict": [missing, str(not_audio), "--out", str(tmp_path / "sub.csv")],
        "compare": [missing, "--models", "prior", "--out", str(tmp_path / "cmp")],
        "make-data": [str(tmp_path / "out"), "--size", "no-such-size"],
        "explain": [missing, str(not_audio), "--json", str(tmp_path / "sub.csv")],
        "export": [missing],
        "serve": [missing, "--port", "8123"],
        "bench": ["predict", missing, missing, "--out", str(tmp_path / "sub.csv")],
    }


def _verbs() -> list[str]:
    from fakevoice.cli import build_parser

    parser = build_parser()
    return sorted(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_verb_has_a_bad_input_case(tmp_path) -> None:
    assert set(_verbs()) <= set(_bad_invocations(tmp_path)), "add the new verb to the table"


@pytest.mark.parametrize("verb", _verbs())
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, verb: str) -> None:
    args = _bad_invocations(tmp_path)[verb]
    usage = False
    try:
        code = main([verb, *args])
    except SystemExit as exc:  # argparse refusing a value is a usage error: also exit 2
        code, usage = exc.code, True
    captured = capsys.readouterr()
    lines = [line for line in captured.err.strip().splitlines() if line.strip()]
    assert code == 2, (verb, captured.err)
    assert lines and ("error" in lines[-1]), captured.err
    if not usage:
        assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "sub.csv").exists()


@pytest.mark.parametrize("run", ["detector", "detector=", "detector=/does/not/exist"])
def test_compare_refuses_a_bad_run_to_reuse(toy_contest, tmp_path, capsys, run: str) -> None:
    args = ["compare", str(toy_contest), "--models", "prior", "--out", str(tmp_path / "c")]
    assert main([*args, "--run", run]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "Traceback" not in err[0]
