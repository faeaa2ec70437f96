"""``dann``: domain-adversarial training (gradient reversal), unlabeled clips as target domain.

The trunk is ``mel-cnn-pseudo``'s CNN (batch norm, FC 128) with a softmax pair (fake,
real); a small domain classifier reads the embedding through a gradient-reversal layer
and learns train (source) vs unlabeled (target), which pushes the trunk towards features
that do not tell the two apart.
"""

from __future__ import annotations

from torch import nn


def domain_classifier(embed_dim: int, hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
