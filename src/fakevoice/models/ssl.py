"""A large pretrained speech encoder as the detector's trunk: wav2vec2, WavLM, HuBERT or
XLS-R from a local folder through ``transformers`` (nothing is downloaded), frozen or
fine-tuned, with a light back end: a learned softmax mix of the encoder's layers, then
attentive statistics pooling over time and a small fully connected embedding.

The front end is the waveform at 16 kHz (``FrontEndConfig(kind="waveform")``). The encoder
runs on CUDA with float16 autocast when a GPU is present (the back end and the rest of
training stay where they are), on the CPU otherwise.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from fakevoice.errors import FakevoiceError
from fakevoice.models.common import SeededDropout


def load_encoder(path: str | Path) -> nn.Module:
    """The encoder saved in folder ``path`` (``config.json`` and weights), offline only."""
    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise FakevoiceError(
            f"{folder}: not a transformers checkpoint folder (no config.json); give the "
            "folder of a wav2vec2 / WavLM / HuBERT / XLS-R model saved with save_pretrained"
        )
    try:
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise FakevoiceError(
            "encoder=PATH needs the transformers package: pip install 'fakevoice[ssl]'"
        ) from exc
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return AutoModel.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # transformers raises many types for a bad folder
        raise FakevoiceError(f"{folder}: cannot load the encoder ({exc})") from exc


class AttentiveStats(nn.Module):
    """Attention-weighted mean and standard deviation over time (Okabe et al. 2018)."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, 2D)
        w = torch.softmax(self.score(h), dim=1)
        mean = (w * h).sum(dim=1)
        var = (w * (h - mean[:, None, :]).square()).sum(dim=1)
        return torch.cat([mean, var.clamp_min(1e-6).sqrt()], dim=1)


class SSLNet(nn.Module):
    """Waveform (B, 1, N) at 16 kHz -> embedding -> ``n_out`` logits."""

    def __init__(
        self,
        channels: int,
        frames: int,
        *,
        encoder: str,
        freeze: bool = True,
        embed: int = 128,
        n_out: int = 8,
        dropout: float = 0.2,
        device: str = "auto",
    ) -> None:
        super().__init__()
        if channels != 1:
            raise FakevoiceError("an SSL encoder reads the waveform: frontend.kind=waveform")
        self.encoder = load_encoder(encoder)
        # seeded initialisation (models.common.init_weights) must not redraw these
        self.encoder.pretrained_weights = True
        self.freeze = freeze
        if freeze:
            self.encoder.requires_grad_(False)
        cfg = self.encoder.config
        layers = int(getattr(cfg, "num_hidden_layers", 0)) + 1
        dim = int(cfg.hidden_size)
        self.layer_logits = nn.Parameter(torch.zeros(layers))
        self.pool = AttentiveStats(dim)
        self.fc = nn.Sequential(nn.Linear(2 * dim, embed), nn.ReLU(), SeededDropout(dropout))
        self.out = nn.Linear(embed, n_out)
        self.embed_dim = embed
        want = "cuda" if device == "auto" and torch.cuda.is_available() else device
        self.device = torch.device("cpu" if want == "auto" else want)
        self.encoder.to(self.device)

    def train(self, mode: bool = True) -> SSLNet:
        super().train(mode)
        if self.freeze:
            self.encoder.eval()  # a frozen encoder keeps its dropout off
        return self

    def hidden_states(self, wave: torch.Tensor) -> torch.Tensor:
        """(layers, B, T', D) hidden states, in float32 on the back end's device."""
        # per-clip zero mean, unit variance: what wav2vec2-style encoders were trained on
        wave = (wave - wave.mean(dim=1, keepdim=True)) / (wave.std(dim=1, keepdim=True) + 1e-5)
        on_gpu = self.device.type == "cuda"
        with (
            torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze),
            torch.autocast("cuda", dtype=torch.float16, enabled=on_gpu),
        ):
            out = self.encoder(wave.to(self.device), output_hidden_states=True)
        return torch.stack(out.hidden_states).float().to(self.layer_logits.device)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        hs = self.hidden_states(x[:, 0])
        w = torch.softmax(self.layer_logits, dim=0)
        h = (w[:, None, None, None] * hs).sum(dim=0)
        return self.fc(self.pool(h))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.out(e)
