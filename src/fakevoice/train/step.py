"""One optimiser step over this process's micro-batches: mixed precision, gradients
averaged over micro-batches and processes, batch-norm statistics kept in step.

A step's batch is cut into ``micro_batches`` parts. Each part is normalised by batch
norm on its own and contributes the mean of their losses, so a single process with
``micro_batches=N`` trains exactly as N processes with one part each do: torchrun only
decides where the parts are computed. Batch norm's running statistics of every part
start from the same values and are averaged afterwards (across processes too), so they
do not depend on how the parts were spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel

from fakevoice.errors import FakevoiceError
from fakevoice.models.common import attach_generator
from fakevoice.train.distributed import World

Batch = dict[str, torch.Tensor]
PRECISIONS = ("auto", "32", "bf16", "16")


def resolve_precision(want: str, device: torch.device) -> str:
    """``auto``: bfloat16 on a GPU that has it, float16 on other GPUs, float32 on a CPU."""
    if want == "auto":
        if device.type != "cuda":
            return "32"
        return "bf16" if torch.cuda.is_bf16_supported() else "16"
    if want == "16" and device.type != "cuda":
        raise FakevoiceError(
            "precision=16 (float16 with loss scaling) needs a CUDA device; use bf16 or 32 here"
        )
    return want


class _StageLoss(nn.Module):
    """The stage's loss as a module, so DistributedDataParallel can wrap it: the model is
    a submodule (its parameters are the ones DDP averages), the stage computes the loss."""

    def __init__(self, ctx: Any, stage: Any) -> None:
        super().__init__()
        self.model = ctx.model
        self._ctx, self._stage = ctx, stage

    def forward(self, batch: Batch, progress: float) -> torch.Tensor:
        return self._stage.loss(self._ctx, batch, progress)


def _to(batch: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class Stepper:
    """Runs the steps of one stage (built when the stage begins, on the training device)."""

    def __init__(self, ctx: Any, stage: Any, world: World, precision: str, shards: int) -> None:
        self.model = ctx.model
        self.name = stage.name
        self.world = world
        self.device = world.device
        self.precision = precision
        self.shards = shards
        self.scaler = torch.amp.GradScaler("cuda") if precision == "16" else None
        # only when parts exist is there anything to average (one part: the plain loop)
        self.norms = (
            [m for m in self.model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
            if shards > 1
            else []
        )
        net: nn.Module = _StageLoss(ctx, stage)
        # DDP refuses a module with nothing to train (the prior)
        if world.parallel and any(p.requires_grad for p in self.model.parameters()):
            trained = {id(p) for p in stage.parameters(ctx)}
            net = DistributedDataParallel(
                net,
                device_ids=[self.device] if self.device.type == "cuda" else None,
                # running statistics are averaged here, not copied from rank 0 each step
                forward_sync_buffers=False,
                # a stage training a subset (no domain head, the autoencoder) leaves some
                # parameters out of its graph
                find_unused_parameters=any(
                    id(p) not in trained for p in self.model.parameters() if p.requires_grad
                ),
            )
        self.net = net

    def _autocast(self):
        if self.precision == "32":
            return nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _stats(self) -> list[torch.Tensor]:
        return [t for m in self.norms for t in (m.running_mean, m.running_var) if t is not None]

    def step(
        self,
        parts: Sequence[Batch],
        progress: float,
        opt: torch.optim.Optimizer,
        generators: Sequence[torch.Generator] | None = None,
        where: str = "",
    ) -> tuple[float, int]:
        """Forward and backward of each part, one optimiser step; (sum of loss x clips, clips)."""
        start = [t.clone() for t in self._stats()]
        tracked = [m.num_batches_tracked.clone() for m in self.norms]
        summed = [torch.zeros_like(t) for t in start]
        opt.zero_grad(set_to_none=True)
        total, count = 0.0, 0
        for j, batch in enumerate(parts):
            for t, s in zip(self._stats(), start, strict=True):
                t.copy_(s)
            if generators is not None:
                attach_generator(self.model, generators[j])
            batch = _to(batch, self.device)
            last = j == len(parts) - 1
            sync = nullcontext() if last or not self.world.parallel else self.net.no_sync()
            with sync:
                with self._autocast():
                    loss = self.net(batch, progress)
                if not self.world.all_true(bool(torch.isfinite(loss))):
                    raise FloatingPointError(f"{self.name} loss is not finite {where}".rstrip())
                scaled = loss.float() if len(parts) == 1 else loss.float() / len(parts)
                (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
            for acc, t in zip(summed, self._stats(), strict=True):
                acc.add_(t)
            total += float(loss.detach()) * len(batch["x"])
            count += len(batch["x"])
        if start:
            stats = self._stats()
            for t, acc in zip(stats, summed, strict=True):
                t.copy_(acc / len(parts))
            self.world.mean_(stats)
            for m, n in zip(self.norms, tracked, strict=True):
                m.num_batches_tracked.copy_(n + 1)  # one step, however many parts
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        return total, count
