"""Helpers for fault tests: a tiny full disk and a read-only folder, made for real.

Root ignores file permissions, so a read-only folder is a read-only tmpfs mount; a full
disk is a tmpfs of a few kilobytes. Where mounting is not allowed the tests skip.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


@contextlib.contextmanager
def mounted(target: Path, options: str) -> Iterator[Path]:
    if not _mount(target, options):
        pytest.skip("cannot mount a tmpfs here (needs root in a mount namespace)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def leftovers(folder: Path) -> list[str]:
    """Files a failed write left behind (temporary or partial)."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file())
