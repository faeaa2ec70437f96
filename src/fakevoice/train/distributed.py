"""Data-parallel training across processes: torchrun's environment, the process group,
and the few collectives the training loop needs.

``torchrun --nproc-per-node N -m fakevoice train ...`` starts N copies of the command;
each reads its rank from the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT), joins one process group (NCCL between GPUs, gloo on CPUs) and trains a
share of every step's micro-batches on its own device; gradients are averaged by
``torch.nn.parallel.DistributedDataParallel``. Rank 0 alone writes the run directory.
Without torchrun the world is one process and nothing here talks to anyone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
import torch.distributed as tdist

from fakevoice.errors import FakevoiceError
from fakevoice.orphan import exit_when_orphaned

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1

    def mine(self, shards: int) -> range:
        """The micro-batches of each step this process computes (a contiguous share)."""
        if shards % self.size:
            raise FakevoiceError(
                f"micro_batches={shards} cannot be shared by {self.size} processes: "
                "give a multiple of the process count (or 0: one per process)"
            )
        per = shards // self.size
        return range(self.rank * per, (self.rank + 1) * per)

    def on_main(self, fn: Callable[[], T]) -> T:
        """``fn()`` run by rank 0 alone; every rank returns its result or raises its error,
        so an error on rank 0 (a refused run folder) never leaves the others waiting."""
        if not self.parallel:
            return fn()
        box: list[Any] = [None]
        if self.main:
            try:
                box[0] = ("ok", fn())
            except Exception as exc:  # handed to every rank, raised there
                box[0] = ("error", exc)
        tdist.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise value
        return value

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (filling the caches), then the others."""
        if self.parallel and not self.main:
            tdist.barrier()
        try:
            yield
        finally:
            if self.parallel and self.main:
                tdist.barrier()

    def all_true(self, ok: bool) -> bool:
        """Whether ``ok`` holds on every rank (one small all-reduce)."""
        if not self.parallel:
            return ok
        flag = torch.tensor([0.0 if ok else 1.0], device=self._comm_device())
        tdist.all_reduce(flag)
        return float(flag.item()) == 0.0

    def sum(self, values: list[float]) -> list[float]:
        if not self.parallel:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device())
        tdist.all_reduce(t)
        return [float(v) for v in t.cpu()]

    def mean_(self, tensors: list[torch.Tensor]) -> None:
        """Average floating-point ``tensors`` across ranks in place."""
        if not self.parallel:
            return
        for t in tensors:
            tdist.all_reduce(t)
            t.div_(self.size)

    def _comm_device(self) -> torch.device:
        # NCCL only moves CUDA tensors
        return self.device if tdist.get_backend() == "nccl" else torch.device("cpu")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise FakevoiceError(f"environment variable {name}={value!r} is not an integer") from None


def pick_device(want: str, local_rank: int) -> torch.device:
    """``auto``: this process's GPU when CUDA is there, else the CPU; or a torch device."""
    if want == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(want)
    except RuntimeError:
        msg = f"device={want!r} is not a torch device (auto, cpu, cuda, cuda:1)"
        raise FakevoiceError(msg) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FakevoiceError(f"device={want!r}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


@contextmanager
def world(device: str = "auto") -> Iterator[World]:
    """This process's :class:`World`, joining torchrun's process group when WORLD_SIZE > 1
    (and leaving it afterwards) unless the caller already joined one."""
    size = _env_int("WORLD_SIZE", 1)
    local = _env_int("LOCAL_RANK", 0)
    dev = pick_device(device, local)
    if size <= 1:
        yield World(device=dev)
        return
    exit_when_orphaned()  # a killed torchrun must not leave its workers waiting in a collective
    joined = False
    if not tdist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        tdist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        joined = True
    try:
        yield World(tdist.get_rank(), tdist.get_world_size(), local, dev)
    finally:
        if joined:
            tdist.destroy_process_group()
