"""The real-speech sources the benchmark knows: which Debian package holds each, where it
installs, its licence, and the record of one utterance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
            "asterisk-intl",
            "asterisk-core-sounds-fr-wav, asterisk-core-sounds-es-wav, "
            "asterisk-core-sounds-it-wav, asterisk-prompt-it-menardi-wav, "
            "asterisk-core-sounds-ru-wav",
            Path("/usr/share/asterisk/sounds"),
            "CC-BY-SA-3.0 (Digium; June Wallack, fr_CA; Allison Smith, es_MX; Marco Menardi "
            "and Paola Dal Zot, it_IT); CC-BY-3.0 (Carlo Flora, it_IT; ivrvoice.ru, ru_RU)",
            "fluent telephony prompts, 8 kHz, five speakers in French, Spanish, Italian, Russian",
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
