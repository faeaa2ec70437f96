"""The wave cache: files decoded once into an int16 memory map, in this process or in
decoding workers, with the same bytes either way and bad files listed, not fatal."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fakevoice.audio import SAMPLE_RATE, write_audio
from fakevoice.train.waves import load_waves


def _files(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i, seconds in enumerate((0.5, 3.0, 14.0, 1.2)):
        p = root / f"clip{i}.ogg"
        write_audio(p, (0.2 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32))
        paths.append(str(p))
    (root / "broken.ogg").write_bytes(b"OggS not really")
    paths.insert(2, str(root / "broken.ogg"))
    (root / "empty.wav").write_bytes(b"")
    paths.append(str(root / "empty.wav"))
    return paths


def test_workers_store_what_one_process_stores(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    here = load_waves(paths, max_seconds=12.0, cache_dir=tmp_path / "a", workers=0)
    there = load_waves(paths, max_seconds=12.0, cache_dir=tmp_path / "b", workers=2)
    a, b = next((tmp_path / "a").glob("*.i16")), next((tmp_path / "b").glob("*.i16"))
    assert a.read_bytes() == b.read_bytes()
    assert list(here.ok) == list(there.ok) == [True, True, False, True, True, False]
    assert [f for f, _ in here.failed] == [f for f, _ in there.failed] == [paths[2], paths[5]]
    assert all(reason for _, reason in there.failed)
    # cut at max_seconds, and read back as the decoder gave it (within int16 rounding)
    assert here.length(3) == 12 * SAMPLE_RATE
    assert np.abs(here.get(1)).max() <= 1.0 and here.length(1) == 3 * SAMPLE_RATE
