"""A deterministic place for tests to kill a long job: with ``FAKEVOICE_HOLD_AFTER=WHAT:N``
in the environment, the process stops (sleeps until it is killed) right after the N-th
durable unit of WHAT (``epochs`` of training, ``parts`` of prediction) is on disk, so a
test's SIGKILL always lands at the same point and never after the job has finished.
Without the variable it does nothing."""

from __future__ import annotations

import os
import sys
import time

ENV = "FAKEVOICE_HOLD_AFTER"


def hold_after(what: str, count: int) -> None:
    want, _, n = os.environ.get(ENV, "").partition(":")
    if want == what and n.isdigit() and count >= int(n):
        print(f"held after {count} {what} ({ENV})", file=sys.stderr, flush=True)
        while True:
            time.sleep(60)
