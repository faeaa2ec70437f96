"""Training stages: what one loop iterates over and optimises, one small class each.

The loop in ``fakevoice.train.loop`` owns the epochs, the optimiser step, checkpoints and
resuming; a stage only says which parameters it trains, which batches an epoch holds and
what the loss of a batch is, plus optional state prepared when the stage begins (pseudo
labels) that the checkpoint keeps. A model's stages come from its registry entry; the
scene-trained ones live in ``fakevoice.train.scene_stages``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fakevoice.models.common import Detector
from fakevoice.train.adapt import domain_loss
from fakevoice.train.config import TrainConfig
from fakevoice.train.data import assemble

Batch = dict[str, torch.Tensor]


@dataclass
class Context:
    """What stages read: the model, every clip's features, labels (1 fake, 0 real, -1 none)."""

    cfg: TrainConfig
    model: Detector
    items: list[np.ndarray]
    labels: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    unl_idx: np.ndarray
    pad_frame: np.ndarray
    scenes: Any = None  # fakevoice.train.scenes_data.SceneData for scene-trained models

    def batch(self, idx: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        return assemble([self.items[i] for i in idx], self.cfg.frames, self.pad_frame, rng)


@dataclass(frozen=True)
class Shards:
    """How a step's batch is cut: ``total`` parts (``micro_batches``), of which this process
    computes those in ``mine`` (all of them without torchrun)."""

    total: int = 1
    mine: range = range(1)

    def split(self, batch: Batch) -> list[Batch] | None:
        """This process's parts of a made batch; None when it is too small to cut (every
        process decides alike, so the step is skipped everywhere)."""
        if self.total == 1:
            return [batch]
        if len(batch["x"]) < 2 * self.total:
            return None
        parts = {k: torch.tensor_split(v, self.total) for k, v in batch.items()}
        return [{k: parts[k][j] for k in batch} for j in self.mine]


def chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Mini-batches of ``order``; a last batch of one clip is dropped (batch norm needs two)."""
    for s in range(0, len(order), size):
        part = order[s : s + size]
        if len(part) >= 2 or len(order) == 1:
            yield part


@torch.no_grad()
def predict_items(ctx: Context, idx: np.ndarray) -> np.ndarray:
    """(len(idx), 2) probabilities (fake, real) of centre crops, in eval mode."""
    was_training = ctx.model.training
    ctx.model.eval()
    out = []
    for part in range(0, len(idx), 256):
        x, n = ctx.batch(idx[part : part + 256], None)
        out.append(ctx.model.probabilities(ctx.model(x, n)).numpy())
    ctx.model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 2), np.float32)


class Stage:
    """One phase of training. Subclasses name themselves (the names the model registry's
    specs list), say how they are built from the config, make batches and a loss, and may
    know their batch count and score themselves after each epoch."""

    name = "stage"
    supervised = False

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Stage:
        return cls(cfg.epochs)

    def n_batches(self) -> int | None:
        """Batches per epoch when known ahead (then they are consumed as they are made)."""
        return None

    def evaluate(self, ctx: Context) -> dict[str, float]:
        """Validation figures after an epoch (supervised stages use the loop's own)."""
        return {}

    def begin(self, ctx: Context) -> dict[str, Any]:
        return {}

    def parameters(self, ctx: Context) -> list[nn.Parameter]:
        return [p for n, p in ctx.model.named_parameters() if not n.startswith("domain_head.")]

    def batches(
        self, ctx: Context, state: dict[str, Any], rng: np.random.Generator
    ) -> Iterator[Batch]:
        raise NotImplementedError

    def epoch_steps(
        self, ctx: Context, state: dict[str, Any], rng: np.random.Generator, shards: Shards
    ) -> Iterator[list[Batch]]:
        """Each optimiser step's parts that this process computes; stages whose batches are
        costly to make (scenes) make only their own parts."""
        for batch in self.batches(ctx, state, rng):
            parts = shards.split(batch)
            if parts is not None:
                yield parts

    def loss(self, ctx: Context, batch: Batch, progress: float) -> torch.Tensor:
        raise NotImplementedError


class FitPrior(Stage):
    """No gradient steps: the prior net takes the class shares of the training split."""

    name = "prior"
    supervised = True

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Stage:
        return cls(0)

    def begin(self, ctx: Context) -> dict[str, Any]:
        y = ctx.labels[ctx.train_idx]
        ctx.model.net.fit(int((y == 1).sum()), int((y == 0).sum()))
        return {}

    def batches(self, ctx, state, rng):
        return iter(())


class Supervised(Stage):
    """Cross-entropy on labelled clips (training split, plus pseudo-labelled ones if any)."""

    name = "supervised"
    supervised = True

    def pool(self, ctx: Context, state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        idx = np.concatenate([ctx.train_idx, np.asarray(state.get("idx", []), dtype=np.int64)])
        labels = ctx.labels.copy()
        if state.get("idx"):
            labels[np.asarray(state["idx"])] = np.asarray(state["labels"])
        return idx, labels

    def batches(self, ctx, state, rng):
        idx, labels = self.pool(ctx, state)
        order = idx[rng.permutation(len(idx))]
        for part in chunks(order, ctx.cfg.batch_size):
            x, n = ctx.batch(part, rng)
            yield {"x": x, "n": n, "y": torch.from_numpy(labels[part].astype(np.float32))}

    def loss(self, ctx, batch, progress):
        return ctx.model.loss(ctx.model(batch["x"], batch["n"]), batch["y"])


class PseudoLabel(Supervised):
    """The seed's pseudo-labelling: label unlabeled clips with the model so far, retrain."""

    name = "pseudo"

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Stage:
        return cls(cfg.pseudo_epochs)

    def begin(self, ctx: Context) -> dict[str, Any]:
        probs = predict_items(ctx, ctx.unl_idx)
        confidence = probs.max(axis=1) / np.maximum(probs.sum(axis=1), 1e-12)
        keep = confidence >= ctx.cfg.pseudo_threshold
        is_fake = (probs[:, 0] >= probs[:, 1]).astype(np.int64)
        return {
            "idx": [int(i) for i in ctx.unl_idx[keep]],
            "labels": [int(v) for v in is_fake[keep]],
        }


class Autoencoder(Stage):
    """Reconstruct the normalised inputs of unlabeled clips (encoder + decoder only)."""

    name = "autoencoder"

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Stage:
        return cls(cfg.ae_epochs)

    def parameters(self, ctx):
        return ctx.model.net.pretrain_parameters()

    def batches(self, ctx, state, rng):
        order = ctx.unl_idx[rng.permutation(len(ctx.unl_idx))]
        for part in chunks(order, ctx.cfg.batch_size):
            x, n = ctx.batch(part, rng)
            yield {"x": x, "n": n}

    def loss(self, ctx, batch, progress):
        inp = ctx.model.prepare(batch["x"], batch["n"])
        return nn.functional.mse_loss(ctx.model.net.reconstruct(inp), inp)


class DomainAdversarial(Supervised):
    """Label loss on training clips + domain loss (train vs unlabeled) through reversal.

    The reversal strength ramps 0 -> 1 over the stage (2 / (1 + exp(-10 p)) - 1).
    """

    name = "dann"

    def parameters(self, ctx):
        return list(ctx.model.parameters())

    def batches(self, ctx, state, rng):
        for batch in super().batches(ctx, state, rng):
            target = rng.choice(ctx.unl_idx, size=len(batch["y"]), replace=True)
            xt, nt = ctx.batch(target, rng)
            batch["xt"], batch["nt"] = xt, nt
            yield batch

    def loss(self, ctx, batch, progress):
        return label_and_domain_loss(ctx, batch, progress)


def label_and_domain_loss(ctx: Context, batch: Batch, progress: float) -> torch.Tensor:
    """The label loss of a batch, plus ``dann_weight`` times the domain loss when the batch
    carries target-domain inputs (``xt``)."""
    model = ctx.model
    if "xt" not in batch:
        return model.loss(model(batch["x"], batch["n"]), batch["y"])
    b = len(batch["y"])
    emb = model.embed(torch.cat([batch["x"], batch["xt"]]), torch.cat([batch["n"], batch["nt"]]))
    label = model.loss(model.net.classify(emb[:b]), batch["y"])
    return label + ctx.cfg.dann_weight * domain_loss(model, emb, b, progress)
