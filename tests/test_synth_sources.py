"""Real voice sources: discovery from the Debian packages, texts, loading, silence trimming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fakevoice.audio import SAMPLE_RATE
from fakevoice.synth.catalogue import language_of
from fakevoice.synth.sources import (
    MAX_UTTERANCE_SECONDS,
    SOURCES,
    SourceMissingError,
    Utterance,
    load_utterance,
    real_utterances,
    texts,
    trim_silence,
)

SR = SAMPLE_RATE


def _installed(name: str) -> bool:
    return SOURCES[name].root.is_dir()


def needs(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not _installed(name), reason=f"Debian package {SOURCES[name].package} not installed"
    )


@needs("tuxpaint")
def test_tuxpaint_descriptions_have_text_language_and_speaker() -> None:
    utts = real_utterances(["tuxpaint"])
    assert len(utts) > 5000
    by_uid = {u.uid: u for u in utts}
    fr = by_uid["tuxpaint/fr/animals/birds/blackbird"]
    assert fr.language == "fr" and fr.text == "Un merle." and fr.speaker == "tuxpaint/fr"
    assert fr.path.name == "blackbird_desc_fr.ogg"
    en = by_uid["tuxpaint/en/animals/birds/blackbird"]
    assert en.text == "A blackbird." and en.path.name == "blackbird_desc.ogg"
    # Plain NAME.ogg files are sound effects, not speech.
    assert not any(u.path.name == "blackbird.ogg" for u in utts)
    assert {"fr", "ru", "es", "el", "en"} <= {u.language for u in utts}
    assert sum(bool(u.text) for u in utts) > 0.9 * len(utts)


@needs("tuxpaint")
def test_discovery_is_sorted_unique_and_deduplicated() -> None:
    utts = real_utterances(["tuxpaint"])
    uids = [u.uid for u in utts]
    assert uids == sorted(uids) and len(set(uids)) == len(uids)
    sizes: dict[int, list[Path]] = {}
    for u in utts[:800]:
        sizes.setdefault(u.path.stat().st_size, []).append(u.path)
    for paths in sizes.values():
        blobs = [p.read_bytes() for p in paths]
        assert len(set(blobs)) == len(blobs), "a recording appears twice"
    assert real_utterances(["tuxpaint"]) == utts


@needs("klettres")
@needs("ktuberling")
def test_klettres_and_ktuberling_words() -> None:
    k = {u.uid: u for u in real_utterances(["klettres"])}
    a = k["klettres/fr/alpha/a-0"]
    assert (a.text, a.language, a.speaker) == ("A", "fr", "klettres/fr")
    assert k["klettres/pt_BR/alpha/a"].language == "pt"
    t = {u.uid: u for u in real_utterances(["ktuberling"])}
    camel = t["ktuberling/fr/egypte_chameau"]
    assert camel.text == "chameau" and camel.language == "fr"
    assert t["ktuberling/en/ball"].text == "ball"
    assert t["ktuberling/ru/ball"].text == ""  # an English file name says nothing of the Russian


@needs("asterisk")
@needs("pocketsphinx")
def test_asterisk_and_pocketsphinx() -> None:
    ast = real_utterances(["asterisk"])
    assert len(ast) > 500 and {u.speaker for u in ast} == {"asterisk/en_US_f_Allison"}
    assert not any("/silence/" in u.uid for u in ast)
    ps = {u.uid: u for u in real_utterances(["pocketsphinx"])}
    assert ps["pocketsphinx/en/cards/001"].text == "ten of clubs"
    raw = ps["pocketsphinx/en/goforward"]
    x = load_utterance(raw, SR)
    assert x.dtype == np.float32 and 2.0 < len(x) / SR < 3.5 and np.abs(x).max() > 0.05


@needs("asterisk-intl")
def test_asterisk_voices_of_other_languages_are_one_speaker_each() -> None:
    utts = real_utterances(["asterisk-intl"])
    by_speaker: dict[str, set[str]] = {}
    for u in utts:
        by_speaker.setdefault(u.speaker, set()).add(u.language)
    assert by_speaker == {
        "asterisk-intl/es_MX_f_Allison": {"es"}, "asterisk-intl/fr_CA_f_June": {"fr"},
        "asterisk-intl/it_IT_f_Menardi": {"it"}, "asterisk-intl/it_IT_m_Carlo": {"it"},
        "asterisk-intl/ru_RU_f_IvrvoiceRU": {"ru"},
    }  # fmt: skip
    assert not any(u.text for u in utts)  # prompt names are English abbreviations
    assert not any("/silence/" in u.uid for u in utts)
    # The English voice stays its own source, not counted twice.
    assert not any("en_US" in u.uid for u in utts)


@needs("tuxpaint")
def test_texts_for_tts() -> None:
    fr = texts("fr")
    assert "Un merle." in fr and fr == sorted(set(fr)) and all(fr)
    assert texts("xx") == []


@needs("tuxpaint")
def test_load_utterance_stereo_44k_to_mono_32k() -> None:
    u = next(
        x for x in real_utterances(["tuxpaint"]) if x.uid == "tuxpaint/fr/animals/birds/blackbird"
    )
    x = load_utterance(u, SR)
    assert x.ndim == 1 and x.dtype == np.float32 and abs(len(x) / SR - 1.39) < 0.02
    y = load_utterance(u, SR, trim=True)
    assert 0 < len(y) < len(x)


def test_long_utterances_are_cut_after_trimming(tmp_path: Path) -> None:
    import soundfile as sf

    sr = 16_000
    speech = 0.3 * np.sin(2 * np.pi * 220 * np.arange(int(20 * sr)) / sr)
    lead = np.zeros(2 * sr)  # digital silence before the voice: trimmed before the cut
    path = tmp_path / "long.wav"
    sf.write(path, np.concatenate([lead, speech]).astype(np.float32), sr)
    u = Utterance("test/long", "test", "s", "en", "", path)
    assert len(load_utterance(u, SR)) == round(MAX_UTTERANCE_SECONDS * SR)
    y = load_utterance(u, SR, trim=True)
    assert len(y) == round(MAX_UTTERANCE_SECONDS * SR) and np.abs(y[: SR // 10]).max() > 0.1
    assert abs(len(load_utterance(u, SR, max_seconds=None)) / SR - 22.0) < 0.01


def test_missing_source_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(SourceMissingError, match="ktuberling-data"):
        real_utterances(["ktuberling"], roots={"ktuberling": tmp_path / "absent"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceMissingError, match="klettres-data"):
        real_utterances(["klettres"], roots={"klettres": tmp_path / "empty"})


def test_unknown_source_is_refused() -> None:
    with pytest.raises(Exception, match="unknown voice source"):
        real_utterances(["nosuch"])


def test_raw_loading_and_roots_override(tmp_path: Path) -> None:
    root = tmp_path / "ps"
    (root / "cards").mkdir(parents=True)
    rng = np.random.default_rng(0)
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(16_000) / 16_000) * 32767).astype("<i2")
    (root / "cards" / "001.raw").write_bytes(tone.tobytes())
    (root / "noise.raw").write_bytes((rng.standard_normal(8000) * 100).astype("<i2").tobytes())
    (root / "cards" / "cards.transcription").write_text("<s> ace of spades </s> (001)\n")
    utts = real_utterances(["pocketsphinx"], roots={"pocketsphinx": root})
    assert [u.uid for u in utts] == ["pocketsphinx/en/cards/001", "pocketsphinx/en/noise"]
    assert utts[0].text == "ace of spades" and utts[0].speaker == "pocketsphinx/cards"
    x = load_utterance(utts[0], SR)
    assert len(x) == SR and abs(float(np.abs(x).max()) - 0.3) < 0.01


def test_language_codes() -> None:
    assert [language_of(c) for c in ("pt_BR", "en_GB", "sr@latin", "zh_tw", "nds", "fr")] == [
        "pt", "en", "sr", "zh", "nds", "fr",
    ]  # fmt: skip


def test_trim_silence_is_relative_and_keeps_a_margin() -> None:
    rng = np.random.default_rng(1)
    voice = (0.5 * np.sin(2 * np.pi * 150 * np.arange(SR) / SR)).astype(np.float32)
    room = (1e-4 * rng.standard_normal(SR // 2)).astype(np.float32)  # -80 dB room tone
    zeros = np.zeros(SR // 2, dtype=np.float32)
    for pad in (room, zeros):
        y = trim_silence(np.concatenate([pad, voice, pad]), SR)
        assert abs(len(y) - (SR + 2 * 0.03 * SR)) <= 0.011 * SR, len(y) / SR
    assert trim_silence(zeros, SR).size == 0
    assert trim_silence(np.zeros(10, np.float32), SR).size == 0


def test_utterance_is_hashable_and_frozen() -> None:
    u = Utterance("a/b", "tuxpaint", "tuxpaint/fr", "fr", "x", Path("/x.ogg"))
    assert {u: 1}[u] == 1
    with pytest.raises(AttributeError):
        u.uid = "c"  # type: ignore[misc]


def test_every_source_package_is_installed_by_setup() -> None:
    # A source read from a package that `make setup` does not install changes the
    # benchmark between machines (an Italian voice went missing that way).
    from fakevoice.synth.catalogue import SOURCES

    listed = Path(__file__).parents[1] / "scripts" / "system-packages.txt"
    installed = {line.split("#")[0].strip() for line in listed.read_text().splitlines()} - {""}
    for source in SOURCES.values():
        for package in (p.strip() for p in source.package.split(",")):
            assert package in installed, (source.name, package)
