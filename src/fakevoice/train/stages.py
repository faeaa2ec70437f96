"""Training stages: what one loop iterates over and optimises, one small class each.

The loop in ``fakevoice.train.loop`` owns the epochs, the optimiser step, checkpoints and
resuming; a stage only says which parameters it trains, which batches an epoch holds and
what the loss of a batch is, plus optional state prepared when the stage begins (pseudo
labels) that the checkpoint keeps. A model's stages come from its registry entry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fakevoice.models.common import Detector
from fakevoice.train.adapt import domain_loss, pseudo_labels, pseudo_loss
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
        return _label_and_domain_loss(ctx, batch, progress)


def _label_and_domain_loss(ctx: Context, batch: Batch, progress: float) -> torch.Tensor:
    """The label loss of a batch, plus ``dann_weight`` times the domain loss when the batch
    carries target-domain inputs (``xt``)."""
    model = ctx.model
    if "xt" not in batch:
        return model.loss(model(batch["x"], batch["n"]), batch["y"])
    b = len(batch["y"])
    emb = model.embed(torch.cat([batch["x"], batch["xt"]]), torch.cat([batch["n"], batch["nt"]]))
    label = model.loss(model.net.classify(emb[:b]), batch["y"])
    return label + ctx.cfg.dann_weight * domain_loss(model, emb, b, progress)


class Scenes(Stage):
    """Presence and composition losses on freshly simulated test-like scenes; each epoch is
    ``steps_per_epoch`` batches drawn from the epoch's generator, and is scored on the
    fixed validation scenes of held-out voices."""

    name = "scenes"

    def __init__(self, epochs: int, steps: int) -> None:
        super().__init__(epochs)
        self.steps = steps

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Stage:
        return cls(cfg.epochs, cfg.steps_per_epoch)

    def n_batches(self) -> int | None:
        return self.steps

    @staticmethod
    def _scenes(ctx: Context, seed: int, size: int) -> dict[str, np.ndarray]:
        return ctx.scenes.maker.batch(np.random.default_rng(seed), size)

    @staticmethod
    def _batch(ctx: Context, b: dict[str, np.ndarray], target: np.ndarray | None) -> Batch:
        # the front end runs here, in the training thread: torch's thread count is global,
        # and a worker changing it would change the order of the model's float sums
        from fakevoice.simulate import targets

        x, n = ctx.scenes.features(b["wave"])
        batch = {"x": x, "n": n, "y": torch.from_numpy(targets(b))}
        if target is not None:  # unlabeled clips for the domain loss
            xt = ctx.scenes.unl_x[torch.from_numpy(target)]
            batch |= {"xt": xt, "nt": torch.full((len(xt),), xt.shape[-1], dtype=torch.int64)}
        return batch

    def parameters(self, ctx):
        if "dann" in ctx.cfg.adapt:
            return list(ctx.model.parameters())
        return super().parameters(ctx)

    def _jobs(self, ctx, rng, shards: Shards) -> list[tuple[int, int, np.ndarray | None]]:
        """(generator seed, scenes, domain targets) of each part this process makes, step
        by step. One generator per batch, drawn from the epoch's, and one per part drawn
        from the batch's when it is cut: the same scenes wherever they are made."""
        seeds = [int(v) for v in rng.integers(0, 2**63 - 1, size=self.steps)]
        unl = ctx.scenes.unl_x
        dann = "dann" in ctx.cfg.adapt and unl is not None and len(unl) >= 2
        size = (self.steps, ctx.cfg.batch_size)
        targets = rng.integers(0, len(unl), size=size) if dann else [None] * self.steps
        if shards.total == 1:
            return [(s, ctx.cfg.batch_size, t) for s, t in zip(seeds, targets, strict=True)]
        jobs = []
        part = ctx.cfg.batch_size // shards.total
        for seed, target in zip(seeds, targets, strict=True):
            subs = np.random.default_rng(seed).integers(0, 2**63 - 1, size=shards.total)
            cut = None if target is None else np.array_split(target, shards.total)
            jobs += [(int(subs[j]), part, None if cut is None else cut[j]) for j in shards.mine]
        return jobs

    def _made(self, ctx, jobs) -> Iterator[Batch]:
        workers = ctx.cfg.scene_workers
        if workers == 0:
            for seed, size, target in jobs:
                yield self._batch(ctx, self._scenes(ctx, seed, size), target)
            return
        # simulated ahead in worker threads while the model trains
        with ThreadPoolExecutor(workers) as pool:
            ahead: deque[tuple[Future[dict[str, np.ndarray]], np.ndarray | None]] = deque()
            for seed, size, target in jobs:
                ahead.append((pool.submit(self._scenes, ctx, seed, size), target))
                if len(ahead) > workers:
                    fut, t = ahead.popleft()
                    yield self._batch(ctx, fut.result(), t)
            while ahead:
                fut, t = ahead.popleft()
                yield self._batch(ctx, fut.result(), t)

    def epoch_steps(self, ctx, state, rng, shards):
        made = self._made(ctx, self._jobs(ctx, rng, shards))
        for _ in range(self.steps):
            yield [next(made) for _ in shards.mine]

    def loss(self, ctx, batch, progress):
        return _label_and_domain_loss(ctx, batch, progress)

    def evaluate(self, ctx: Context) -> dict[str, float]:
        from fakevoice.train.scenes_data import scene_metrics

        return scene_metrics(ctx.model, ctx.scenes)


class SelfTrain(Scenes):
    """Scenes as before, plus each step a half batch of unlabeled clips that the model so
    far labels confidently: a column's threshold is the lowest confidence at which its
    predictions on the validation scenes reach ``self_precision`` (fixed when the stage
    begins, with the labels)."""

    name = "selftrain"

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Stage:
        return cls(cfg.self_epochs, cfg.steps_per_epoch)

    def begin(self, ctx: Context) -> dict[str, Any]:
        from fakevoice.train.adapt import confidence_threshold
        from fakevoice.train.scenes_data import logits_of, validation_logits

        model = ctx.model
        val = model.probabilities(validation_logits(model, ctx.scenes)).numpy()
        p = ctx.cfg.self_precision
        thresholds = [confidence_threshold(val[:, k], ctx.scenes.val_y[:, k], p) for k in (0, 1)]
        logits = logits_of(model, ctx.scenes.unl_x)
        presence = model.probabilities(logits).numpy()
        composition = torch.softmax(logits[:, 2:], dim=-1).numpy()
        state = pseudo_labels(presence, composition, thresholds)
        state["thresholds"] = thresholds
        return state

    def epoch_steps(self, ctx, state, rng, shards):
        idx = np.asarray(state.get("idx", []), dtype=np.int64)
        half = max(2, ctx.cfg.batch_size // 2)
        picks = rng.integers(0, len(idx), size=(self.steps, half)) if len(idx) >= 2 else None
        target = torch.tensor(state.get("target", []), dtype=torch.float32)
        mask = torch.tensor(state.get("mask", []), dtype=torch.float32)
        for step, parts in enumerate(super().epoch_steps(ctx, state, rng, shards)):
            if picks is not None:
                cut = np.array_split(picks[step], shards.total)
                for j, batch in zip(shards.mine, parts, strict=True):
                    rows = torch.from_numpy(cut[j])
                    xp = ctx.scenes.unl_x[torch.from_numpy(idx[cut[j]])]
                    batch |= {"xp": xp, "yp": target[rows], "mp": mask[rows]}
            yield parts

    def loss(self, ctx, batch, progress):
        loss = _label_and_domain_loss(ctx, batch, progress)
        if "xp" not in batch:
            return loss
        frames = torch.full((len(batch["xp"]),), batch["xp"].shape[-1], dtype=torch.int64)
        logits = ctx.model(batch["xp"], frames)
        return loss + ctx.cfg.self_weight * pseudo_loss(ctx.model, logits, batch["yp"], batch["mp"])


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
