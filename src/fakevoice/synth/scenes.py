"""The benchmark's test scenes: 0-2 prepared voices placed in a 5 s clip, in a room, over
noise, through a channel (band limit, codec) and levelled.

:func:`render_scene` is composed of the transforms of :mod:`fakevoice.synth.transforms`, in
the order a recording meets them; the placement of the voices (offsets, overlaps, level
differences) is the scene's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fakevoice.synth.levels import active_rms, db_to_amp, limit_peak, pad_or_trim
from fakevoice.synth.noise import NOISE_COLOURS
from fakevoice.synth.transforms import (
    BackgroundNoise,
    BandLimit,
    Codec,
    ColouredNoise,
    Loudness,
    RoomReverb,
)

# the channels of the band-limit condition: telephone, then two lower sampling rates
BANDS = ((3400.0, 300.0), (4000.0, None), (8000.0, None))


@dataclass(frozen=True)
class SceneConfig:
    """Distributions of the test/unlabeled environment (shared by every class)."""

    seconds: float = 5.0
    min_snr_db: float = -5.0
    max_snr_db: float = 20.0
    level_spread_db: float = 10.0
    p_reverb: float = 0.35
    p_band: float = 0.3
    p_codec: float = 0.2
    codecs: tuple[str, ...] = ("vorbis", "mulaw", "codec2")
    p_second_noise: float = 0.3
    noise_kinds: tuple[str, ...] = ("effect", "white", "pink", "brown", "blue", "hum")
    noise_weights: tuple[float, ...] = (0.4, 0.1, 0.15, 0.15, 0.05, 0.15)
    min_level_db: float = -32.0
    max_level_db: float = -16.0


def _offsets(rng: np.random.Generator, lengths: Sequence[int], n: int) -> list[int]:
    """Start of each voice; a second voice always overlaps the first, partly or fully."""
    starts: list[int] = []
    for i, m in enumerate(lengths):
        hi = max(0, n - m)
        if i == 0:
            starts.append(int(rng.integers(0, hi + 1)))
            continue
        a, la = starts[0], lengths[0]
        # overlap at least a fifth of the shorter voice, anywhere from partial to full
        need = max(1, min(m, la) // 5)
        lo_s, hi_s = max(0, a - m + need), min(hi, a + la - need)
        starts.append(int(rng.integers(lo_s, hi_s + 1)) if lo_s <= hi_s else min(a, hi))
    return starts


def render_scene(
    voices: Sequence[np.ndarray],
    rng: np.random.Generator,
    sr: int,
    *,
    effects: Sequence[np.ndarray] = (),
    rooms: Sequence[dict[str, Any]] = (),
    config: SceneConfig = SceneConfig(),
) -> tuple[np.ndarray, dict[str, Any]]:
    """Mix 0-2 prepared voices into a noisy clip of exactly ``config.seconds``.

    Returns the clip and what was drawn (offsets, levels, noise, SNR, room, band, codec),
    the material of ``test_meta.csv``.
    """
    n = round(config.seconds * sr)
    info: dict[str, Any] = {"offsets": [], "levels_db": []}
    reverb = RoomReverb(rooms, config.p_reverb) if rooms else None
    room = reverb.maybe_draw(rng, np.zeros(0, np.float32), sr) if reverb else None
    info["room_rt60"] = None if room is None else round(rooms[room["room"]]["rt60"], 3)
    placed = []
    for i, v in enumerate(voices):
        v = v[:n].astype(np.float32)
        if reverb is not None and room is not None:
            v = reverb.apply(v, sr, room["room"], source=i)
        placed.append(v)
    mix = np.zeros(n, dtype=np.float32)
    starts = _offsets(rng, [len(v) for v in placed], n)
    base = rng.uniform(-3.0, 0.0)
    for i, (v, s) in enumerate(zip(placed, starts, strict=True)):
        rel = 0.0 if i == 0 else float(rng.uniform(-config.level_spread_db, config.level_spread_db))
        gain = db_to_amp(base + rel) / active_rms(v, sr) * 0.1
        mix[s : s + len(v)] += v * gain
        info["offsets"].append(round(s / sr, 3))
        info["levels_db"].append(round(rel, 2))

    # The final loudness normalisation sets a noise-only clip's level, so its noise is added
    # at a nominal reference: no loudness difference separates "no voice" from voiced clips.
    ref = active_rms(mix, sr) if voices else 0.1
    background = BackgroundNoise(
        config.noise_kinds, config.noise_weights, effects, config.min_snr_db, config.max_snr_db
    )
    noise = background.draw(rng, mix, sr)
    mix = background.apply(mix, sr, ref=ref, **noise)
    info["noise"] = noise["label"]
    info["snr_db"] = round(noise["snr_db"], 2) if voices else None
    second = ColouredNoise(
        config.max_snr_db / 2, config.max_snr_db + 15, NOISE_COLOURS, config.p_second_noise
    )
    hiss = second.maybe_draw(rng, mix, sr)
    if hiss is not None:
        mix = second.apply(mix, sr, ref=ref, **hiss)
        info["noise"] += f"+{hiss['colour']}"

    channel = BandLimit(BANDS, p=config.p_band)
    band = channel.maybe_draw(rng, mix, sr)
    if band is not None:
        mix = channel.apply(mix, sr, **band)
    info["band_limit"] = None if band is None else int(band["cutoff"])
    codec = Codec(config.codecs, config.p_codec)
    lossy = codec.maybe_draw(rng, mix, sr)
    if lossy is not None:
        mix = codec.apply(mix, sr, **lossy)
    info["codec"] = None if lossy is None else lossy["kind"]
    loudness = Loudness(config.min_level_db, config.max_level_db)
    level = loudness.draw(rng, mix, sr)
    mix = loudness.apply(mix, sr, **level)
    mix = limit_peak(mix, sr, db_to_amp(-0.5))
    info["level_db"] = round(level["level_db"], 2)
    return pad_or_trim(mix.astype(np.float32), n), info
