"""Write files so that a crash, a kill or a full disk never leaves half a file behind."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from fakevoice.errors import FakevoiceError

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOENT: "folder does not exist",
}


def describe_os_error(exc: OSError) -> str:
    return _REASONS.get(exc.errno or -1, exc.strerror or str(exc))


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it into place.

    The temporary file is in the same folder so the final rename is atomic.
    On any failure it is removed and `path` is left as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent
        )
        os.close(fd)
    except OSError as exc:
        raise FakevoiceError(f"{path}: cannot write: {describe_os_error(exc)}") from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise FakevoiceError(f"{path}: cannot write: {describe_os_error(exc)}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing that replaces `path` only when closed cleanly."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        try:
            fh = open(tmp, mode, encoding=encoding, newline="" if "b" not in mode else None)  # noqa: SIM115
        except OSError as exc:
            raise FakevoiceError(f"{path}: cannot write: {describe_os_error(exc)}") from exc
        with fh:
            yield fh


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
