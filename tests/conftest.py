"""Shared fixtures: tiny seeded data in the contest layout, built in seconds.

`toy_contest` is not the embedded benchmark (that needs the speech packages); it is a
folder of synthetic tones and noise with the same layout and answer files, so every verb
can be exercised end to end quickly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakevoice.audio import SAMPLE_RATE, write_audio

SHARED = Path(__file__).resolve().parents[2] / "shared"
CONTEST_FIXTURES = SHARED / "fixtures" / "contest"

os.environ.setdefault("MPLBACKEND", "Agg")


def _voice(rng: np.random.Generator, seconds: float, fake: bool) -> np.ndarray:
    """A crude 'voice': a harmonic tone with a vibrato; fakes are steadier and brighter."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0 = rng.uniform(100, 220)
    jitter = 0.002 if fake else 0.03
    vib = (
        1
        + jitter * np.sin(2 * np.pi * rng.uniform(3, 7) * t)
        + jitter * rng.standard_normal(n).cumsum() / np.sqrt(n)
    )
    phase = 2 * np.pi * f0 * np.cumsum(vib) / SAMPLE_RATE
    harmonics = 12 if fake else 6
    x = sum((0.6 / k) * np.sin(k * phase) for k in range(1, harmonics + 1))
    env = np.clip(np.sin(np.pi * t / max(seconds, 1e-3)) * 1.5, 0, 1)
    return (0.3 * x * env).astype(np.float32)


def build_toy_contest(
    root: Path, *, n_train: int = 40, n_test: int = 24, n_unlabeled: int = 8, seed: int = 0
) -> Path:
    rng = np.random.default_rng(seed)
    for sub in ("train", "test", "unlabeled_data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n_train):
        fake = i % 2 == 0
        cid = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 8))
        x = _voice(rng, rng.uniform(1.5, 4.0), fake) + 0.002 * rng.standard_normal(1).astype(
            np.float32
        )
        write_audio(root / "train" / f"{cid}.ogg", x)
        rows.append((cid, f"./train/{cid}.ogg", "fake" if fake else "real"))
    pd.DataFrame(rows, columns=["id", "path", "label"]).to_csv(root / "train.csv", index=False)

    def scene(k: int) -> tuple[np.ndarray, int, int]:
        n = 5 * SAMPLE_RATE
        x = 0.05 * rng.standard_normal(n).astype(np.float32)
        combo = [(), (True,), (False,), (True, False)][k % 4]
        for is_fake in combo:
            v = _voice(rng, rng.uniform(1.0, 4.0), is_fake)
            off = int(rng.integers(0, n - len(v)))
            x[off : off + len(v)] += v
        return x, int(True in combo), int(False in combo)

    test_rows, answer = [], []
    for i in range(n_test):
        cid = f"TEST_{i:05d}"
        x, f, r = scene(i)
        write_audio(root / "test" / f"{cid}.ogg", x)
        test_rows.append((cid, f"./test/{cid}.ogg"))
        answer.append((cid, f, r))
    pd.DataFrame(test_rows, columns=["id", "path"]).to_csv(root / "test.csv", index=False)
    pd.DataFrame(answer, columns=["id", "fake", "real"]).to_csv(
        root / "test_answer.csv", index=False
    )
    sample = pd.DataFrame({"id": [r[0] for r in test_rows], "fake": 0, "real": 0})
    sample.to_csv(root / "sample_submission.csv", index=False)
    for i in range(n_unlabeled):
        x, _, _ = scene(i + 1)
        write_audio(root / "unlabeled_data" / f"UNL{i:05d}.ogg", x)
    return root


@pytest.fixture(scope="session")
def toy_contest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention toy contest folder shared by the session: copy before editing."""
    return build_toy_contest(tmp_path_factory.mktemp("toy") / "data")


@pytest.fixture
def contest_fixtures() -> Path:
    if not CONTEST_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/contest not present")
    return CONTEST_FIXTURES


@pytest.fixture(scope="session")
def toy_detector(toy_contest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A detector trained on the toy contest (4 x 20 steps): a run that has learned the
    toy's fake (steady, bright) from real, shared by the tests that need one.

    Its voice-activity gate is on by configuration: the toy's voices are tones, which
    Silero mostly does not call speech in the simulated validation scenes, so
    ``vad_gate=auto`` drops the gate here (validation 0.44 gated, 0.24 without; the toy
    test 0.155 gated, 0.274 without). The gate's choice is tested in test_detector."""
    from fakevoice.train.config import resolve
    from fakevoice.train.loop import train

    sets = ["steps_per_epoch=20", "val_scenes=48", "vad_gate=on"]
    cfg = resolve("detector", epochs=4, sets=sets)
    root = tmp_path_factory.mktemp("toy-detector")
    train(cfg, toy_contest, root / "run", cache_dir=root / "cache" / "features")
    return root / "run"
