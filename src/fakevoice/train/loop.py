"""The one training loop: every model, every stage, checkpoints each epoch, exact resume.

Every random draw of an epoch (batch order, crops, dropout masks, target batches) comes
from generators derived from (seed, stage, epoch), and the checkpoint holds the model and
optimiser state, so a run killed after any epoch and resumed ends bit-identical to one
that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fakevoice.dataset import load_contest
from fakevoice.errors import DataError
from fakevoice.features import FrontEnd
from fakevoice.holdpoint import hold_after
from fakevoice.models.common import attach_generator, init_weights, torch_threads
from fakevoice.models.registry import build, get_spec
from fakevoice.progress import progress as show_progress
from fakevoice.runs import (
    CHECKPOINT,
    METRICS,
    MODEL,
    VALIDATION,
    load_torch,
    read_json,
    save_arrays,
    save_torch,
    set_state,
    start,
    write_json,
)
from fakevoice.seeding import rng, torch_generator
from fakevoice.train.all_stages import make_stages, stage_names
from fakevoice.train.config import TrainConfig
from fakevoice.train.data import load_features, stratified_split
from fakevoice.train.distributed import World, world
from fakevoice.train.stages import Context, Shards, predict_items
from fakevoice.train.step import Stepper, resolve_precision


class TrainingStopped(Exception):
    """Raised when ``stop_after`` epochs have run: the state a kill would leave behind."""


@dataclass
class Prepared:
    ctx: Context
    skipped: list[tuple[str, str]]


def _inputs(cfg: TrainConfig, data: Any) -> tuple[list[str], list[str]]:
    """(train paths, unlabeled paths) that ``cfg``'s model reads from a contest folder."""
    unl = [str(p) for p in data.unlabeled] if get_spec(cfg.model).needs_unlabeled else []
    return list(data.train["path"]), unl


def _load(cfg: TrainConfig, paths: list[str], desc: str, cache_dir, fronts=None):
    fronts = [cfg.frontend] if fronts is None else fronts
    return load_features(paths, fronts, max_seconds=cfg.max_seconds, cache_dir=cache_dir, desc=desc)


def warm_features(cfgs: Sequence[TrainConfig], data_dir: str | Path, cache_dir) -> None:
    """Decode each clip once for all the front ends that :func:`prepare_data` will ask of
    ``cfgs`` (``compare`` trains several models on one folder)."""
    data = load_contest(data_dir, need=("train",), check_files=False)
    want: dict[tuple[str, float], tuple[TrainConfig, list[str], list[Any]]] = {}
    for cfg in cfgs:
        if get_spec(cfg.model).trains_on_scenes:
            continue  # decodes waveforms itself (fakevoice.train.waves), not features
        for desc, paths in zip(("train", "unlabeled"), _inputs(cfg, data), strict=True):
            if not paths:
                continue
            _, _, fronts = want.setdefault((desc, cfg.max_seconds), (cfg, paths, []))
            if all(f.key() != cfg.frontend.key() for f in fronts):
                fronts.append(cfg.frontend)
    for (desc, _), (cfg, paths, fronts) in want.items():
        _load(cfg, paths, f"{desc} features", cache_dir, fronts)


def prepare_data(cfg: TrainConfig, data_dir: str | Path, cache_dir: str | Path | None) -> Prepared:
    """Features of the training clips (and unlabeled ones when the model uses them)."""
    spec = get_spec(cfg.model)
    data = load_contest(
        data_dir, need=("train", "unlabeled") if spec.needs_unlabeled else ("train",)
    )
    assert data.train is not None
    train_paths, unl_paths = _inputs(cfg, data)
    if spec.trains_on_scenes:
        return _prepare_scenes(
            cfg, data_dir, train_paths, data.train["label"], unl_paths, cache_dir
        )
    tr = _load(cfg, train_paths, "train", cache_dir)[0]
    skipped = list(tr.failed)
    items = [it for it in tr.items if it is not None]
    labels = (data.train["label"].to_numpy()[tr.ok] == "fake").astype(np.int64)
    if len(items) < 4 or len(np.unique(labels)) < 2:
        raise DataError(data_dir, ["training needs at least 4 decodable clips of both labels"])
    n_train = len(items)
    if unl_paths:
        un = _load(cfg, unl_paths, "unlabeled", cache_dir)[0]
        skipped += un.failed
        items += [it for it in un.items if it is not None]
    n_unl = len(items) - n_train
    if spec.needs_unlabeled and n_unl < 2:
        raise DataError(data_dir, [f"model {cfg.model} needs at least 2 decodable unlabeled clips"])
    all_labels = np.concatenate([labels, -np.ones(n_unl, dtype=np.int64)])
    train_idx, val_idx = stratified_split(labels, cfg.val_fraction, rng(cfg.seed, "split"))
    pad = FrontEnd(cfg.frontend).silence_frame().astype(np.float32)
    model = build(cfg)
    ctx = Context(
        cfg,
        model,
        items,
        all_labels,
        train_idx,
        val_idx,
        np.arange(n_train, n_train + n_unl),
        pad,
    )
    return Prepared(ctx, skipped)


def _prepare_scenes(cfg, data_dir, train_paths, labels, unl_paths, cache_dir) -> Prepared:
    from fakevoice.train.scenes_data import prepare_scenes

    y = (labels.to_numpy() == "fake").astype(np.int64)
    scenes, ok, train_idx, val_idx, skipped = prepare_scenes(
        cfg, train_paths, y, unl_paths, cache_dir
    )
    y = y[ok]
    if len(y) < 4 or len(np.unique(y)) < 2:
        raise DataError(data_dir, ["training needs at least 4 decodable clips of both labels"])
    pad = FrontEnd(cfg.frontend).silence_frame().astype(np.float32)
    ctx = Context(cfg, build(cfg), [], y, train_idx, val_idx, np.zeros(0, np.int64), pad, scenes)
    return Prepared(ctx, skipped)


def fit_normalizer(ctx: Context) -> None:
    """Per-channel statistics of the training split (centre crops), stored in the model."""
    rows = []
    if ctx.scenes is not None:
        # scene-trained: statistics of simulated training scenes, as the model will see them
        b = ctx.scenes.maker.batch(rng(ctx.cfg.seed, "normalizer"), 128)
        x, _ = ctx.scenes.features(b["wave"])
        ctx.model.fit_normalizer(x.transpose(1, 2).reshape(-1, x.shape[1]))
        return
    for s in range(0, len(ctx.train_idx), 256):
        x, n = ctx.batch(ctx.train_idx[s : s + 256], None)
        raw = ctx.model.raw_input(x, n)
        if raw.ndim == 2:
            rows.append(raw)
        else:
            for b in range(len(raw)):
                rows.append(raw[b, :, : int(n[b])].T)
    ctx.model.fit_normalizer(torch.cat(rows).to(torch.float64).float())


def evaluate(ctx: Context) -> dict[str, float]:
    """Accuracy and loss on the validation split (clean training clips, centre crops)."""
    probs = predict_items(ctx, ctx.val_idx)
    y = ctx.labels[ctx.val_idx]
    pred_fake = probs[:, 0] >= probs[:, 1]
    p = np.clip(probs[np.arange(len(y)), np.where(y == 1, 0, 1)], 1e-7, 1.0)
    return {
        "val_accuracy": float(np.mean(pred_fake == (y == 1))),
        "val_nll": float(-np.log(p).mean()),
    }


def _finish_scenes(ctx: Context) -> dict[str, Any]:
    """Validation-scene scores, before and after calibration (which is stored in the model)."""
    from fakevoice.train.scenes_data import (
        calibrate,
        choose_gate,
        scene_metrics,
        validation_record,
    )

    out: dict[str, Any] = {}
    if "adabn" in ctx.cfg.adapt and ctx.scenes.unl_x is not None:
        from fakevoice.train.adapt import adabn

        out["adabn_layers"] = adabn(ctx.model, ctx.scenes.unl_x)
    out |= scene_metrics(ctx.model, ctx.scenes, "uncalibrated_val_")
    if ctx.cfg.calibration != "none":
        out.update(calibrate(ctx.model, ctx.scenes, ctx.cfg.calibration))
    out.update(scene_metrics(ctx.model, ctx.scenes))
    out.update(choose_gate(ctx.model, ctx.scenes, ctx.cfg))
    out["validation_record"] = validation_record(ctx.model, ctx.scenes)
    out["noise_pieces"] = ctx.scenes.n_noise
    out["voice_groups"] = ctx.scenes.n_groups
    return out


def train(cfg: TrainConfig, data_dir: str | Path, run_dir: str | Path, **kw: Any) -> dict[str, Any]:
    """Train ``cfg.model`` on DATA's train split into ``run_dir``; return the metrics.

    Keywords: ``resume``, ``overwrite``, ``cache_dir``, and ``stop_after``, which ends the
    call with :class:`TrainingStopped` after that many epochs, leaving exactly what a
    kill would (used by tests and time-boxed runs). Under torchrun every process calls
    this; they share each step's micro-batches and rank 0 writes the run.
    """
    with world(cfg.device) as w, torch_threads(cfg.train_threads):
        return _train(cfg, data_dir, run_dir, w, **kw)


def for_world(cfg: TrainConfig, w: World) -> TrainConfig:
    """The configuration as this world runs it (saved so): micro_batches 0 becomes one per
    process, precision auto the device's choice."""
    micro = cfg.micro_batches or w.size
    return dataclasses.replace(
        cfg, micro_batches=micro, precision=resolve_precision(cfg.precision, w.device)
    )


def _cpu_view(ctx: Context) -> Context:
    """The context with a CPU copy of the model, for the validation passes of a model that
    trains on a GPU (they index CPU tensors; the copy costs milliseconds)."""
    if next(ctx.model.parameters(), torch.zeros(0)).device.type == "cpu":
        return ctx
    model = build(ctx.cfg)
    model.load_state_dict({k: v.cpu() for k, v in ctx.model.state_dict().items()})
    return dataclasses.replace(ctx, model=model)


def _train(
    cfg: TrainConfig,
    data_dir: str | Path,
    run_dir: str | Path,
    w: World,
    *,
    resume: bool = False,
    overwrite: bool = False,
    cache_dir: str | Path | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    cfg = for_world(cfg, w)
    cfg.validate()
    mine = w.mine(cfg.micro_batches)
    shards = Shards(cfg.micro_batches, mine)
    run = Path(run_dir)
    spec = get_spec(cfg.model)
    resuming = w.on_main(lambda: start(run, cfg.as_dict(), resume=resume, overwrite=overwrite))
    if resuming and (run / METRICS).is_file() and (run / MODEL).is_file():
        manifest = read_json(run / "run.json")
        if manifest.get("state") == "complete":
            return read_json(run / METRICS)
    t0 = time.perf_counter()
    with w.main_first():  # rank 0 fills the decoding caches the others then read
        prep = prepare_data(cfg, data_dir, cache_dir)
    ctx = prep.ctx
    model = ctx.model
    stages = make_stages(stage_names(spec.stages, cfg), cfg)
    history: list[dict[str, Any]] = []
    stage_i, epoch_i, stage_state, elapsed = 0, 0, {}, 0.0
    checkpoint = None
    if resuming and (run / CHECKPOINT).is_file():
        checkpoint = load_torch(run / CHECKPOINT)
        model.load_state_dict(checkpoint["model"])
        stage_i, epoch_i = int(checkpoint["stage"]), int(checkpoint["epoch"])
        stage_state, history = checkpoint["stage_state"], list(checkpoint["history"])
        elapsed = float(checkpoint["elapsed"])
    else:
        init_weights(model, torch_generator(cfg.seed, "init"))
        if cfg.pretrained:
            if spec.load_pretrained is None:
                raise DataError(cfg.pretrained, [f"model {cfg.model} takes no pretrained weights"])
            spec.load_pretrained(model.net, cfg.pretrained)
        fit_normalizer(ctx)
    prep_seconds = time.perf_counter() - t0
    ran = 0
    for si, stage in enumerate(stages):
        if si < stage_i:
            continue
        start_epoch = epoch_i if si == stage_i else 0
        if start_epoch == 0:
            model.cpu()  # stages begin on the CPU tensors they read (pseudo labels)
            stage_state = stage.begin(ctx)
        model.to(w.device)
        params = stage.parameters(ctx)
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay) if params else None
        if checkpoint is not None and si == stage_i and start_epoch > 0 and opt is not None:
            opt.load_state_dict(checkpoint["optimizer"])
        stepper = Stepper(ctx, stage, w, cfg.precision, cfg.micro_batches) if params else None
        bar = show_progress(
            range(start_epoch, stage.epochs),
            desc=f"{cfg.model} {stage.name}",
            unit="epoch",
            leave=False,
            every=10.0,
            enabled=w.main,
        )
        for epoch in bar:
            e0 = time.perf_counter()
            model.train()
            if cfg.micro_batches == 1:
                attach_generator(model, torch_generator(cfg.seed, "dropout", si, epoch))
            made = stage.epoch_steps(ctx, stage_state, rng(cfg.seed, "batches", si, epoch), shards)
            # a stage that knows its step count is consumed as it makes them (scenes are
            # simulated while the model trains); others are counted first
            n_batches = stage.n_batches()
            if n_batches is None:
                made = list(made)
                n_batches = len(made)
            total, count = 0.0, 0
            for k, parts in enumerate(made):
                progress = (epoch + k / max(n_batches, 1)) / max(stage.epochs, 1)
                if cfg.lr_schedule == "cosine":
                    # a function of the position alone, so a resumed run steps identically
                    for group in opt.param_groups:  # type: ignore[union-attr]
                        group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
                gens = None
                if cfg.micro_batches > 1:  # a part's dropout masks, wherever it is computed
                    gens = [torch_generator(cfg.seed, "dropout", si, epoch, k, j) for j in mine]
                loss_sum, n = stepper.step(parts, progress, opt, gens, f"at epoch {epoch}")  # type: ignore[union-attr]
                total, count = total + loss_sum, count + n
            total, count = w.sum([total, float(count)])
            row: dict[str, Any] = {"stage": stage.name, "epoch": epoch + 1}
            row["loss"] = total / max(count, 1)
            view = _cpu_view(ctx)
            row.update(evaluate(view) if stage.supervised else stage.evaluate(view))
            elapsed += time.perf_counter() - e0
            row["seconds"] = round(time.perf_counter() - e0, 3)
            history.append(row)
            bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if isinstance(v, float)})
            if w.main:
                save_torch(
                    run / CHECKPOINT,
                    {
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),  # type: ignore[union-attr]
                        "stage": si,
                        "epoch": epoch + 1,
                        "stage_state": stage_state,
                        "history": history,
                        "elapsed": elapsed,
                    },
                )
            ran += 1
            hold_after("epochs", ran)
            if stop_after is not None and ran >= stop_after:
                raise TrainingStopped(f"stopped after {ran} epoch(s)")
        del stepper
    model.cpu()  # calibration and the saved model live on the CPU
    final = evaluate(ctx) if ctx.scenes is None else _finish_scenes(ctx)
    record = final.pop("validation_record", None)
    y = ctx.labels[ctx.train_idx]
    metrics = {
        "model": cfg.model,
        "seed": cfg.seed,
        **final,
        "n_train": len(ctx.train_idx),
        "n_val": len(ctx.val_idx),
        "n_unlabeled": len(ctx.unl_idx),
        "train_fake_share": float(np.mean(y == 1)),
        "skipped_files": [{"file": f, "reason": r} for f, r in prep.skipped],
        "train_seconds": round(elapsed, 3),
        "prepare_seconds": round(prep_seconds, 3),
        "history": history,
    }
    metrics["processes"] = w.size
    if not w.main:
        return metrics
    if record is not None:
        save_arrays(run / VALIDATION, record)
    save_torch(run / MODEL, {"model": model.state_dict()})
    write_json(run / METRICS, metrics)
    set_state(run, cfg.model, "complete")
    return metrics
