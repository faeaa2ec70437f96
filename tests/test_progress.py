"""Progress off a terminal: plain lines with counts and time, not a silent log."""

from __future__ import annotations

from fakevoice.progress import LineProgress, progress


def test_lines_when_not_a_terminal(capsys) -> None:
    out = list(progress(range(5), desc="work", unit="file", every=0))
    assert out == [0, 1, 2, 3, 4]
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("work: start 0/5 file")
    assert lines[-1].startswith("work: done 5/5 file in ")
    assert len(lines) == 6  # start, four steps, done


def test_manual_updates_and_postfix(capsys) -> None:
    bar = progress(total=10, desc="predict", unit="file")
    assert isinstance(bar, LineProgress)
    bar.update(4)
    bar.set_postfix({"loss": "0.5"})
    bar.update(6)
    bar.close()
    bar.close()  # closing twice says it once
    err = capsys.readouterr().err
    assert err.count("done") == 1 and "10/10 file" in err and "loss=0.5" in err


def test_disabled_prints_nothing(capsys) -> None:
    assert list(progress(range(3), desc="quiet", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""
