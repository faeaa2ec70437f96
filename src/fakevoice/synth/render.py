"""Rendering the benchmark's clips: a clean one-voice train clip, or a test/unlabeled scene
of 0-2 voices, each from its own generator ``rng(seed, split, index)``, so the result does not
depend on the number of workers or the order they run in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fakevoice.audio import SAMPLE_RATE as SR
from fakevoice.audio import write_audio
from fakevoice.seeding import rng as derive_rng
from fakevoice.synth.levels import active_rms, add_at_snr
from fakevoice.synth.noise import coloured_noise
from fakevoice.synth.options import BuildOptions
from fakevoice.synth.scenes import SceneConfig, render_scene
from fakevoice.synth.voices import VoiceTable, level_voice

TEST_MIX = (0.10, 0.45, 0.45)  # share of scenes with 0, 1, 2 voices
TWO_VOICE_COMBOS = (("fake", "fake"), ("real", "real"), ("fake", "real"))


def render_train(
    table: VoiceTable, klass: str, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """One clean train clip: one voice, padded with silence, a noise floor, and on some clips
    a little microphone noise, all drawn the same way for both classes."""
    seconds = float(np.exp(rng.uniform(np.log(1.2), np.log(8.0))))
    x, info = table.draw(rng, klass, seconds)
    x = level_voice(x, rng)
    head = np.zeros(int(rng.uniform(0.05, 0.5) * SR), np.float32)
    tail = np.zeros(int(rng.uniform(0.05, 0.5) * SR), np.float32)
    y = np.concatenate([head, x, tail])
    ref = active_rms(x, SR)
    colour = ("white", "pink", "brown")[int(rng.integers(3))]
    # Real recordings carry room tone in their pauses and synthesisers exact zeros: a floor
    # on every clip, above the recordings' own, hides that difference (at 38-52 dB under the
    # voice the synthesisers' pauses still showed: silence fraction alone had AUC 0.57).
    y = add_at_snr(y, coloured_noise(rng, len(y), colour), float(rng.uniform(30, 45)), ref)
    if rng.random() < 0.3:
        y = add_at_snr(y, coloured_noise(rng, len(y), "pink"), float(rng.uniform(22, 35)), ref)
    return y.astype(np.float32), info


@dataclass
class RenderContext:
    """Everything a clip's rendering reads, the same for every clip of a build."""

    opts: BuildOptions
    tables: dict[str, VoiceTable]
    effects: list[np.ndarray]
    rooms: list[dict[str, Any]]
    train_labels: list[str]
    test_combos: dict[str, list[tuple[str, ...]]]
    ids: dict[str, list[str]]
    train_generators: frozenset[str]
    train_speakers: frozenset[str]


def render_job(ctx: RenderContext, job: tuple[str, int]) -> dict[str, Any]:
    """Render clip ``job`` = (split, index), write it unless it is there, and return its
    row: id, path, labels, what was drawn (the meta columns) and the audit's features."""
    from fakevoice.synth.audit import clip_features

    split, i = job
    r = derive_rng(ctx.opts.seed, split, i)
    cid = ctx.ids[split][i]
    folder = {"train": "train", "test": "test", "unlabeled": "unlabeled_data"}[split]
    path = ctx.opts.out / folder / f"{cid}.ogg"
    row: dict[str, Any] = {"split": split, "id": cid, "path": f"./{folder}/{cid}.ogg"}
    if split == "train":
        klass = ctx.train_labels[i]
        x, info = render_train(ctx.tables["train"], klass, r)
        row.update(label=klass, **{f"v1_{k}": v for k, v in info.items()})
    else:
        combo = ctx.test_combos[split][i]
        voices, infos = [], []
        for klass in combo:
            v, info = ctx.tables["eval"].draw(r, klass, float(r.uniform(1.0, 5.0)))
            voices.append(level_voice(v, r))
            infos.append(info)
        x, scene = render_scene(
            voices, r, SR, effects=ctx.effects, rooms=ctx.rooms, config=SceneConfig()
        )
        row.update(
            n_voices=len(combo),
            fake=int("fake" in combo),
            real=int("real" in combo),
        )
        for k, info in enumerate(infos):
            info = dict(info)
            info["offset"] = scene["offsets"][k]
            info["level_db"] = scene["levels_db"][k]
            info["seen_generator"] = (
                "" if not info["generator"] else int(info["generator"] in ctx.train_generators)
            )
            info["seen_speaker"] = (
                "" if not info["speaker"] else int(info["speaker"] in ctx.train_speakers)
            )
            row.update({f"v{k + 1}_{name}": val for name, val in info.items()})
        row.update(
            noise=scene["noise"],
            snr_db=scene["snr_db"],
            room_rt60=scene["room_rt60"],
            band_limit=scene["band_limit"],
            codec=scene["codec"],
            level_db=scene["level_db"],
        )
    if not path.exists():
        write_audio(path, x, SR)
    # features of the signal as written (clipped like write_audio); decoding the OGG again
    # would cost more than the rest and change them only by the codec's small error
    x = np.clip(x, -1.0, 1.0)
    row["seconds"] = round(len(x) / SR, 4)
    # the baseline uses train and test only; MFCCs cost as much as the rest of the features
    row["features"] = clip_features(x, SR, mfcc=split != "unlabeled")
    return row


def make_combos(seed: int, split: str, n: int) -> list[tuple[str, ...]]:
    """Exact quotas of 0/1/2-voice scenes and of class combinations, shuffled."""
    n0 = round(n * TEST_MIX[0])
    n1 = round(n * TEST_MIX[1])
    n2 = n - n0 - n1
    combos: list[tuple[str, ...]] = [()] * n0
    combos += [("fake",), ("real",)] * (n1 // 2) + [("fake",)] * (n1 % 2)
    combos += [TWO_VOICE_COMBOS[k % 3] for k in range(n2)]
    order = derive_rng(seed, "combos", split).permutation(n)
    return [combos[k] for k in order]


def make_labels(seed: int, n: int) -> list[str]:
    labels = ["fake", "real"] * (n // 2) + ["fake"] * (n % 2)
    order = derive_rng(seed, "labels").permutation(n)
    return [labels[k] for k in order]
