"""The scene-trained model's stages: each step a batch of freshly simulated test-like
scenes (``Scenes``), then optionally self-training on confidently labelled unlabeled
clips (``SelfTrain``). Their batches are the costly part of training, so a process makes
only the parts of each step it computes (see :class:`fakevoice.train.stages.Shards`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from fakevoice.train.adapt import pseudo_labels, pseudo_loss
from fakevoice.train.config import TrainConfig
from fakevoice.train.stages import Batch, Context, Shards, Stage, label_and_domain_loss


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
        parts: list[Batch] = []
        for batch in self._made(ctx, self._jobs(ctx, rng, shards)):
            parts.append(batch)
            if len(parts) == len(shards.mine):
                yield parts
                parts = []

    def loss(self, ctx, batch, progress):
        return label_and_domain_loss(ctx, batch, progress)

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
        loss = label_and_domain_loss(ctx, batch, progress)
        if "xp" not in batch:
            return loss
        frames = torch.full((len(batch["xp"]),), batch["xp"].shape[-1], dtype=torch.int64)
        logits = ctx.model(batch["xp"], frames)
        return loss + ctx.cfg.self_weight * pseudo_loss(ctx.model, logits, batch["yp"], batch["mp"])
