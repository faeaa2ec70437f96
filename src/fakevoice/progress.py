"""Progress for long work: a tqdm bar on a terminal; elsewhere (logs, CI, ``nohup``) plain
lines on stderr, one when a stage starts, one every ``every`` seconds at most, and one when
it ends, each with the count done and the time taken, so a log shows where a job is."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def _is_terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class LineProgress(Generic[T]):
    """The tqdm calls this project uses (iterate, update, set_postfix, close), as lines."""

    def __init__(
        self,
        iterable: Iterable[T] | None,
        desc: str,
        total: int | None,
        unit: str,
        every: float,
    ) -> None:
        self.iterable, self.desc, self.unit, self.every = iterable, desc, unit, every
        self.total = total if total is not None else _length(iterable)
        self.n, self.postfix = 0, ""
        self.t0 = self.last = time.perf_counter()
        self.closed = False
        self._say("start")

    def _say(self, what: str) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        took = time.perf_counter() - self.t0
        extra = f" {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {what} {self.n}{of} {self.unit} in {took:.0f} s{extra}",
              file=sys.stderr, flush=True)  # fmt: skip

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= self.every and (self.total is None or self.n < self.total):
            self.last = now
            self._say("at")

    def set_postfix(self, values: dict[str, Any] | None = None, **kw: Any) -> None:
        items = {**(values or {}), **kw}
        self.postfix = " ".join(f"{k}={v}" for k, v in items.items())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._say("done")

    def __iter__(self) -> Iterator[T]:
        assert self.iterable is not None
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def __enter__(self) -> LineProgress[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _length(iterable: Iterable[Any] | None) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def main_process() -> bool:
    """False in a torchrun process other than rank 0, which leaves the talking to rank 0."""
    return os.environ.get("RANK", "0") == "0"


def progress(
    iterable: Iterable[T] | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool = True,
    leave: bool = True,
    every: float = 30.0,
) -> Any:
    """A progress bar over ``iterable`` (or one to ``update`` by hand): tqdm on a terminal,
    :class:`LineProgress` otherwise, nothing when ``enabled`` is False or in a torchrun
    process other than rank 0 (one log, not one per process)."""
    if not enabled or not main_process():
        return tqdm(iterable, total=total, disable=True)
    if _is_terminal():
        return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave)
    return LineProgress(iterable, desc, total, unit, every)
