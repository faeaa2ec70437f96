"""A compact squeeze-and-excitation ResNet on log-mel spectrograms: the ``detector`` trunk.

Sized for two CPU cores (about 40 M multiply-adds per 5 s clip at 64 bands x 201 frames):
a strided stem, four residual blocks with squeeze-and-excitation (16-64 channels), then
mean and max pooling over frequency and time. ``classify`` gives ``n_out`` logits; the
detector uses two presence logits (fake, real) plus six composition logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fakevoice.models.common import SeededDropout


class SEBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, reduction: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        hidden = max(4, c_out // reduction)
        self.se = nn.Sequential(nn.Linear(c_out, hidden), nn.ReLU(), nn.Linear(hidden, c_out))
        self.skip = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
            if c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        w = torch.sigmoid(self.se(y.mean(dim=(2, 3))))[:, :, None, None]
        return torch.relu(y * w + self.skip(x))


class SEResNet(nn.Module):
    def __init__(
        self,
        n_bands: int,
        frames: int,
        widths: Sequence[int] = (16, 32, 64, 64),
        embed: int = 64,
        n_out: int = 8,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if n_bands < 16 or frames < 16:
            raise ValueError("SEResNet needs at least 16 bands and 16 frames")
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        prev = widths[0]
        for k, w in enumerate(widths):
            blocks.append(SEBlock(prev, w))
            if k < len(widths) - 1:
                blocks.append(nn.MaxPool2d(2))
            prev = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Sequential(nn.Linear(2 * prev, embed), nn.ReLU(), SeededDropout(dropout))
        self.out = nn.Linear(embed, n_out)
        self.embed_dim = embed

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x.unsqueeze(1)))
        return self.fc(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.out(e)
