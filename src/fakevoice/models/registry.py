"""Registered model names -> how to build them, which front end, which training stages.

The names are part of the interface (``fakevoice train --model NAME``). Each spec says
what its two probabilities mean (see ``fakevoice.models.common`` for the heads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from fakevoice import organisers
from fakevoice.errors import FakevoiceError
from fakevoice.models.autoencoder import AutoencoderMLP
from fakevoice.models.cnn import SpecCNN
from fakevoice.models.common import Detector
from fakevoice.models.dann import domain_classifier
from fakevoice.models.mlp import MLP
from fakevoice.models.prior import PriorNet
from fakevoice.models.resnet import SEResNet
from fakevoice.models.vit import SpecViT, load_pretrained

# The organisers' baseline: 13 MFCCs as librosa computes them by default at 32 kHz
# (n_fft 2048, 128 mel bands); frames every 25 ms like every other front end here.
MFCC_FRONTEND = {
    "kind": "mfcc",
    "n_fft": organisers.MFCC_FFT,
    "hop": 800,
    "n_bands": organisers.MFCC_MELS,
    "n_coeffs": organisers.N_MFCC,
}
# 64 bands x 101 frames per 5 s (hop 50 ms): about the resolution of the seed's resized
# spectrogram images, and small enough for the CNNs to train on two CPU cores.
LOGMEL_FRONTEND = {"kind": "logmel", "n_fft": 2048, "hop": 1600, "n_bands": 64}


# The detector's: 64 bands, 40 frames a second (201 frames per 5 s).
DETECTOR_FRONTEND = {"kind": "logmel", "n_fft": 1024, "hop": 800, "n_bands": 64}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    head: str
    pooling: str
    stages: tuple[str, ...]
    # (channels, frames, **net arguments from the config's [net] table) -> the family net
    make_net: Callable[..., nn.Module]
    defaults: dict[str, Any] = field(default_factory=dict)
    domain_head: bool = False
    # Called after seeded initialisation when the user gives ``pretrained=PATH``.
    load_pretrained: Callable[[nn.Module, str], list[str]] | None = None

    @property
    def needs_unlabeled(self) -> bool:
        return any(s in ("autoencoder", "pseudo", "dann", "scenes") for s in self.stages)

    @property
    def trains_on_scenes(self) -> bool:
        return "scenes" in self.stages


def _mlp(hidden: tuple[int, ...]) -> Callable[..., nn.Module]:
    return lambda channels, frames, **kw: MLP(channels, kw.pop("hidden", hidden), **kw)


def _cnn(fc: int, batchnorm: bool) -> Callable[..., nn.Module]:
    return lambda channels, frames, **kw: SpecCNN(
        channels, frames, **{"fc": fc, "batchnorm": batchnorm, **kw}
    )


def _vit(channels: int, frames: int, **kw: Any) -> nn.Module:
    return SpecViT(channels, frames, **kw)


SPECS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec(
            "detector",
            "SE-ResNet on log-mel trained on simulated 0-2 voice scenes in unlabeled-clip "
            "noise; presence + composition heads, Platt-calibrated on held-out voices and "
            "generator-like fake clusters",
            "presence",
            "none",
            ("scenes",),
            lambda channels, frames, **kw: SEResNet(channels, frames, n_out=8, **kw),
            {
                "frontend": DETECTOR_FRONTEND,
                "epochs": 12,
                "batch_size": 32,
                "lr": 2e-3,
                # validation holds out whole fake clusters (about a generator each), and
                # a scale and a bias per column are fitted on it (on that validation:
                # 0.063, against 0.081 with one temperature and 0.083 uncalibrated)
                "fake_clusters": 8,
                "calibration": "platt",
            },
        ),
        ModelSpec(
            "prior",
            "constant training-set class prior for both columns (the floor)",
            "sigmoid",
            "mean",
            ("prior",),
            lambda channels, frames, **kw: PriorNet(**kw),
            {"frontend": MFCC_FRONTEND, "epochs": 0, "threads": 1},
        ),
        ModelSpec(
            "mfcc-mlp",
            "organisers' baseline: mean MFCC(13) + MLP(128,128), two sigmoids",
            "sigmoid",
            "mean",
            ("supervised",),
            _mlp(organisers.HIDDEN),
            {"frontend": MFCC_FRONTEND, "epochs": 40, "threads": 1},
        ),
        ModelSpec(
            "mel-cnn",
            "3-layer CNN on log-mel (seed CNN), two sigmoids",
            "sigmoid",
            "none",
            ("supervised",),
            _cnn(256, batchnorm=False),
            {"frontend": LOGMEL_FRONTEND, "epochs": 8},
        ),
        ModelSpec(
            "ae-mlp",
            "autoencoder pre-trained on unlabeled mean MFCC, encoder + MLP fine-tuned, sigmoids",
            "sigmoid",
            "mean",
            ("autoencoder", "supervised"),
            lambda channels, frames, **kw: AutoencoderMLP(channels, **kw),
            {"frontend": MFCC_FRONTEND, "epochs": 5, "ae_epochs": 50, "threads": 1},
        ),
        ModelSpec(
            "mfcc-mlp-pseudo",
            "mean MFCC + MLP(128,64), softmax pair, retrained with pseudo-labelled unlabeled clips",
            "softmax",
            "mean",
            ("supervised", "pseudo"),
            _mlp((128, 64)),
            {"frontend": MFCC_FRONTEND, "epochs": 40, "pseudo_epochs": 20, "threads": 1},
        ),
        ModelSpec(
            "mel-cnn-pseudo",
            "3-layer BN CNN on log-mel, softmax pair, retrained with pseudo-labels",
            "softmax",
            "none",
            ("supervised", "pseudo"),
            _cnn(128, batchnorm=True),
            {"frontend": LOGMEL_FRONTEND, "epochs": 6, "pseudo_epochs": 3},
        ),
        ModelSpec(
            "spec-vit",
            "small ViT on log-mel patches from scratch (or local weights), softmax pair",
            "softmax",
            "none",
            ("supervised",),
            _vit,
            {"frontend": LOGMEL_FRONTEND, "epochs": 10, "lr": 5e-4},
            load_pretrained=load_pretrained,
        ),
        ModelSpec(
            "dann",
            "BN CNN on log-mel + gradient-reversal domain head (train vs unlabeled), softmax pair",
            "softmax",
            "none",
            ("dann",),
            _cnn(128, batchnorm=True),
            {"frontend": LOGMEL_FRONTEND, "epochs": 8},
            domain_head=True,
        ),
    ]
}


def names() -> list[str]:
    return list(SPECS)


def get_spec(name: str) -> ModelSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise FakevoiceError(f"unknown model {name!r} (known: {', '.join(SPECS)})") from None


def build(cfg: Any) -> Detector:
    """A fresh, unfitted Detector for ``cfg`` (same code for training and for loading)."""
    spec = get_spec(cfg.model)
    channels, frames = cfg.frontend.channels, cfg.frames
    try:
        if getattr(cfg, "encoder", ""):
            if not spec.trains_on_scenes:
                raise FakevoiceError(f"model {cfg.model} takes no encoder (the detector does)")
            from fakevoice.models.ssl import SSLNet

            net = SSLNet(channels, frames, encoder=cfg.encoder, **dict(cfg.net))
        else:
            net = spec.make_net(channels, frames, **dict(cfg.net))
    except TypeError as exc:  # an argument the family does not take
        raise FakevoiceError(f"model {cfg.model}: bad [net] setting ({exc})") from None
    dann = spec.domain_head or "dann" in getattr(cfg, "adapt", ())
    domain = domain_classifier(net.embed_dim) if dann else None
    return Detector(
        net,
        channels,
        frames,
        head=spec.head,
        pooling=spec.pooling,
        domain_head=domain,
        composition_weight=cfg.composition_weight,
    )
