"""Voice identities: a drawn voice is one speaker (or one generator voice) in one language."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from fakevoice.audio import SAMPLE_RATE
from fakevoice.errors import FakevoiceError
from fakevoice.synth import engines
from fakevoice.synth import segments as seg
from fakevoice.synth.filters import average_spectrum, energy_above, rolloff
from fakevoice.synth.levels import limit_crest
from fakevoice.synth.pool import RESYNTH_SHARE, fake_requests
from fakevoice.synth.sources import Utterance
from fakevoice.synth.voices import VoiceTable, level_voice


def _pool() -> list[Utterance]:
    out = []
    for lang, speakers in (("en", ("a", "b")), ("fr", ("c",)), ("ru", ("d", "e"))):
        for spk in speakers:
            for i in range(20):
                out.append(Utterance(f"t/{spk}/{i}", "t", spk, lang, f"word {i}", Path("x.wav")))
    return out


def test_fake_voices_keep_one_language_and_one_source_speaker() -> None:
    pool = _pool()
    gens = [engines.GENERATORS[n] for n in ("espeak-ng", "world-vc", "griffinlim")]
    p = np.full(len(pool), 1.0 / len(pool))
    _, fields = fake_requests(np.random.default_rng(0), pool, p, gens, 300, engines)
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for klass, identity, _, _gen, speaker, lang in fields:
        assert klass == "fake"
        seen[identity].add((lang, speaker))
    assert all(len(v) == 1 for v in seen.values()), {k: v for k, v in seen.items() if len(v) > 1}
    # several languages per multilingual generator, each its own voice
    espeak_langs = {
        lang for ident, v in seen.items() if ident.startswith("espeak") for lang, _ in v
    }
    assert espeak_langs == {"en", "fr", "ru"}


def _segment(identity: str, language: str, key: str, klass: str = "fake") -> seg.Segment:
    gen = "espeak-ng" if klass == "fake" else ""
    return seg.Segment(key, klass, identity, "t", gen, "", language, 1.0, 16000.0, "x")


def test_voice_table_refuses_an_identity_that_mixes_languages() -> None:
    real = [_segment("a", "en", "r1", "real"), _segment("c", "fr", "r2", "real")]
    ok = [_segment("espeak-ng#0/en", "en", "k1"), _segment("espeak-ng#0/fr", "fr", "k2")]
    table = VoiceTable(real + ok)
    assert table.languages == ["en", "fr"]
    mixed = [_segment("espeak-ng#0", "en", "k1"), _segment("espeak-ng#0", "fr", "k2")]
    with pytest.raises(FakevoiceError, match="mixes languages"):
        VoiceTable(mixed)


def test_the_family_is_drawn_first(tmp_path: Path) -> None:
    """One TTS engine against three vocoders: fakes are still resyntheses at the pool's share."""
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    np.save(tmp_path / "x.npy", x)

    def make(klass: str, identity: str, gen: str, key: str) -> seg.Segment:
        return seg.Segment(key, klass, identity, "t", gen, "", "fr", 0.5, 16000.0,
                           str(tmp_path / "x.npy"))  # fmt: skip

    segs = [make("real", "spk", "", "r")]
    vocoders = ("world-vc", "griffinlim", "hifigan-universal")
    for g in ("espeak-ng", *vocoders):
        segs.append(make("fake", f"{g}#0/fr", g, g))
    table = VoiceTable(segs, resynth=vocoders)
    rng = np.random.default_rng(1)
    drawn = [table.draw(rng, "fake", 0.5)[1]["generator"] for _ in range(600)]
    share = np.mean([g in vocoders for g in drawn])
    assert abs(share - RESYNTH_SHARE) < 0.06, share


def test_levelling_keeps_the_share_of_high_frequencies() -> None:
    """The crest limiter turns peaky vowels down and leaves quiet hiss alone, which raised the
    share of energy above 4 kHz by 17 dB on this signal; that share is put back."""
    from scipy import signal

    sr = SAMPLE_RATE
    n = 2 * sr
    pulses = np.zeros(n)
    pulses[:: sr // 110] = 1.0
    voiced = np.arange(n) % (sr // 2) < sr // 4
    vowel = signal.sosfilt(signal.butter(2, 800, fs=sr, output="sos"), pulses) * voiced
    hiss = np.random.default_rng(0).standard_normal(n) * ~voiced
    x = (0.5 * vowel / np.abs(vowel).max() + 0.01 * hiss).astype(np.float32)
    y = level_voice(x, np.random.default_rng(1))
    assert abs(energy_above(y, sr, 4000) - energy_above(x, sr, 4000)) < 2.0
    # ...and so is the roll-off, which limiting raised too (the leak of issue 11)
    before = rolloff(*average_spectrum(x, sr))
    limited = limit_crest(x, sr, 9.0)
    assert rolloff(*average_spectrum(limited, sr)) > before * 1.1  # the effect is real
    assert rolloff(*average_spectrum(y, sr)) == pytest.approx(before, rel=0.05)
