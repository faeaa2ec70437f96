"""MLPs on clip-mean cepstra: ``mfcc-mlp`` and ``mfcc-mlp-pseudo``.

``mfcc-mlp`` is the organisers' baseline and the seed's first model: 13 MFCCs averaged
over the clip, Linear-BN-ReLU-Dropout twice (128, 128), two sigmoid outputs (fake, real).
``mfcc-mlp-pseudo`` is the seed's ``SimpleNN`` (128, 64) with a softmax pair, retrained
with pseudo-labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fakevoice.models.common import SeededDropout


class MLP(nn.Module):
    def __init__(self, in_dim: int, hidden: Sequence[int] = (128, 128), dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_dim
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.BatchNorm1d(h), nn.ReLU(), SeededDropout(dropout)]
            prev = h
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(prev, 2)
        self.embed_dim = prev

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.out(e)
