"""``spec-vit``: a small Vision Transformer on log-mel patches, trained from scratch.

The seed fine-tuned torchvision's ImageNet ViTs (b16 ... l32) on rendered spectrogram
images; no ImageNet weights are available here, so this is a small ViT (patch 16x16,
dim 96, depth 4, 4 heads) with a class token and a softmax pair (fake, real). A user who
has weights for it passes a local file (``--set pretrained=PATH``): tensors whose names
and shapes match are loaded, the rest keep their fresh initialisation.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from fakevoice.errors import RunError


class SpecViT(nn.Module):
    def __init__(
        self,
        n_mels: int,
        frames: int,
        patch: int = 16,
        dim: int = 96,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__()
        if n_mels < patch or frames < patch:
            raise ValueError(f"spec-vit needs at least {patch} mel bands and frames")
        self.patch = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        n_tokens = (n_mels // patch) * (frames // patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, n_tokens + 1, dim))
        # dropout=0 inside the encoder: torch's own dropout would draw from the global RNG.
        layer = nn.TransformerEncoderLayer(
            dim,
            heads,
            int(dim * mlp_ratio),
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, 2)
        self.embed_dim = dim

    def init_extra(self, generator: torch.Generator) -> None:
        nn.init.trunc_normal_(self.pos, std=0.02, generator=generator)
        nn.init.trunc_normal_(self.cls, std=0.02, generator=generator)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x.unsqueeze(1)).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1) + self.pos
        return self.norm(self.encoder(tokens))[:, 0]

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.out(e)


def load_pretrained(net: nn.Module, path: str | Path) -> list[str]:
    """Load matching tensors of a local state-dict file into ``net``; return the names loaded."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: pretrained weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise RunError(f"{path}: not a readable PyTorch weights file ({exc})") from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise RunError(f"{path}: expected a state dict of tensors")
    own = net.state_dict()
    taken = {
        k.removeprefix("net."): v
        for k, v in state.items()
        if isinstance(v, torch.Tensor)
        and k.removeprefix("net.") in own
        and own[k.removeprefix("net.")].shape == v.shape
    }
    if not taken:
        raise RunError(f"{path}: no tensor matches the spec-vit architecture by name and shape")
    net.load_state_dict(taken, strict=False)
    return sorted(taken)
