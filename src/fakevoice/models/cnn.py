"""Three-layer CNNs on log-mel spectrograms: ``mel-cnn``, ``mel-cnn-pseudo`` and DANN's trunk.

The seed rendered spectrograms to PNG images and fed RGB pixels to its CNN; we feed the
log-mel tensor itself (one channel, n_mels x frames), which carries the same content
without the plotting colour map. ``mel-cnn`` follows the seed's first CNN (no batch norm,
FC 256, dropout 0.5, two sigmoid outputs); ``mel-cnn-pseudo`` its ``CNNModel`` (batch
norm, FC 128, softmax pair). Channel widths are narrower than the seed's (16/32/64 rather
than 32/64/128) so the whole leaderboard trains on two CPU cores in the time budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fakevoice.models.common import SeededDropout, conv_flat_size


class SpecCNN(nn.Module):
    def __init__(
        self,
        n_mels: int,
        frames: int,
        widths: Sequence[int] = (16, 32, 64),
        fc: int = 256,
        batchnorm: bool = False,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if n_mels < 8 or frames < 8:
            raise ValueError("SpecCNN needs at least 8 mel bands and 8 frames")
        layers: list[nn.Module] = []
        prev = 1
        for w in widths:
            layers.append(nn.Conv2d(prev, w, kernel_size=3, padding=1))
            if batchnorm:
                layers.append(nn.BatchNorm2d(w))
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            prev = w
        self.convs = nn.Sequential(*layers)
        flat = conv_flat_size(n_mels, frames, prev, len(widths))
        self.fc = nn.Sequential(nn.Linear(flat, fc), nn.ReLU(), SeededDropout(dropout))
        self.out = nn.Linear(fc, 2)
        self.embed_dim = fc

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(x.unsqueeze(1)).flatten(1))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.out(e)
