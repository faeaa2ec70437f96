"""``prior``: the constant class prior for both columns, the floor every model must beat.

``p_fake`` is the share of fake clips in the training split, ``p_real`` the share of
real ones, for every input (two independent sigmoids of constant logits).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PriorNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("logits", torch.zeros(2))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)[:, :0]

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(e.shape[0], 2)

    @torch.no_grad()
    def fit(self, n_fake: int, n_real: int) -> None:
        total = n_fake + n_real
        # Laplace smoothing keeps the logits finite when one class is absent.
        p_fake = (n_fake + 1) / (total + 2)
        p_real = (n_real + 1) / (total + 2)
        self.logits.copy_(
            torch.tensor([math.log(p_fake / (1 - p_fake)), math.log(p_real / (1 - p_real))])
        )
