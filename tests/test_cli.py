from __future__ import annotations

import pytest

from fakevoice.cli import build_parser, main


def test_every_verb_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"check", "score"} <= set(verbs)
    for verb in verbs:
        with pytest.raises(SystemExit) as exc:
            main([verb, "--help"])
        assert exc.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-verb"])
    assert exc.value.code == 2


def test_bad_input_exits_2_with_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "data folder not found" in err[0]


def test_make_data_does_not_load_torch() -> None:
    """The builder forks its workers from this process: torch would ride along in each."""
    import subprocess
    import sys

    code = (
        "import sys; from fakevoice.cli import build_parser; "
        "p = build_parser('make-data'); p.parse_args(['make-data', 'out']); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    # Every verb is still there when none is named (help, usage errors).
    assert "train" in build_parser(None)._subparsers._group_actions[0].choices
