"""Real kills: SIGKILL a `train` or `predict` process midway, rerun with --resume, and get
exactly what an uninterrupted run gives. Complements the in-process stop tests of
test_train.py and test_predict.py with an actual dead process.

The process is held at a known point (``FAKEVOICE_HOLD_AFTER``, after the first durable
epoch or part) and killed there, so the test never races the job to its end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fakevoice.runs import read_manifest
from tests.predictions import assert_same_predictions

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}


def fv(*args: str) -> list[str]:
    return [sys.executable, "-m", "fakevoice", *args]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "model.pt", weights_only=True)["model"]


def _kill_at(cmd: list[str], hold: str, timeout: float = 120.0) -> bool:
    """Start ``cmd`` held at ``hold`` (WHAT:N), SIGKILL it once it says it is held; True if
    it was killed there (False: it ended or never got there)."""
    env = {**ENV, "FAKEVOICE_HOLD_AFTER": hold}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        assert proc.stderr is not None
        for line in iter(proc.stderr.readline, b""):
            if line.startswith(b"held after"):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            if time.monotonic() > deadline:
                break
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_killed_training_resumes_to_identical_weights(toy_contest: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = [
        str(toy_contest),
        "--model",
        "mel-cnn",
        "--epochs",
        "6",
        "--seed",
        "3",
        "--cache-dir",
        str(cache),
        "--set",
        "batch_size=8",
    ]
    full = tmp_path / "full"
    subprocess.run(fv("train", *args, "--out", str(full)), env=ENV, check=True, capture_output=True)
    cut = tmp_path / "cut"
    killed = _kill_at(fv("train", *args, "--out", str(cut)), "epochs:2")
    assert killed, "training never reached its second epoch"
    assert torch.load(cut / "checkpoint.pt", weights_only=True)["epoch"] == 2
    assert read_manifest(cut)["state"] == "training"
    assert not (cut / "model.pt").exists()
    proc = subprocess.run(
        fv("train", *args, "--out", str(cut), "--resume"), env=ENV, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    a, b = _weights(full), _weights(cut)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_killed_prediction_resumes_to_identical_output(toy_contest: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    subprocess.run(
        fv(
            "train",
            str(toy_contest),
            "--model",
            "mfcc-mlp",
            "--epochs",
            "1",
            "--out",
            str(run),
            "--cache-dir",
            str(tmp_path / "cache"),
        ),
        env=ENV,
        check=True,
        capture_output=True,
    )
    # Many inputs, so the process is still busy when the first part lands.
    clips = tmp_path / "clips"
    clips.mkdir()
    sources = sorted((toy_contest / "test").glob("*.ogg"))
    for i in range(200):  # 200: the least that predict gives decoding workers
        (clips / f"c{i:04d}.ogg").symlink_to(sources[i % len(sources)])
    full = tmp_path / "full.csv"
    subprocess.run(
        fv("predict", str(run), str(clips), "--out", str(full)),
        env=ENV,
        check=True,
        capture_output=True,
    )
    out = tmp_path / "cut.csv"
    parts = tmp_path / ".cut.csv.parts"
    killed = _kill_at(fv("predict", str(run), str(clips), "--out", str(out)), "parts:1")
    assert killed, "prediction never finished its first part"
    assert not out.exists()
    assert len(list(parts.glob("part_*.json"))) == 1
    proc = subprocess.run(
        fv("predict", str(run), str(clips), "--out", str(out), "--resume"),
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert_same_predictions(out, full)
    assert not parts.exists()
