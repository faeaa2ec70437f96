"""Readers of each speech package's own layout and metadata (tuxpaint ``.txt``
descriptions, klettres ``sounds.xml``, ktuberling ``.soundtheme``, asterisk prompts in five
languages,
pocketsphinx transcriptions): file names and texts, never decoded audio."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from fakevoice.synth.catalogue import _AUDIO_SUFFIXES, Utterance, _clean_text, language_of

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


def _asterisk_voice(root: Path, uid_prefix: str, speaker: str, language: str) -> list[Utterance]:
    out: list[Utterance] = []
    for p in sorted(root.rglob("*.wav")):
        rel = p.relative_to(root)
        if rel.parts[0] == "silence":  # recorded room tone, no voice
            continue
        # Digits and letters say their own file name, in English only; other prompt names
        # are abbreviations.
        said = language == "en" and rel.parts[0] in ("digits", "letters") and p.stem.isalnum()
        out.append(
            Utterance(
                uid=f"{uid_prefix}/{rel.with_suffix('').as_posix()}",
                source=uid_prefix.split("/", 1)[0],
                speaker=speaker,
                language=language,
                text=p.stem if said else "",
                path=p,
            )
        )
    return out


def _asterisk(root: Path) -> list[Utterance]:
    return _asterisk_voice(root, "asterisk/en", "asterisk/en_US_f_Allison", "en")


# A voice folder of the Asterisk sound packages: language_COUNTRY_sex_Name.
_ASTERISK_VOICE = re.compile(r"^([a-z]{2})_[A-Z]{2}_[fm]_\w+$")


def _asterisk_intl(root: Path) -> list[Utterance]:
    """The other languages' professional prompt voices (fluent read telephony speech)."""
    out: list[Utterance] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        m = _ASTERISK_VOICE.match(folder.name)
        if m is None or folder.name == "en_US_f_Allison":
            continue
        out += _asterisk_voice(
            folder, f"asterisk-intl/{folder.name}", f"asterisk-intl/{folder.name}", m.group(1)
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
