"""Real human speech shipped in Debian packages: discovery, texts, loading, silence trimming.

Each source is a folder tree installed by one Debian package. Discovery reads only file
names and the packages' own metadata (tuxpaint ``.txt`` descriptions, klettres
``sounds.xml``, ktuberling ``.soundtheme``, pocketsphinx transcriptions) and never decodes
audio, so it takes well under a second for the ~11,000 clips.

Byte-identical recordings are common (tuxpaint copies one recording into several stamp
folders); only one copy is kept so that no recording can land in both train and test.
"""

from __future__ import annotations

import functools
import hashlib
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fakevoice.audio import SAMPLE_RATE, load_audio, resample
from fakevoice.errors import FakevoiceError


class SourceMissingError(FakevoiceError):
    """A requested voice source or synthesiser is not installed; the message names the package."""


@dataclass(frozen=True)
class Utterance:
    uid: str
    source: str
    speaker: str
    language: str
    text: str
    path: Path


@dataclass(frozen=True)
class SourceInfo:
    name: str
    package: str
    root: Path
    licence: str
    description: str


SOURCES: dict[str, SourceInfo] = {
    s.name: s
    for s in (
        SourceInfo(
            "tuxpaint",
            "tuxpaint-stamps-default",
            Path("/usr/share/tuxpaint/stamps"),
            "GPL-2+ (recordings by Tux Paint contributors)",
            "spoken stamp descriptions and names, 44.1 kHz, ~25 locales",
        ),
        SourceInfo(
            "klettres",
            "klettres-data",
            Path("/usr/share/klettres"),
            "GPL-2+",
            "spoken letters and syllables, 22 locales",
        ),
        SourceInfo(
            "ktuberling",
            "ktuberling-data",
            Path("/usr/share/ktuberling/sounds"),
            "GPL-2+",
            "spoken object names, one folder per locale",
        ),
        SourceInfo(
            "asterisk",
            "asterisk-core-sounds-en-wav",
            Path("/usr/share/asterisk/sounds/en_US_f_Allison"),
            "CC-BY-SA-3.0 (Digium, voice of Allison Smith)",
            "telephony prompts, 8 kHz, one speaker",
        ),
        SourceInfo(
            "pocketsphinx",
            "pocketsphinx-testdata",
            Path("/usr/share/pocketsphinx/test/data"),
            "BSD-2-Clause (CMU); LibriVox excerpt public domain",
            "English test utterances, 16 kHz, with transcriptions",
        ),
    )
}

_AUDIO_SUFFIXES = (".ogg", ".wav", ".opus", ".flac", ".raw")
# Locales whose ISO 639-1 code is not simply the part before "_" or "@".
_LANGUAGE_FIX: dict[str, str] = {}


def language_of(locale: str) -> str:
    """ISO 639-1 code of a locale name as the packages spell it (``pt_BR`` -> ``pt``).

    Languages without a two-letter code (``nds``) keep their ISO 639-3 code.
    """
    code = re.split(r"[_@.\-]", locale.strip())[0].lower()
    return _LANGUAGE_FIX.get(code, code)


def _missing(name: str) -> SourceMissingError:
    info = SOURCES[name]
    return SourceMissingError(
        f"{info.root}: voice source '{name}' is not installed; install the Debian package "
        f"{info.package} (sudo apt-get install {info.package}, or `make setup`)"
    )


def _clean_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip("|").strip()


# ----------------------------------------------------------------------------- tuxpaint


def _read_tuxpaint_txt(path: Path) -> dict[str, str]:
    """Map locale (lower case) to description. The first line is the US English text."""
    texts: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return texts
    first = True
    for line in lines:
        if not line.strip():
            continue
        m = re.match(r"^([A-Za-z_@]+)\.utf8=(.*)$", line)
        if m:
            texts.setdefault(m.group(1).lower(), _clean_text(m.group(2)))
        elif first:
            texts["en"] = _clean_text(line)
        first = False
    return texts


def _tuxpaint(root: Path) -> list[Utterance]:
    """``NAME_desc.ogg`` is the US English description, ``NAME_desc_LOCALE.ogg`` a translated one
    (text in ``NAME.txt``); ``NAME_LOCALE.ogg`` is the stamp's name spoken (letters, digits);
    plain ``NAME.ogg`` is a sound effect, not speech, and is skipped."""
    out: list[Utterance] = []
    read: dict[Path, dict[str, str]] = {}
    by_dir: dict[Path, list[Path]] = defaultdict(list)
    for p in root.rglob("*"):
        if p.is_file():
            by_dir[p.parent].append(p)
    for folder, files in sorted(by_dir.items()):
        stems = sorted(
            {p.stem for p in files if p.suffix in (".txt", ".png", ".svg", ".dat")},
            key=len,
            reverse=True,
        )
        rel = folder.relative_to(root).as_posix()
        for p in sorted(files):
            if p.suffix not in (".ogg", ".wav"):
                continue
            base = next((s for s in stems if p.stem.startswith(s + "_")), None)
            if base is None:
                continue
            rest = p.stem[len(base) + 1 :]
            if rest == "desc":
                locale, kind = "en", "desc"
            elif rest.startswith("desc_"):
                locale, kind = rest[5:], "desc"
            else:
                locale, kind = rest, "name"
            if not re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]{2})?", locale):
                continue
            text = ""
            if kind == "desc":
                # one description file serves every locale's recording of it
                txt = folder / f"{base}.txt"
                if txt not in read:
                    read[txt] = _read_tuxpaint_txt(txt)
                texts = read[txt]
                text = texts.get(locale.lower()) or texts.get(locale.split("_")[0].lower(), "")
            locale_tag = (
                locale if "_" not in locale else locale.split("_")[0] + "_" + locale[3:].upper()
            )
            out.append(
                Utterance(
                    uid=f"tuxpaint/{locale_tag}/{rel}/{base}" + ("/name" if kind == "name" else ""),
                    source="tuxpaint",
                    speaker=f"tuxpaint/{locale_tag}",
                    language=language_of(locale),
                    text=text,
                    path=p,
                )
            )
    return out


# ----------------------------------------------------------------------------- klettres


def _klettres(root: Path) -> list[Utterance]:
    out: list[Utterance] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "sounds.xml").exists()):
        names: dict[str, str] = {}
        try:
            for s in ET.parse(folder / "sounds.xml").iter("sound"):
                if s.get("file") and s.get("name"):
                    names[s.get("file", "")] = _clean_text(s.get("name", ""))
        except ET.ParseError:
            names = {}
        for p in sorted(folder.rglob("*")):
            if p.suffix not in _AUDIO_SUFFIXES or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            out.append(
                Utterance(
                    uid=f"klettres/{rel.rsplit('.', 1)[0]}",
                    source="klettres",
                    speaker=f"klettres/{folder.name}",
                    language=language_of(folder.name),
                    text=names.get(rel, ""),
                    path=p,
                )
            )
    return out


# ----------------------------------------------------------------------------- ktuberling


def _ktuberling_text(key: str, stem: str, language: str) -> str:
    """The word spoken, where the package tells it.

    Sound keys are English (``egypt_camel``); some locales name their files after the local
    word (``fr/egypte_chameau.wav``, ``id/ball_bola.wav``). Files named after the English key
    in another language say an unknown translation, so their text stays empty.
    """
    key_word = key.split("_")[-1].replace("-", " ")
    stem_word = stem.split("_")[-1].replace("-", " ")
    if language == "en":
        return key_word
    if stem_word.lower() != key_word.lower() and stem_word.lower() != key.lower():
        return stem_word
    return ""


def _ktuberling(root: Path) -> list[Utterance]:
    out: list[Utterance] = []
    keys: dict[str, str] = {}
    for theme in sorted(root.glob("*.soundtheme")):
        text = theme.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(r'name="([^"]+)"\s+file="([^"]+)"', text):
            keys.setdefault(m.group(2), m.group(1))
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        language = language_of(folder.name)
        for p in sorted(folder.rglob("*")):
            if p.suffix not in _AUDIO_SUFFIXES or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            key = keys.get(rel)
            out.append(
                Utterance(
                    uid=f"ktuberling/{rel.rsplit('.', 1)[0]}",
                    source="ktuberling",
                    speaker=f"ktuberling/{folder.name}",
                    language=language,
                    text=_ktuberling_text(key, p.stem, language) if key else "",
                    path=p,
                )
            )
    return out


# ----------------------------------------------------------------------------- asterisk


def _asterisk(root: Path) -> list[Utterance]:
    out: list[Utterance] = []
    for p in sorted(root.rglob("*.wav")):
        rel = p.relative_to(root)
        if rel.parts[0] == "silence":  # recorded room tone, no voice
            continue
        # Digits and letters say their own file name; other prompt names are abbreviations.
        text = p.stem if rel.parts[0] in ("digits", "letters") and p.stem.isalnum() else ""
        out.append(
            Utterance(
                uid=f"asterisk/en/{rel.with_suffix('').as_posix()}",
                source="asterisk",
                speaker="asterisk/en_US_f_Allison",
                language="en",
                text=text,
                path=p,
            )
        )
    return out


# ----------------------------------------------------------------------------- pocketsphinx


def _sphinx_transcripts(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^(.*)\(([^()]+)\)\s*$", line)
        if m:
            out[m.group(2).strip()] = _clean_text(re.sub(r"</?s>", "", m.group(1)))
    return out


def _pocketsphinx(root: Path) -> list[Utterance]:
    known = {
        **_sphinx_transcripts(root / "cards" / "cards.transcription"),
        **_sphinx_transcripts(root / "librivox" / "transcription"),
    }
    # Texts the test suite of pocketsphinx states next to the raw files.
    known["goforward"] = "go forward ten meters"
    known["dhd.2934z"] = "two nine three four zero"
    groups = {"cards": "cards", "librivox": "librivox", "tidigits": "tidigits-dhd"}
    out: list[Utterance] = []
    for p in sorted(root.rglob("*")):
        if p.suffix not in (".wav", ".raw") or not p.is_file():
            continue
        rel = p.relative_to(root)
        group = groups.get(rel.parts[0], "turtle") if len(rel.parts) > 1 else "turtle"
        out.append(
            Utterance(
                uid=f"pocketsphinx/en/{rel.with_suffix('').as_posix()}",
                source="pocketsphinx",
                speaker=f"pocketsphinx/{group}",
                language="en",
                text=known.get(p.stem, ""),
                path=p,
            )
        )
    return out


_DISCOVER = {
    "tuxpaint": _tuxpaint,
    "klettres": _klettres,
    "ktuberling": _ktuberling,
    "asterisk": _asterisk,
    "pocketsphinx": _pocketsphinx,
}


def _content_key(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def _dedupe(utts: Iterable[Utterance]) -> list[Utterance]:
    """One utterance per distinct recording (smallest uid); only same-size files are hashed."""
    by_size: dict[int, list[Utterance]] = defaultdict(list)
    for u in utts:
        by_size[u.path.stat().st_size].append(u)
    kept: list[Utterance] = []
    for group in by_size.values():
        if len(group) == 1:
            kept.extend(group)
            continue
        by_hash: dict[str, list[Utterance]] = defaultdict(list)
        for u in group:
            by_hash[_content_key(u.path)].append(u)
        for same in by_hash.values():
            # Prefer a copy that carries a text, then the smallest uid, so the choice is stable.
            kept.append(min(same, key=lambda u: (u.text == "", u.uid)))
    return kept


@functools.lru_cache(maxsize=8)
def _discover(names: tuple[str, ...], roots: tuple[tuple[str, str], ...]) -> tuple[Utterance, ...]:
    root_of = dict(roots)
    found: list[Utterance] = []
    for name in names:
        root = Path(root_of.get(name, str(SOURCES[name].root)))
        if not root.is_dir():
            raise _missing(name)
        utts = _DISCOVER[name](root)
        if not utts:
            raise _missing(name)
        found.extend(utts)
    kept = _dedupe(found)
    uids = [u.uid for u in kept]
    if len(set(uids)) != len(uids):
        raise FakevoiceError("voice sources: duplicate utterance ids (package layout changed?)")
    return tuple(sorted(kept, key=lambda u: u.uid))


def real_utterances(
    sources: Sequence[str] | None = None, *, roots: Mapping[str, str | Path] | None = None
) -> list[Utterance]:
    """Every real utterance of the requested sources (all by default), sorted by uid.

    A requested source that is not installed raises :class:`SourceMissingError` naming its
    Debian package; the result is never silently smaller. ``roots`` overrides install folders.
    """
    names = tuple(sorted(set(sources))) if sources is not None else tuple(sorted(SOURCES))
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise FakevoiceError(
            f"unknown voice source(s) {', '.join(unknown)}; known: {', '.join(sorted(SOURCES))}"
        )
    root_items = tuple(sorted((k, str(v)) for k, v in (roots or {}).items()))
    return list(_discover(names, root_items))


def texts(language: str, sources: Sequence[str] | None = None) -> list[str]:
    """Distinct texts that real speakers read in ``language``, sorted: the scripts for TTS."""
    return sorted({u.text for u in real_utterances(sources) if u.language == language and u.text})


# ----------------------------------------------------------------------------- audio

RAW_RATE = 16_000  # pocketsphinx .raw files: headerless 16-bit little-endian mono at 16 kHz


# A clip uses at most 8 s of one voice, yet a few packaged prompts run to 73 s: resynthesising
# one whole took HiFi-GAN 140 s and 2 GB. Both classes are cut at the same length, so the cut
# is no cue; 12 s leaves room for the pauses cleaning removes.
MAX_UTTERANCE_SECONDS = 12.0


def load_utterance(
    u: Utterance,
    sr: int = SAMPLE_RATE,
    *,
    trim: bool = False,
    max_seconds: float | None = MAX_UTTERANCE_SECONDS,
) -> np.ndarray:
    """The utterance as float32 mono at ``sr`` (untrimmed unless ``trim``), its first
    ``max_seconds`` (after trimming) unless that is None."""
    if u.path.suffix == ".raw":
        try:
            pcm = np.fromfile(u.path, dtype="<i2")
        except OSError as exc:
            raise FakevoiceError(f"{u.path}: cannot read: {exc.strerror}") from exc
        x = resample(pcm.astype(np.float32) / 32768.0, RAW_RATE, sr)
    else:
        x = load_audio(u.path, sr, warn_silent=False)
    if trim:
        x = trim_silence(x, sr)
    return x if max_seconds is None else x[: round(max_seconds * sr)]


def trim_silence(
    x: np.ndarray, sr: int, *, top_db: float = 45.0, frame_ms: float = 10.0, margin_ms: float = 30.0
) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``top_db`` below the loudest frame.

    Real clips start with room tone and synthesisers with exact zeros; one relative rule
    for both leaves the two classes with the same lead-in, so silence length cannot tell
    them apart. ``margin_ms`` of the quiet part is kept on each side so onsets are not
    clipped. An input with no frame above the absolute floor (digital silence) yields an
    empty array.
    """
    x = np.asarray(x, dtype=np.float32)
    hop = max(1, int(sr * frame_ms / 1000))
    n = len(x) // hop
    if n == 0:
        return x[:0] if float(np.max(np.abs(x), initial=0.0)) < 1e-5 else x
    frames = x[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    threshold = max(float(rms.max()) * 10 ** (-top_db / 20), 1e-5)
    loud = np.flatnonzero(rms > threshold)
    if loud.size == 0:
        return x[:0]
    margin = int(sr * margin_ms / 1000)
    start = max(0, int(loud[0]) * hop - margin)
    end = min(len(x), (int(loud[-1]) + 1) * hop + margin)
    return x[start:end]
