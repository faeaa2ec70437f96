from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fakevoice.cli import main


def _submission(answer: Path, out: Path, seed: int = 0) -> Path:
    ans = pd.read_csv(answer, dtype={"id": str})
    rng = np.random.default_rng(seed)
    sub = ans.copy()
    for c in ("fake", "real"):
        sub[c] = np.clip(0.7 * ans[c] + rng.uniform(0, 0.3, len(ans)), 0, 1)
    sub.sample(frac=1, random_state=seed).to_csv(out, index=False)
    return out


def test_report_writes_figures_and_tables(tmp_path: Path, toy_contest: Path, capsys) -> None:
    answer = toy_contest / "test_answer.csv"
    sub = _submission(answer, tmp_path / "sub.csv")
    meta = tmp_path / "meta.csv"
    ans = pd.read_csv(answer, dtype={"id": str})
    pd.DataFrame({"id": ans["id"], "n_voices": ans["fake"] + ans["real"]}).to_csv(meta, index=False)
    out = tmp_path / "report"
    assert main(["report", str(answer), str(sub), "--out", str(out), "--meta", str(meta)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "report.md",
        "report.html",
        "reliability.png",
        "roc.png",
        "histograms.png",
        "breakdown.png",
        "breakdown.csv",
        "score.json",
    } <= names
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    md = (out / "report.md").read_text()
    assert "Contest score" in md and "n_voices" in md
    bd = pd.read_csv(out / "breakdown.csv")
    assert set(bd["value"].astype(str)) == {"0", "1", "2"}
    zero = bd[bd["value"].astype(str) == "0"].iloc[0]
    assert np.isnan(zero["auc"]) and np.isfinite(zero["brier"])
    # counts are integers, and every group with a score has the constant prior's beside it
    assert bd["n"].dtype.kind == "i" and "| 0 | " in md and ".0000 | n/a" not in md
    scored = bd[np.isfinite(bd["score"])]
    assert len(scored) >= 1 and np.isfinite(scored["prior_score"]).all()
    assert (scored["score"] < scored["prior_score"]).all()  # the toy submission beats it
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4


def test_report_refuses_bad_submission(tmp_path: Path, toy_contest: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,fake\nTEST_00000,0.5\n")
    code = main(
        ["report", str(toy_contest / "test_answer.csv"), str(bad), "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "columns must be exactly id,fake,real" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
