"""The benchmark's noise and room banks: the Tux Paint sound effects (its test noise) and
simulated shoebox rooms, cached on disk."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.atomic import atomic_path
from fakevoice.audio import SAMPLE_RATE as SR
from fakevoice.audio import load_audio
from fakevoice.errors import FakevoiceError
from fakevoice.seeding import rng as derive_rng

TUXPAINT_STAMPS = Path("/usr/share/tuxpaint/stamps")


# Effects that hold a human voice (spoken digits and letters, laughing faces, a Santa "ho ho
# ho", a ghost's "boo", a spoken roll call, the dreidel letters) would put an unlabelled real
# voice into "no voice" scenes, so they are not noise.
_VOICE_LIKE = re.compile(r"(^symbols/|dreydl|santahat|ghost|roll-call)")
_LANG_SUFFIX = re.compile(r"_[a-z]{2,3}(_[A-Za-z]{2,4}|@[a-z]+)?$")


def tuxpaint_effects(root: Path = TUXPAINT_STAMPS) -> list[Path]:
    """The non-speech sound effects among the Tux Paint stamps, sorted.

    A stamp ``name`` has ``name.ogg`` (its sound effect), ``name_desc.ogg`` and
    ``name_desc_LANG.ogg`` (spoken descriptions), and some have ``name_LANG.ogg`` (a
    spoken name). Only the first kind is noise.
    """
    if not root.is_dir():
        return []
    out = []
    for p in root.rglob("*"):
        if p.suffix.lower() not in (".ogg", ".wav") or not p.is_file():
            continue
        rel = p.relative_to(root).as_posix()
        stem = p.stem
        if "_desc" in stem or _LANG_SUFFIX.search(stem) or _VOICE_LIKE.search(rel):
            continue
        out.append(p)
    return sorted(out)


def room_bank(
    rng: np.random.Generator, count: int, sr: int, rt60_range: tuple[float, float] = (0.2, 0.7)
) -> list[dict[str, Any]]:
    """Simulated shoebox rooms (pyroomacoustics, image method), two source positions each.

    Each entry: ``{"rt60", "dims", "rirs": [rir_a, rir_b]}``; both voices of a two-voice
    scene share a room from different positions.
    """
    import pyroomacoustics as pra

    rooms = []
    for _ in range(count):
        dims = [rng.uniform(3.0, 9.0), rng.uniform(3.0, 7.0), rng.uniform(2.4, 3.5)]
        rt60 = float(rng.uniform(*rt60_range))
        try:
            e_abs, max_order = pra.inverse_sabine(rt60, dims)
        except ValueError:
            e_abs, max_order = 0.5, 10
        room = pra.ShoeBox(dims, fs=sr, materials=pra.Material(e_abs), max_order=max_order)

        def point(margin: float = 0.5) -> list[float]:
            return [float(rng.uniform(margin, d - margin)) for d in dims]  # noqa: B023

        for _ in range(2):
            room.add_source(point())
        room.add_microphone(point())
        room.compute_rir()
        rirs = [np.asarray(room.rir[0][s], dtype=np.float32) for s in range(2)]
        rooms.append({"rt60": rt60, "dims": [float(d) for d in dims], "rirs": rirs})
    return rooms


def load_effects(log: Callable[[str], None]) -> list[np.ndarray]:
    paths = tuxpaint_effects()
    if not paths:
        raise FakevoiceError(
            "make-data: no Tux Paint sound effects found under /usr/share/tuxpaint/stamps "
            "(install the Debian package tuxpaint-stamps-default)"
        )
    log(f"noise: {len(paths)} sound effects")
    out = []
    for p in paths:
        x = load_audio(p, SR, warn_silent=False)
        if float(np.max(np.abs(x), initial=0.0)) > 1e-4:
            out.append(x)
    return out


def cached_rooms(cache_dir: Path, seed: int, count: int) -> list[dict[str, Any]]:
    """The room bank, cached on disk: the image method costs about a second a room."""
    path = cache_dir / "rooms" / f"rooms-{seed}-{count}.npz"
    if path.exists():
        try:
            z = np.load(path, allow_pickle=False)
            meta = json.loads(str(z["meta"]))
            return [
                {"rt60": m["rt60"], "dims": m["dims"], "rirs": [z[f"r{k}_0"], z[f"r{k}_1"]]}
                for k, m in enumerate(meta)
            ]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    rooms = room_bank(derive_rng(seed, "rooms"), count, SR)
    arrays = {f"r{k}_{j}": r["rirs"][j] for k, r in enumerate(rooms) for j in range(2)}
    meta = json.dumps([{"rt60": r["rt60"], "dims": r["dims"]} for r in rooms])
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, meta=np.array(meta), **arrays)
    return rooms
