"""Train one registered model on a contest folder's train split into a run directory.

Configuration: defaults, then the model's own defaults, then --config FILE (TOML or
JSON), then --set KEY=VALUE (repeatable, dotted keys such as frontend.n_bands=80), then
--seed / --epochs. A checkpoint is written after every epoch; --resume continues a
killed run and ends with exactly the weights an uninterrupted run gives.
"""

from __future__ import annotations

import argparse

from fakevoice.models.registry import SPECS
from fakevoice.progress import main_process
from fakevoice.train.config import DEFAULT_MODEL, resolve
from fakevoice.train.loop import train

NAME = "train"
HELP = "train a model (see --model) into a run directory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="contest data folder (train.csv, train/, unlabeled_data/)")
    p.add_argument(
        "--model",
        default=None,
        choices=list(SPECS),
        help=f"registered model (default {DEFAULT_MODEL}, or the config file's)",
    )
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--seed", type=int, default=None, help="seed for every random draw (default 0)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of every training stage")
    p.add_argument("--config", default=None, help="TOML or JSON file of config keys")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key (repeatable)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="feature cache (default $FAKEVOICE_CACHE/features or ~/.cache/fakevoice/features)",
    )


def run(args: argparse.Namespace) -> int:
    cfg = resolve(
        args.model, config_file=args.config, sets=args.sets, seed=args.seed, epochs=args.epochs
    )
    metrics = train(
        cfg,
        args.data,
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        cache_dir=args.cache_dir,
    )
    if not main_process():
        return 0  # under torchrun, rank 0 speaks for all
    if "val_score" in metrics:
        where = (
            f"validation score {metrics['val_score']:.4f} (AUC {metrics['val_auc']:.3f}, "
            f"uncalibrated {metrics['uncalibrated_val_score']:.4f}) on {cfg.val_scenes} scenes "
            f"of {metrics['n_val']} held-out clips"
        )
    else:
        acc, n_val = metrics["val_accuracy"], metrics["n_val"]
        where = f"validation accuracy {acc:.4f} on {n_val} clean clips"
    print(
        f"{cfg.model}: {where}; trained on {metrics['n_train']} in "
        f"{metrics['train_seconds']:.1f} s -> {args.out}"
    )
    if metrics["skipped_files"]:
        print(f"note: {len(metrics['skipped_files'])} file(s) skipped (listed in metrics.json)")
    return 0
