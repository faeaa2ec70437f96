"""Child processes that end with their parent.

A parent killed outright (SIGKILL, the OOM killer) cannot stop its children: decoding
workers would wait on their queue for ever, and torchrun's training processes would sit
in a collective holding their memory (or a GPU). Reparented means orphaned, so exit.
"""

from __future__ import annotations

import os
import threading
import time


def _watch(parent: int, every: float) -> None:
    while True:
        time.sleep(every)
        if os.getppid() != parent:
            os._exit(1)


def exit_when_orphaned(every: float = 1.0) -> None:
    """Start a daemon thread that ends this process once its parent has gone."""
    threading.Thread(target=_watch, args=(os.getppid(), every), daemon=True).start()
