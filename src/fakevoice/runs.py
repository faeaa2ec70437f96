"""A run directory: everything one training run made, traceable to its exact settings.

```
RUN/run.json       fakevoice version, run format version, model, state (training|complete)
RUN/config.json    the resolved configuration (reusable: ``--config RUN/config.json``)
RUN/checkpoint.pt  training state after the last finished epoch (for --resume)
RUN/model.pt       the final weights (what predict loads)
RUN/metrics.json   validation accuracy, losses per epoch, timings
RUN/validation.npz scene-trained models: the validation scenes' targets, probabilities
                   before and after calibration, embeddings (what a report draws)
```
A run directory written by another run format version is refused with :class:`RunError`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fakevoice import __version__
from fakevoice.atomic import atomic_path, atomic_write_text
from fakevoice.errors import RunError
from fakevoice.models.common import Detector

FORMAT_VERSION = 1
MANIFEST, CONFIG, CHECKPOINT, MODEL, METRICS, VALIDATION = (
    "run.json",
    "config.json",
    "checkpoint.pt",
    "model.pt",
    "metrics.json",
    "validation.npz",
)


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({exc})") from exc


def read_manifest(run: str | Path) -> dict[str, Any]:
    """The run's manifest, refusing missing folders and other format versions."""
    run = Path(run)
    if not run.is_dir():
        raise RunError(f"{run}: run directory not found")
    path = run / MANIFEST
    if not path.is_file():
        raise RunError(f"{run}: not a fakevoice run directory (no {MANIFEST})")
    manifest = read_json(path)
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        made_by = manifest.get("fakevoice_version", "?") if isinstance(manifest, dict) else "?"
        raise RunError(
            f"{run}: run format version {version} (made by fakevoice {made_by}) is not "
            f"supported by fakevoice {__version__} (format {FORMAT_VERSION}); train it again"
        )
    return manifest


RESUMABLE_ANYWHERE = frozenset({"device"})


def config_differences(saved: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The keys in which a saved run's configuration differs from ``config``; where the
    steps run is not part of the result, so a run may resume on another device."""
    keys = set(saved) | set(config)
    return sorted(k for k in keys if saved.get(k) != config.get(k) and k not in RESUMABLE_ANYWHERE)


def start(run: str | Path, config: dict[str, Any], *, resume: bool, overwrite: bool) -> bool:
    """Prepare ``run`` for training; return True when a checkpoint is to be resumed."""
    run = Path(run)
    has_manifest = (run / MANIFEST).is_file()
    if has_manifest and not overwrite:
        manifest = read_manifest(run)
        if not resume:
            raise RunError(
                f"{run}: a run already exists here (state {manifest.get('state')}); "
                "use --resume to continue it or --overwrite to start again"
            )
        diff = config_differences(read_json(run / CONFIG), config)
        if diff:
            raise RunError(
                f"{run}: --resume with a different configuration ({', '.join(diff)}); "
                "give the same options, or --overwrite"
            )
        return (run / CHECKPOINT).is_file() or manifest.get("state") == "complete"
    if run.exists() and not run.is_dir():
        raise RunError(f"{run}: exists and is not a folder")
    if run.is_dir() and any(run.iterdir()) and not has_manifest and not overwrite:
        raise RunError(f"{run}: folder is not empty and not a run directory; pick another --out")
    if overwrite:
        for name in (CHECKPOINT, MODEL, METRICS):
            (run / name).unlink(missing_ok=True)
    write_json(run / CONFIG, config)
    set_state(run, config["model"], "training")
    return False


def set_state(run: Path, model: str, state: str) -> None:
    write_json(
        Path(run) / MANIFEST,
        {
            "format_version": FORMAT_VERSION,
            "fakevoice_version": __version__,
            "model": model,
            "state": state,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )


def save_torch(path: Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    except Exception as exc:  # zipfile and numpy raise many types for a damaged file
        raise RunError(f"{path}: damaged or unreadable ({exc})") from exc


def load_torch(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise RunError(f"{path}: damaged or unreadable checkpoint ({exc})") from exc


def load_config(run: str | Path):
    from fakevoice.train.config import from_dict

    return from_dict(read_json(Path(run) / CONFIG))


def load_model(run: str | Path) -> tuple[Detector, Any]:
    """The trained Detector (eval mode) and its TrainConfig; refuses unfinished runs."""
    from fakevoice.models.registry import build

    run = Path(run)
    manifest = read_manifest(run)
    if manifest.get("state") != "complete" or not (run / MODEL).is_file():
        raise RunError(f"{run}: training has not finished; run `fakevoice train ... --resume`")
    cfg = load_config(run)
    model = build(cfg)
    payload = load_torch(run / MODEL)
    try:
        model.load_state_dict(payload["model"])
    except (KeyError, RuntimeError) as exc:
        raise RunError(f"{run / MODEL}: weights do not fit the configured model ({exc})") from exc
    model.eval()
    return model, cfg
