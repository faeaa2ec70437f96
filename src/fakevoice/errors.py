"""Errors a user can act on. The CLI turns each into one line and exit code 2."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class FakevoiceError(Exception):
    """Bad input or environment: the message says what and where, in one line."""


class AudioError(FakevoiceError):
    """An audio file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DataError(FakevoiceError):
    """A data folder or CSV with problems. Carries every problem found, not just the first."""

    def __init__(self, where: str | Path, problems: Iterable[str]) -> None:
        self.where = str(where)
        self.problems = list(problems)
        shown = "; ".join(self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{self.where}: {shown}{more}")


class SubmissionError(FakevoiceError):
    """A submission the organisers' check would refuse."""


class RunError(FakevoiceError):
    """A run directory that is missing, incomplete, or from an incompatible version."""


class SilentAudioWarning(UserWarning):
    """All-silent audio: legitimate input (a clip with no voice), worth a note."""
