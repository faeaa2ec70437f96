"""Every training stage by the name the model registry's specs use."""

from __future__ import annotations

from fakevoice.train.config import TrainConfig
from fakevoice.train.scene_stages import Scenes, SelfTrain
from fakevoice.train.stages import (
    Autoencoder,
    DomainAdversarial,
    FitPrior,
    PseudoLabel,
    Stage,
    Supervised,
)

STAGES: dict[str, type[Stage]] = {
    s.name: s
    for s in (FitPrior, Autoencoder, Supervised, PseudoLabel, DomainAdversarial, Scenes, SelfTrain)
}


def stage_names(spec_stages: tuple[str, ...], cfg: TrainConfig) -> tuple[str, ...]:
    """A model's stages, and self-training after the scenes when ``adapt`` asks for it."""
    if "selftrain" in cfg.adapt and "scenes" in spec_stages and cfg.self_epochs > 0:
        return (*spec_stages, "selftrain")
    return spec_stages


def make_stages(names: tuple[str, ...], cfg: TrainConfig) -> list[Stage]:
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        raise ValueError(f"unknown training stage(s) {unknown}; known: {', '.join(STAGES)}")
    return [STAGES[n].from_config(cfg) for n in names]
