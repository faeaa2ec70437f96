"""Inputs found by benchmarks/fuzz_audio.py that once broke the loader's contract.

Each must now decode to finite float32 mono or raise AudioError naming the file.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from fakevoice.audio import load_audio
from fakevoice.errors import AudioError

FINDINGS = sorted((Path(__file__).parent / "fuzz_findings").glob("*.bin"))
EXPECTED = {
    # float WAV with finite values near 4e37: resampling overflowed to inf
    "huge_float_wav.bin": "sample values out of range",
}


def test_every_finding_has_an_expectation() -> None:
    assert FINDINGS, "fuzz_findings folder is empty"
    assert {p.name for p in FINDINGS} == set(EXPECTED)


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda p: p.name)
def test_finding_honours_the_contract(tmp_path: Path, finding: Path) -> None:
    target = tmp_path / "input.wav"
    shutil.copy(finding, target)
    reason = EXPECTED[finding.name]
    if reason is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = load_audio(target)
        assert x.dtype == np.float32 and np.isfinite(x).all()
    else:
        with pytest.raises(AudioError, match=reason) as exc:
            load_audio(target)
        assert str(target) in str(exc.value)
