"""``ae-mlp``: an autoencoder pre-trained on unlabeled clips, its encoder fine-tuned with an MLP.

As in the seed: encoder in -> 128 -> 64, decoder back; then the seed's ``PretrainedMLP``
head (64 -> 128 -> 128 -> 2, BN, dropout 0.5) with two sigmoid outputs (fake, real).
The seed's decoder ended in a sigmoid over raw MFCCs; our inputs are standardised, so
the decoder output is linear.
"""

from __future__ import annotations

import torch
from torch import nn

from fakevoice.models.mlp import MLP


class AutoencoderMLP(nn.Module):
    def __init__(self, in_dim: int, hidden: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        code = hidden // 2
        self.encoder = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, code), nn.ReLU()
        )
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, in_dim))
        self.head = MLP(code, (hidden, hidden), dropout)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def pretrain_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.head.embed(self.encoder(x))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.head.classify(e)
