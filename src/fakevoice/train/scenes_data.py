"""What a scene-trained model's stages read: training scenes, a fixed validation set of
scenes from held-out voices, and the calibration fitted on it.

Training clips are decoded once (:mod:`fakevoice.train.waves`), grouped into guessed
voices (:mod:`fakevoice.train.groups`), and split by whole voices. The unlabeled clips
give the noise bank (:class:`fakevoice.simulate.NoiseBank`). Validation scenes are drawn
once from the held-out voices with a seeded generator and scored with the contest score,
so every epoch is measured on the same examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fakevoice.features import FrontEnd
from fakevoice.metric import score_arrays
from fakevoice.models.common import torch_threads
from fakevoice.seeding import rng
from fakevoice.simulate import NoiseBank, SceneMaker, targets
from fakevoice.train.groups import group_split, voice_groups, voice_summary
from fakevoice.train.waves import load_waves


@dataclass
class SceneData:
    maker: SceneMaker
    front: FrontEnd
    val_x: torch.Tensor
    val_y: np.ndarray  # (B, 3): fake, real, composition
    n_noise: int
    n_groups: int
    # (N, C, T) unlabeled clips' features, kept when the config adapts to them
    unl_x: torch.Tensor | None = None
    # the validation scenes' speech scores, kept when the gate is chosen on them
    val_speech: np.ndarray | None = None

    def features(self, waves: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.front(torch.from_numpy(waves))
        return x, torch.full((len(x),), x.shape[-1], dtype=torch.int64)


def prepare_scenes(
    cfg,
    train_paths: list[str],
    labels_all: np.ndarray,
    unl_paths: list[str],
    cache_dir: str | Path | None,
) -> tuple[SceneData, np.ndarray, np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """(scene data, ok mask over train files, train idx, val idx, skipped files); the
    indices are into the decodable training clips."""
    wave_cache = Path(cache_dir).parent / "waves" if cache_dir is not None else None
    store = load_waves(train_paths, max_seconds=cfg.max_seconds, cache_dir=wave_cache)
    ok = store.ok
    good = np.flatnonzero(ok)
    labels = labels_all[ok]
    front = FrontEnd(cfg.frontend)
    with torch_threads(1):
        summaries = np.stack(
            [voice_summary(front(torch.from_numpy(store.get(int(i))))[0].numpy()) for i in good]
        )
    groups = voice_groups(summaries, labels, cfg.seed, fake_clusters=cfg.fake_clusters)
    train_idx, val_idx = group_split(groups, labels, cfg.val_fraction, rng(cfg.seed, "split"))
    skipped = list(store.failed)
    noise_clips: list[np.ndarray] = []
    if unl_paths:
        ustore = load_waves(unl_paths, max_seconds=cfg.max_seconds, cache_dir=wave_cache)
        skipped += ustore.failed
        noise_clips = [ustore.get(i) for i in np.flatnonzero(ustore.ok)]
    if cfg.noise_source == "coloured":
        bank = NoiseBank([])
    elif noise_clips and cfg.noise_source == "vad":
        from fakevoice.vad import HOP_32K, speech_probabilities

        speech = speech_probabilities(noise_clips)
        bank = NoiseBank(noise_clips, speech=speech, chunk=HOP_32K)
    else:
        bank = NoiseBank(noise_clips, cfg.noise_quantile)

    def get(k: int) -> np.ndarray:
        return store.get(int(good[k]))

    def pools(idx: np.ndarray) -> dict[str, list[int]]:
        return {
            "fake": [int(i) for i in idx if labels[i] == 1],
            "real": [int(i) for i in idx if labels[i] == 0],
        }

    maker = SceneMaker(pools(train_idx), get, bank, cfg.scenes)
    val_pools = pools(val_idx)
    if not val_pools["fake"] or not val_pools["real"]:
        val_pools = pools(train_idx)  # too few clips to hold a voice of each class out
    val_maker = SceneMaker(val_pools, get, bank, cfg.scenes)
    b = val_maker.batch(rng(cfg.seed, "val-scenes"), cfg.val_scenes)
    val_x = front(torch.from_numpy(b["wave"]))
    unl_x = None
    if cfg.adapt and noise_clips:
        from fakevoice.train.adapt import clip_features

        unl_x = clip_features(front, noise_clips, cfg.clip_samples)
    val_speech = None
    if cfg.gate_mode == "auto":
        from fakevoice.vad import window_scores

        wave = b["wave"]
        val_speech = np.asarray(window_scores(list(wave), [wave.shape[1]] * len(wave)))
    data = SceneData(
        maker, front, val_x, targets(b), len(bank), len(set(groups)), unl_x, val_speech
    )
    return data, ok, train_idx, val_idx, skipped


@torch.no_grad()
def outputs_of(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(embeddings, logits) of the model for (N, C, T) full-length features, in eval mode."""
    was = model.training
    model.eval()
    frames = x.shape[-1]
    embeds, logits = [], []
    for part in torch.split(x, 128):
        e = model.embed(part, torch.full((len(part),), frames))
        embeds.append(e.reshape(len(part), -1))
        logits.append(model.net.classify(e))
    model.train(was)
    return torch.cat(embeds), torch.cat(logits)


def logits_of(model, x: torch.Tensor) -> torch.Tensor:
    """The model's logits for (N, C, T) full-length features, in eval mode."""
    return outputs_of(model, x)[1]


def validation_logits(model, data: SceneData) -> torch.Tensor:
    return logits_of(model, data.val_x)


@torch.no_grad()
def validation_record(model, data: SceneData) -> dict[str, np.ndarray]:
    """What a report shows of the validation scenes: targets, probabilities before and
    after calibration, and the embeddings (float16: a map needs no more)."""
    e, z = outputs_of(model, data.val_x)
    return {
        "target": data.val_y.astype(np.float32),
        "probs": model.probabilities(z).numpy().astype(np.float32),
        "probs_uncalibrated": model.probabilities(z, calibrated=False).numpy().astype(np.float32),
        "embedding": e.numpy().astype(np.float16),
    }


def scene_metrics(model, data: SceneData, prefix: str = "val_") -> dict[str, float]:
    """The contest score of the model on the validation scenes."""
    probs = model.probabilities(validation_logits(model, data)).numpy().astype(np.float64)
    s = score_arrays(data.val_y[:, :2], probs)
    accuracy = float(np.mean((probs >= 0.5) == (data.val_y[:, :2] > 0.5)))
    values = {"accuracy": accuracy, "score": s.score, "auc": s.auc, "brier": s.brier}
    values["ece"] = s.ece
    return {prefix + k: v for k, v in values.items()}


def fit_temperature(logits: torch.Tensor, target: torch.Tensor) -> float:
    """The temperature T minimising the log loss of sigmoid(logits / T) (golden section on
    log T in [-3, 3])."""

    def nll(log_t: float) -> float:
        z = logits / float(np.exp(log_t))
        return float(torch.nn.functional.binary_cross_entropy_with_logits(z, target))

    lo, hi = -3.0, 3.0
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def fit_platt(logits: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """(T, b) minimising the log loss of sigmoid(logits / T + b); T > 0 keeps the ranking."""
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    z, y = logits.to(torch.float64), target.to(torch.float64)
    opt = torch.optim.LBFGS([log_t, b], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z / log_t.exp() + b, y)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    t = float(np.clip(np.exp(float(log_t)), np.exp(-3.0), np.exp(3.0)))
    return t, float(np.clip(float(b), -10.0, 10.0))


@torch.no_grad()
def choose_gate(model, data: SceneData, cfg) -> dict[str, Any]:
    """Whether prediction gates the model's windows by voice activity (``vad_gate_used``):
    as configured ("on", "off"), or for "auto" only when the gate lowers the contest score
    of the validation scenes (with the calibration in the model); both scores recorded."""
    if model.head != "presence":
        return {"vad_gate_used": False}
    if cfg.gate_mode != "auto" or data.val_speech is None:
        return {"vad_gate_used": cfg.gate_mode == "on"}
    from fakevoice.vad import gate

    probs = model.probabilities(validation_logits(model, data)).numpy().astype(np.float64)
    target = data.val_y[:, :2]
    without = score_arrays(target, probs).score
    gated = gate(probs.copy(), data.val_speech, cfg.vad_threshold, cfg.vad_floor)
    with_gate = score_arrays(target, gated).score
    return {
        "vad_gate_used": bool(with_gate < without),
        "val_score_gated": with_gate,
        "val_score_ungated": without,
    }


@torch.no_grad()
def calibrate(model, data: SceneData, method: str = "temperature") -> dict[str, float]:
    """Per-column calibration fitted on the validation scenes, stored in the model:
    ``temperature`` (one scale per column) or ``platt`` (a scale and a bias)."""
    logits = validation_logits(model, data)[:, :2]
    target = torch.from_numpy(data.val_y[:, :2])
    if method == "platt":
        fits = [fit_platt(logits[:, k], target[:, k]) for k in range(2)]
    else:
        fits = [(fit_temperature(logits[:, k], target[:, k]), 0.0) for k in range(2)]
    temps, biases = zip(*fits, strict=True)
    model.temperature.copy_(torch.tensor(temps, dtype=model.temperature.dtype))
    model.bias.copy_(torch.tensor(biases, dtype=model.bias.dtype))
    out = {"temperature_fake": temps[0], "temperature_real": temps[1]}
    if method == "platt":
        out |= {"bias_fake": biases[0], "bias_real": biases[1]}
    return out
