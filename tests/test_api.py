"""The Python API: `Detector.load(run).predict(...)` on files, arrays and lists gives
what `fakevoice predict` writes, and bad items name themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from fakevoice import Detector
from fakevoice.cli import main
from fakevoice.errors import FakevoiceError


@pytest.fixture(scope="module")
def detector(toy_detector: Path) -> Detector:
    return Detector.load(toy_detector)


def test_files_arrays_and_lists_match_predict(detector, toy_detector, toy_contest, tmp_path):
    files = sorted((toy_contest / "test").glob("*.ogg"))[:5]
    out = tmp_path / "sub.csv"
    assert main(["predict", str(toy_detector), *map(str, files), "--out", str(out)]) == 0
    want = pd.read_csv(out).set_index("id")
    one = detector.predict(files[0])
    assert set(one) == {"fake", "real"}
    many = detector.predict([str(f) for f in files])
    for f, got in zip(files, many, strict=True):
        assert got["fake"] == pytest.approx(want.loc[str(f), "fake"], abs=1e-5)
        assert got["real"] == pytest.approx(want.loc[str(f), "real"], abs=1e-5)
    # the same samples as an array, at the file's own rate, stereo and as 16-bit PCM
    x, sr = sf.read(files[0], dtype="float32")
    assert detector.predict(x, sample_rate=sr)["fake"] == pytest.approx(one["fake"], abs=1e-5)
    stereo = np.stack([x, x], axis=1)
    assert detector.predict(stereo, sample_rate=sr)["real"] == pytest.approx(one["real"], abs=1e-5)
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    assert detector.predict(pcm, sample_rate=sr)["fake"] == pytest.approx(one["fake"], abs=2e-3)
    mixed = detector.predict([files[1], x], sample_rate=sr)
    # batched with other windows, a clip's float sums may differ in the last bits
    assert mixed[0] == pytest.approx(many[1], abs=1e-5)
    assert mixed[1]["fake"] == pytest.approx(one["fake"], abs=1e-5)
    assert detector.model == "detector" and detector.sample_rate > 0


def test_bad_items_name_themselves(detector, tmp_path):
    text = tmp_path / "notes.ogg"
    text.write_text("not audio\n" * 50)
    with pytest.raises(FakevoiceError, match=r"notes\.ogg"):
        detector.predict(text)
    assert detector.predict([text], errors="skip") == [None]
    with pytest.raises(FakevoiceError, match="item 0: an array needs a positive sample_rate"):
        detector.predict(np.zeros(1000, np.float32))
    with pytest.raises(FakevoiceError, match="item 1: the array holds NaN"):
        detector.predict([np.zeros(800), np.full(800, np.nan)], sample_rate=8000)
    with pytest.raises(FakevoiceError, match="item 0: expected a non-empty"):
        detector.predict(np.zeros(0), sample_rate=8000)
    with pytest.raises(ValueError):
        detector.predict(text, errors="ignore")
    # silence and a very short array are legitimate input
    quiet = detector.predict([np.zeros(16000), np.zeros(10)], sample_rate=16000)
    assert all(np.isfinite([q["fake"], q["real"]]).all() for q in quiet)


def test_explain_gives_the_cli_json(detector, toy_contest):
    f = sorted((toy_contest / "test").glob("*.ogg"))[0]
    ex = detector.explain(f)
    assert ex["fake"] == pytest.approx(detector.predict(f)["fake"], abs=1e-6)
    assert ex["timeline"] and "saliency" in ex
