"""Training configuration: dataclasses with working defaults, a TOML/JSON file, ``--set k=v``.

Resolution order, later wins: dataclass defaults, the model's own defaults (registry),
the config file, ``--set`` overrides, then the explicit ``--seed`` / ``--epochs`` flags.
The resolved configuration is saved in the run directory.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fakevoice.audio import SAMPLE_RATE
from fakevoice.errors import FakevoiceError
from fakevoice.features import FrontEndConfig
from fakevoice.simulate import SceneSettings
from fakevoice.train.step import PRECISIONS

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_MODEL = "detector"
ADAPTATIONS = ("adabn", "selftrain", "dann")
GATE_MODES = ("auto", "on", "off")


@dataclass
class TrainConfig:
    """Everything a run depends on. ``epochs`` is the main supervised stage's length."""

    model: str = DEFAULT_MODEL
    seed: int = 0
    epochs: int = 8
    batch_size: int = 64
    lr: float = 1e-3
    # "constant", or "cosine": lr falls from ``lr`` to 0 over each stage (by its position,
    # so resuming needs no scheduler state)
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    val_fraction: float = 0.2
    clip_seconds: float = 5.0
    # Training clips are decoded up to this length; random 5 s crops are taken inside it.
    max_seconds: float = 12.0
    ae_epochs: int = 10
    pseudo_epochs: int = 4
    # Seed behaviour is 0: every unlabeled clip gets its argmax label.
    pseudo_threshold: float = 0.0
    dann_weight: float = 0.3
    pretrained: str = ""
    # A local wav2vec2 / WavLM / HuBERT / XLS-R folder (transformers' save_pretrained): it
    # replaces the detector's trunk, and the front end becomes the 16 kHz waveform. Its
    # [net] settings: freeze (true), embed, dropout, device (auto: CUDA when present).
    encoder: str = ""
    # Intra-op threads of prediction (and explain, serve); 0 leaves torch's default.
    threads: int = 0
    # Intra-op threads of the training steps; 0 leaves torch's default. One by default:
    # beside the scene simulation (on another core) it trains as fast as two here, and a
    # run's float sums then do not depend on the machine's core count, so the same seed
    # gives the same weights on any CPU.
    train_threads: int = 1
    # Scene-trained models (detector): gradient steps per epoch, validation scenes drawn
    # from held-out voices, the composition head's loss weight, calibration of the two
    # columns on the validation scenes, and the share of each unlabeled clip's quietest
    # frames taken as noise.
    steps_per_epoch: int = 100
    val_scenes: int = 600
    composition_weight: float = 0.5
    calibration: str = "temperature"
    # Clusters the fake training clips are grouped into for the validation split (0: as
    # many as the real clips get, about 25 clips each); few clusters follow generators,
    # so validation holds out whole generators (train/groups.py).
    fake_clusters: int = 0
    noise_quantile: float = 0.35
    # Where the noise bank's stretches come from: "vad" (Silero's non-speech chunks of the
    # unlabeled clips), "quiet" (each clip's quietest frames, below noise_quantile of its
    # levels), or "coloured" (no unlabeled noise: coloured noise only, the ablation).
    noise_source: str = "vad"
    # Presence models at prediction: a window whose speech score (Silero VAD) is below
    # vad_threshold gets both probabilities at most vad_floor. "auto" keeps the gate only
    # when it lowers the score of the validation scenes (the choice is in metrics.json);
    # "on" and "off" (also true/false) decide without them. Without the gate, prediction
    # runs no voice activity at all: it costs more than the network (12.5 of 27 ms a clip).
    vad_gate: str = "auto"
    vad_threshold: float = 0.5
    vad_floor: float = 0.03
    # Domain adaptation of scene-trained models with the unlabeled clips, any of:
    # "adabn" (batch-norm statistics re-estimated on them before calibration), "selftrain"
    # (a further stage on confidently pseudo-labelled clips besides the scenes), "dann"
    # (a domain classifier through gradient reversal, simulated scenes vs unlabeled clips,
    # weighted by dann_weight).
    adapt: tuple[str, ...] = ()
    # selftrain: its epochs, the pseudo-labelled batch's loss weight, and the precision a
    # confidence threshold must reach on the validation scenes to label a column.
    self_epochs: int = 3
    self_weight: float = 0.5
    self_precision: float = 0.95
    # Threads that simulate scenes ahead of the model (0: in the training thread; results
    # are the same either way).
    scene_workers: int = 1
    # Each step's batch is cut into this many parts, each normalised by batch norm on its
    # own, their gradients averaged (fakevoice.train.step): 0 is one part per process (1
    # without torchrun). Under torchrun the processes share the parts, so one process
    # with micro_batches=N trains as N processes do.
    micro_batches: int = 0
    # "auto" (bf16 on a GPU that has it, else float16 with loss scaling; 32 on a CPU),
    # "32", "bf16" (autocast, also on a CPU) or "16" (CUDA only).
    precision: str = "auto"
    # Where training steps run: "auto" (this process's GPU when CUDA is there, else the
    # CPU), "cpu", "cuda" or "cuda:N". Not part of the result, so not compared on resume.
    device: str = "auto"
    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    scenes: SceneSettings = field(default_factory=SceneSettings)
    # Architecture settings passed to the model family's constructor (``[net]`` in TOML,
    # ``--set net.widths=[16,32,64,64]``); not ``[model]``, which names the model.
    net: dict[str, Any] = field(default_factory=dict)

    @property
    def gate_mode(self) -> str:
        """``vad_gate`` as auto, on or off (runs saved before "auto" hold true or false)."""
        word = str(self.vad_gate).strip().lower()
        return {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}.get(
            word, word
        )

    @property
    def clip_samples(self) -> int:
        return round(self.clip_seconds * self.frontend.sample_rate)

    @property
    def frames(self) -> int:
        return self.frontend.n_frames(self.clip_samples)

    def as_dict(self) -> dict[str, Any]:
        # as saved and read back (tuples become lists), so a resumed run compares equal
        return json.loads(json.dumps(asdict(self)))

    def validate(self) -> None:
        problems = []
        if self.epochs < 0 or self.ae_epochs < 0 or self.pseudo_epochs < 0:
            problems.append("epoch counts must be >= 0")
        if self.batch_size < 2:
            problems.append("batch_size must be >= 2 (batch norm needs two clips)")
        if not 0.0 < self.val_fraction < 1.0:
            problems.append("val_fraction must lie strictly between 0 and 1")
        if self.threads < 0 or self.train_threads < 0:
            problems.append("threads and train_threads must be >= 0")
        if self.lr <= 0:
            problems.append("lr must be > 0")
        if self.lr_schedule not in ("constant", "cosine"):
            problems.append("lr_schedule must be constant or cosine")
        if self.clip_seconds <= 0 or self.max_seconds < self.clip_seconds:
            problems.append("need 0 < clip_seconds <= max_seconds")
        if self.gate_mode not in GATE_MODES:
            problems.append(f"vad_gate must be one of {', '.join(GATE_MODES)}")
        if not (0.0 <= self.vad_threshold <= 1.0 and 0.0 <= self.vad_floor <= 1.0):
            problems.append("vad_threshold and vad_floor must lie in [0, 1]")
        if self.encoder and self.frontend.kind != "waveform":
            problems.append("encoder=PATH reads the waveform: frontend.kind must be waveform")
        if self.noise_source not in ("vad", "quiet", "coloured"):
            problems.append("noise_source must be vad, quiet or coloured")
        if self.scene_workers < 0:
            problems.append("scene_workers must be >= 0")
        if self.micro_batches < 0:
            problems.append("micro_batches must be >= 0 (0: one per process)")
        elif self.micro_batches > 1 and (
            self.batch_size % self.micro_batches or self.batch_size // self.micro_batches < 4
        ):
            problems.append(
                f"batch_size {self.batch_size} must be a multiple of micro_batches "
                f"{self.micro_batches}, with at least 4 clips a part"
            )
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.steps_per_epoch < 1 or self.val_scenes < 8:
            problems.append("steps_per_epoch must be >= 1 and val_scenes >= 8")
        if self.calibration not in ("none", "temperature", "platt"):
            problems.append("calibration must be none, temperature or platt")
        unknown = [a for a in self.adapt if a not in ADAPTATIONS]
        if unknown:
            problems.append(f"adapt: unknown {unknown}; choose from {', '.join(ADAPTATIONS)}")
        if self.self_epochs < 0 or self.self_weight < 0 or not 0.5 < self.self_precision <= 1:
            problems.append("self_epochs, self_weight >= 0 and 0.5 < self_precision <= 1")
        if self.fake_clusters < 0:
            problems.append("fake_clusters must be >= 0")
        if not 0.0 < self.noise_quantile < 1.0:
            problems.append("noise_quantile must lie strictly between 0 and 1")
        try:
            self.scenes.validate()
        except (ValueError, TypeError) as exc:
            problems.append(f"scenes: {exc}")
        if self.frontend.sample_rate != SAMPLE_RATE:
            problems.append(f"frontend.sample_rate must be {SAMPLE_RATE} (the decoding rate)")
        try:
            self.frontend.validate()
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise FakevoiceError("invalid configuration: " + "; ".join(problems))


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(value: Any, typ: Any, key: str) -> Any:
    origin = typing.get_origin(typ)
    if origin is tuple:
        items = _literal(value)
        if isinstance(items, str) and typing.get_args(typ)[0] is str:
            # a list of words may be spelled bare: adapt=dann,adabn or adapt=[dann,adabn]
            words = items.strip().removeprefix("[").removesuffix("]")
            items = [w.strip().strip("'\"") for w in words.split(",") if w.strip()]
        if not isinstance(items, (list, tuple)):
            raise FakevoiceError(f"config key {key}: {value!r} is not a list")
        args = [a for a in typing.get_args(typ) if a is not Ellipsis]
        return tuple(_coerce(v, args[min(i, len(args) - 1)], key) for i, v in enumerate(items))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        return _coerce(value, args[0], key)
    try:
        if typ is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if typ is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if typ is float:
            return float(value)
        if typ is str:
            return str(value)
    except (TypeError, ValueError) as exc:
        raise FakevoiceError(f"config key {key}: {value!r} is not a valid {typ.__name__}") from exc
    return value


def set_key(cfg: TrainConfig, key: str, value: Any) -> None:
    """Set a dotted key (``lr``, ``frontend.n_bands``) with the field's type."""
    target: Any = cfg
    parts = key.strip().split(".")
    if parts[0] == "net" and len(parts) == 2:
        cfg.net[parts[1]] = _literal(value)
        return
    for part in parts[:-1]:
        if not dataclasses.is_dataclass(target) or part not in _field_types(type(target)):
            raise FakevoiceError(f"unknown config key {key!r}")
        target = getattr(target, part)
    name = parts[-1]
    if not dataclasses.is_dataclass(target):
        raise FakevoiceError(f"unknown config key {key!r}")
    types_ = _field_types(type(target))
    if name not in types_:
        known = ", ".join(sorted(_flat_keys(cfg)))
        raise FakevoiceError(f"unknown config key {key!r} (known: {known})")
    if dataclasses.is_dataclass(types_[name]):
        if not isinstance(value, Mapping):
            raise FakevoiceError(f"config key {key!r} is a section, give {key}.FIELD=VALUE")
        for k, v in value.items():
            set_key(cfg, f"{key}.{k}", v)
        return
    setattr(target, name, _coerce(value, types_[name], key))


def _literal(value: Any) -> Any:
    """A ``--set`` string as the JSON value it spells (numbers, lists, true/false), else
    the string itself; values from TOML or JSON files pass unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _flat_keys(obj: Any, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if f.name == "net":
            out.append("net.NAME")
        elif dataclasses.is_dataclass(v):
            out += _flat_keys(v, f"{prefix}{f.name}.")
        else:
            out.append(prefix + f.name)
    return out


def apply_mapping(cfg: TrainConfig, mapping: Mapping[str, Any], prefix: str = "") -> None:
    for k, v in mapping.items():
        key = f"{prefix}{k}"
        if key == "net" and isinstance(v, Mapping):
            cfg.net.update(v)
        elif isinstance(v, Mapping):
            apply_mapping(cfg, v, key + ".")
        else:
            set_key(cfg, key, v)


def parse_sets(items: Iterable[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if "=" not in item:
            raise FakevoiceError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out.append((k.strip(), v.strip()))
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FakevoiceError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FakevoiceError(f"{path}: not a valid TOML/JSON config ({exc})") from exc
    if not isinstance(data, dict):
        raise FakevoiceError(f"{path}: a config file must hold a table of keys")
    return data


def from_dict(data: Mapping[str, Any]) -> TrainConfig:
    cfg = TrainConfig()
    apply_mapping(cfg, data)
    return cfg


def resolve(
    model: str | None = None,
    *,
    config_file: str | Path | None = None,
    sets: Iterable[str] = (),
    seed: int | None = None,
    epochs: int | None = None,
) -> TrainConfig:
    """The full configuration for a run, in the documented order of precedence.

    ``epochs`` (the ``--epochs`` flag) sets every stage's epoch count at once.
    """
    from fakevoice.models.registry import get_spec

    file_data = read_config_file(config_file) if config_file else {}
    name = model or file_data.get("model") or DEFAULT_MODEL
    spec = get_spec(str(name))
    cfg = TrainConfig(model=spec.name)
    apply_mapping(cfg, spec.defaults)
    apply_mapping(cfg, file_data)
    for k, v in parse_sets(sets):
        set_key(cfg, k, v)
    cfg.model = spec.name
    if seed is not None:
        cfg.seed = int(seed)
    if epochs is not None:
        cfg.epochs = cfg.ae_epochs = cfg.pseudo_epochs = int(epochs)
    if cfg.encoder and cfg.frontend.kind != "waveform":
        # a speech encoder reads samples, not a spectrogram
        cfg.frontend = FrontEndConfig(kind="waveform")
    get_spec(cfg.model)
    cfg.validate()
    return cfg
