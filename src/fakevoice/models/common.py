"""Pieces every model family shares: the Detector wrapper, seeded dropout and seeded init.

A family net maps prepared input to an embedding (``embed``) and the embedding to two
logits (``classify``), columns ordered as the contest's (fake, real). The Detector wraps
it with input normalisation (fitted on training data, saved with the weights) and the
way the two logits become the two probabilities (``head``):

- ``sigmoid``: two independent sigmoids trained with binary cross-entropy on the one-hot
  label (the organisers' baseline and the seed's ``torch.sigmoid`` models).
- ``softmax``: a softmax over the pair, so ``p_real = 1 - p_fake`` (the seed's
  ``CrossEntropy`` + ``torch.max`` models).

Both assume exactly one voice per clip, as the seed did. The detector's head is

- ``presence``: the net gives two presence logits (a fake voice is in the clip, a real
  one is) and six composition logits (none, F, R, FF, RR, FR); the probabilities are two
  independent sigmoids of the presence logits divided by a per-column temperature
  (fitted after training, stored with the weights); the loss is binary cross-entropy on
  presence plus ``composition_weight`` times cross-entropy on the composition.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn

HEADS = ("sigmoid", "softmax", "presence")
POOLINGS = ("mean", "none")


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` intra-op threads inside the block (0: leave torch's choice), then restore.

    Tiny models run faster on one thread, and on a shared machine two spinning threads
    of a tiny model can be ten times slower than one.
    """
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SeededDropout(nn.Module):
    """Dropout whose mask comes from an attached torch.Generator, never the global RNG."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError("dropout p must lie in [0, 1)")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            raise RuntimeError("SeededDropout in training mode needs attach_generator() first")
        # drawn on the CPU whatever the device: the same masks on a GPU as on a CPU
        keep = torch.rand(x.shape, generator=self.generator) >= self.p
        return x * keep.to(x.device, x.dtype) / (1.0 - self.p)


def attach_generator(model: nn.Module, generator: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every weight from ``generator`` with PyTorch's default schemes.

    Module constructors draw from the global RNG; those values are overwritten here so
    the weights depend on the seed alone. Modules marked ``pretrained_weights`` (a loaded
    encoder) and everything inside them keep their weights.
    """
    kept = {
        id(inner)
        for m in model.modules()
        if getattr(m, "pretrained_weights", False)
        for inner in m.modules()
    }
    for m in model.modules():
        if id(m) in kept:
            continue
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.MultiheadAttention):
            if m.in_proj_weight is not None:
                nn.init.xavier_uniform_(m.in_proj_weight, generator=generator)
            if m.in_proj_bias is not None:
                nn.init.zeros_(m.in_proj_bias)
        init_extra = getattr(m, "init_extra", None)
        if callable(init_extra):
            init_extra(generator)


class GradientReversal(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``-scale`` backward (Ganin & Lempitsky)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    return GradientReversal.apply(x, scale)


class Detector(nn.Module):
    """Features (B, C, T) with valid-frame counts (B,) -> logits (B, 2) over (fake, real)."""

    def __init__(
        self,
        net: nn.Module,
        channels: int,
        frames: int,
        *,
        head: str,
        pooling: str,
        domain_head: nn.Module | None = None,
        composition_weight: float = 0.5,
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}")
        self.net = net
        self.head = head
        self.pooling = pooling
        self.channels = channels
        self.frames = frames
        self.domain_head = domain_head
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.composition_weight = composition_weight
        # presence head only: the probabilities from the presence logits, from the
        # composition head's softmax, or the mean of both
        self.presence_from = "presence"
        if head == "presence":
            # calibration: sigmoid(logit / temperature + bias) per column (bias 0 unless Platt)
            self.register_buffer("temperature", torch.ones(2))
            self.register_buffer("bias", torch.zeros(2))

    def raw_input(self, x: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
        """Pooling before normalisation: (B, C) clip means over valid frames, or (B, C, T)."""
        if self.pooling == "none":
            return x
        t = torch.arange(x.shape[-1])[None, :]
        mask = (t < n_valid[:, None].clamp_min(1)).to(x.dtype)
        return (x * mask[:, None, :]).sum(-1) / mask.sum(-1, keepdim=True)

    def prepare(self, x: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
        raw = self.raw_input(x, n_valid)
        if raw.ndim == 3:
            return (raw - self.mean[None, :, None]) / self.std[None, :, None]
        return (raw - self.mean) / self.std

    @torch.no_grad()
    def fit_normalizer(self, rows: torch.Tensor) -> None:
        """Per-channel mean/std from (M, C) rows: clip means (pooled) or valid frames."""
        self.mean.copy_(rows.mean(0))
        self.std.copy_(rows.std(0).clamp_min(1e-3))

    def embed(self, x: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
        return self.net.embed(self.prepare(x, n_valid))

    def forward(self, x: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
        return self.net.classify(self.embed(x, n_valid))

    def probabilities(self, logits: torch.Tensor, calibrated: bool = True) -> torch.Tensor:
        """(B, 2) probabilities (p_fake, p_real) from logits, as ``head`` defines them;
        ``calibrated=False`` leaves out the fitted temperature and bias (for reports)."""
        if self.head == "sigmoid":
            return torch.sigmoid(logits)
        if self.head == "presence":
            presence = logits[:, :2]
            if calibrated:
                presence = presence / self.temperature + self.bias
            presence = torch.sigmoid(presence)
            if self.presence_from == "presence":
                return presence
            comp = torch.softmax(logits[:, 2:], dim=-1)
            # none, F, R, FF, RR, FR: fake is in F, FF, FR; real in R, RR, FR
            derived = torch.stack(
                [comp[:, 1] + comp[:, 3] + comp[:, 5], comp[:, 2] + comp[:, 4] + comp[:, 5]],
                dim=1,
            )
            return derived if self.presence_from == "composition" else (presence + derived) / 2
        return torch.softmax(logits, dim=-1)

    def loss(self, logits: torch.Tensor, is_fake: torch.Tensor) -> torch.Tensor:
        """Training loss for labels 1 = fake, 0 = real; for the presence head the target is
        (B, 3): fake present, real present, composition index."""
        if self.head == "presence":
            presence = nn.functional.binary_cross_entropy_with_logits(
                logits[:, :2], is_fake[:, :2].to(logits.dtype)
            )
            if self.composition_weight <= 0:
                return presence
            comp = nn.functional.cross_entropy(logits[:, 2:], is_fake[:, 2].long())
            return presence + self.composition_weight * comp
        if self.head == "sigmoid":
            target = torch.stack([is_fake, 1.0 - is_fake], dim=-1).to(logits.dtype)
            return nn.functional.binary_cross_entropy_with_logits(logits, target)
        return nn.functional.cross_entropy(logits, (1 - is_fake).long())


def conv_flat_size(channels: int, frames: int, width: int, n_pools: int) -> int:
    return width * (channels >> n_pools) * (frames >> n_pools)
