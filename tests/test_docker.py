"""The Docker image builds and runs the CLI, where a Docker engine is available."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _engine() -> str | None:
    """None if a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "no docker client installed"
    ok = subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0
    return None if ok else "no Docker engine answers (`docker info` failed)"


@pytest.mark.slow
def test_the_image_builds_and_runs_the_cli() -> None:
    why = _engine()
    if why:
        pytest.skip(why)
    tag = "fakevoice:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=3000)
    out = subprocess.run(
        ["docker", "run", "--rm", tag, "--version"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and out.stdout.startswith("fakevoice ")
    helped = subprocess.run(
        ["docker", "run", "--rm", tag, "serve", "--help"], capture_output=True, text=True
    )
    assert "--port" in helped.stdout


def test_the_image_installs_what_the_service_needs() -> None:
    """Whatever the engine: the image installs the serve extra and runs the CLI."""
    text = (ROOT / "Dockerfile").read_text()
    assert '".[serve]"' in text and 'ENTRYPOINT ["fakevoice"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "data" in ignored and "runs" in ignored  # no benchmark audio or runs in the image
