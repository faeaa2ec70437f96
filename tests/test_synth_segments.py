"""The voice-segment cache: what a warm build reads back equals what a cold build measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fakevoice.synth import segments as seg

FIELDS = {
    "klass": "real",
    "identity": "train:spk",
    "source": "test",
    "generator": "",
    "speaker": "spk",
    "language": "en",
}


def voice(seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * seg.SR)) / seg.SR
    return (0.2 * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(len(t))).astype(
        np.float32
    )


def test_cached_segment_equals_the_stored_one(tmp_path: Path):
    stored = seg.store(voice(), tmp_path, "ab12", FIELDS)
    assert stored is not None
    assert seg.cached(tmp_path, "ab12", FIELDS) == stored
    assert seg.cached(tmp_path, "cd34", FIELDS) is None


def test_missing_or_damaged_measurements_are_measured_again(tmp_path: Path):
    stored = seg.store(voice(), tmp_path, "ab12", FIELDS)
    side = Path(stored.path).with_suffix(".json")
    for damage in (lambda: side.unlink(), lambda: side.write_text("{not json")):
        damage()
        assert seg.cached(tmp_path, "ab12", FIELDS) == stored
        assert side.exists()  # written back, so the next build reads it


def test_damaged_audio_is_dropped_from_the_cache(tmp_path: Path):
    stored = seg.store(voice(), tmp_path, "ab12", FIELDS)
    Path(stored.path).with_suffix(".json").unlink()
    Path(stored.path).write_bytes(b"garbage")
    assert seg.cached(tmp_path, "ab12", FIELDS) is None
    assert not Path(stored.path).exists()


def test_cut_short_audio_is_dropped_even_with_its_measurements(tmp_path: Path):
    stored = seg.store(voice(), tmp_path, "ab12", FIELDS)
    data = Path(stored.path).read_bytes()
    Path(stored.path).write_bytes(data[: len(data) // 2])
    assert seg.cached(tmp_path, "ab12", FIELDS) is None
