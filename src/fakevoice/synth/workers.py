"""Ordered maps over forked worker processes for the benchmark's build, with errors returned
as values and each worker held to one thread.

A map may carry a ``context`` (the render tables, rooms and noise bank): it is handed to
each worker once, by the pool's initialiser (forked, not pickled), and to every call as its
first argument, so jobs stay small and no caller has to park state in a module global.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fakevoice.errors import FakevoiceError
from fakevoice.progress import progress as show_progress


@dataclass(frozen=True)
class _Failed:
    message: str


_NO_CONTEXT = object()
# the context of the map this worker process serves, set once by its initialiser
_worker_context: Any = _NO_CONTEXT


def _call(fn: Callable[..., Any], arg: Any, context: Any) -> Any:
    """Run one job, returning errors as values: an exception whose class cannot be rebuilt
    from its args (AudioError) would hang multiprocessing's result handler."""
    try:
        return fn(arg) if context is _NO_CONTEXT else fn(context, arg)
    except Exception as exc:
        return _Failed(f"{type(exc).__name__}: {exc}")


def _in_worker(job: tuple[Callable[..., Any], Any]) -> Any:
    return _call(*job, _worker_context)


def _start_worker(context: Any) -> None:
    """Worker initialiser: keep the map's context, and one thread: the workers already fill
    the cores, so BLAS, OpenMP and torch threads inside each would only fight over them
    (measured: 1.4x slower rendering)."""
    import sys

    from threadpoolctl import threadpool_limits

    global _worker_context
    _worker_context = context
    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def parallel_map(
    fn: Callable[..., Any],
    jobs: Sequence[Any],
    workers: int,
    desc: str,
    progress: bool,
    context: Any = _NO_CONTEXT,
) -> list[Any]:
    """``[fn(job) for job in jobs]``, or ``fn(context, job)`` when a context is given, in
    order, over ``workers`` forked processes; any failure raises one FakevoiceError."""
    bar = dict(desc=desc, total=len(jobs), enabled=progress, unit="item")
    if workers <= 1 or len(jobs) < 8:
        out = [_call(fn, j, context) for j in show_progress(jobs, **bar)]
    else:
        ctx = mp.get_context("fork")
        wrapped = [(fn, j) for j in jobs]
        with ctx.Pool(workers, initializer=_start_worker, initargs=(context,)) as p:
            out = list(show_progress(p.imap(_in_worker, wrapped, chunksize=4), **bar))
    failed = [o for o in out if isinstance(o, _Failed)]
    if failed:
        raise FakevoiceError(f"{desc}: {len(failed)} item(s) failed, e.g. {failed[0].message}")
    return out
