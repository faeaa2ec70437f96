"""Peak resident memory of this process and its children, sampled while a block runs.

``getrusage`` gives each process's own peak, not the peak of their sum; decoding
workers and the parent peak together, so the total is sampled from /proc (Linux).
Elsewhere the sampler falls back to this process's own peak.
"""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            # the command name is in parentheses and may hold spaces: the ppid follows it
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        for c in parents.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_rss_bytes(pid: int | None = None) -> int:
    """Resident bytes of ``pid`` (default: this process) and all its descendants now."""
    pid = os.getpid() if pid is None else pid
    return sum(_rss_bytes(p) for p in [pid, *_descendants(pid)])


class PeakMemory:
    """``with PeakMemory() as m: ...`` then ``m.peak_mb``: the highest total resident
    memory of this process and its children seen, sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._proc = Path("/proc/self/statm").exists()

    def _sample(self) -> None:
        if self._proc:
            self.peak = max(self.peak, tree_rss_bytes())
        else:  # pragma: no cover - not Linux
            self.peak = max(self.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20
