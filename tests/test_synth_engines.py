"""Fake-voice generators: output format, determinism, caching, missing engines, failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fakevoice.audio import write_audio
from fakevoice.errors import FakevoiceError
from fakevoice.synth import engines, generators
from fakevoice.synth.engines import (
    GENERATORS,
    Request,
    SourceMissingError,
    available,
    request_key,
    synthesize_many,
)
from fakevoice.synth.sources import SOURCES, Utterance, real_utterances

SR = 32_000
TEXT = "A blackbird sat on the fence."


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Utterance:
    """About one second of real speech (a synthetic vowel if tuxpaint is not installed)."""
    if SOURCES["tuxpaint"].root.is_dir():
        utts = real_utterances(["tuxpaint"])
        return next(u for u in utts if u.uid == "tuxpaint/fr/animals/birds/blackbird")
    t = np.arange(SR) / SR
    f0 = 130 + 20 * np.sin(2 * np.pi * 2 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * 0.2 * np.hanning(SR)
    path = tmp_path_factory.mktemp("clip") / "vowel.wav"
    write_audio(path, x.astype(np.float32), SR)
    return Utterance("test/xx/vowel", "test", "test/xx", "xx", "", path)


def _skip_if_missing(name: str) -> None:
    try:
        available([name])
    except SourceMissingError as exc:
        pytest.skip(str(exc))


def _request(name: str, clip: Utterance, voice: int = 1) -> Request:
    if GENERATORS[name].kind == "resynth":
        return Request(name, voice=voice, source=clip)
    return Request(name, text=TEXT, language="en", voice=voice)


@pytest.mark.synth
@pytest.mark.parametrize("name", list(GENERATORS))
def test_generator_output_determinism_and_cache(
    name: str, clip: Utterance, tmp_path: Path, monkeypatch
) -> None:
    _skip_if_missing(name)
    req = _request(name, clip)
    (x,) = synthesize_many([req], tmp_path / "a", workers=1, progress=False)
    assert x.dtype == np.float32 and x.ndim == 1
    assert np.isfinite(x).all()
    seconds = len(x) / SR
    assert 0.3 < seconds < 8.0, seconds
    assert float(np.sqrt(np.mean(x**2))) > 1e-3, "silent output"
    # 32 kHz, not a mislabelled native rate: speech energy sits well below 4 kHz.
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    assert spec[freqs < 4000].sum() > 0.5 * spec.sum()
    # Recomputed from scratch in another cache: identical samples.
    (y,) = synthesize_many([req], tmp_path / "b", workers=1, progress=False)
    assert np.array_equal(x, y)
    # From the cache: identical, and no engine runs at all (any synthesis now fails).
    import fakevoice.synth.engines as engines_mod

    def no_synthesis(*args, **kwargs):
        raise AssertionError("synthesised again instead of reading the cache")

    monkeypatch.setattr(engines_mod, "run_task", no_synthesis)
    (z,) = synthesize_many([req], tmp_path / "a", workers=1, progress=False)
    assert np.array_equal(x, z)


@pytest.mark.synth
def test_voice_variants_differ_and_keys_fold_modulo(tmp_path: Path) -> None:
    _skip_if_missing("espeak-ng")
    reqs = [Request("espeak-ng", text=TEXT, voice=v) for v in (0, 1, 8)]
    a, b, c = synthesize_many(reqs, tmp_path, workers=1, progress=False)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, c)  # 8 voices: voice 8 is voice 0
    assert request_key(reqs[0]) == request_key(reqs[2])
    assert request_key(reqs[0]) != request_key(Request("espeak-ng", text=TEXT, language="fr"))


@pytest.mark.synth
def test_many_requests_in_worker_processes_keep_order_and_dedupe(tmp_path: Path) -> None:
    for name in ("espeak-ng", "flite-kal"):
        _skip_if_missing(name)
    words = ["one", "two", "three", "four", "five"]
    reqs = [Request("espeak-ng", text=w, voice=i) for i, w in enumerate(words)]
    reqs += [Request("flite-kal", text=w) for w in words] + reqs[:2]
    outs = synthesize_many(reqs, tmp_path, workers=2, progress=False)
    assert len(outs) == len(reqs) and all(len(x) > 0 for x in outs)
    assert np.array_equal(outs[0], outs[-2]) and np.array_equal(outs[1], outs[-1])
    lengths = [len(x) for x in outs[:5]]
    assert len(set(lengths)) == 5, "order mixed up or one result repeated"
    (alone,) = synthesize_many([reqs[3]], tmp_path / "fresh", workers=1, progress=False)
    assert np.array_equal(alone, outs[3])
    stored = list((tmp_path / "espeak-ng").rglob("*.npy"))
    assert len(stored) == 5


@pytest.mark.synth
def test_failed_request_yields_empty_array_not_a_crash(tmp_path: Path) -> None:
    _skip_if_missing("espeak-ng")
    _skip_if_missing("griffinlim")
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + bytes(range(256)) * 4)
    bad_clip = Utterance("test/xx/broken", "test", "test/xx", "xx", "", broken)
    reqs = [
        Request("espeak-ng", text="hello"),
        Request("espeak-ng", text=""),
        Request("griffinlim", source=bad_clip),
        Request("espeak-ng", text="goodbye"),
    ]
    outs = synthesize_many(reqs, tmp_path / "cache", workers=1, progress=False)
    assert [len(x) > 0 for x in outs] == [True, False, False, True]
    assert all(x.dtype == np.float32 for x in outs)


def test_missing_generator_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    generators._flite_voices.cache_clear()
    try:
        with pytest.raises(SourceMissingError, match="espeak-ng"):
            available(["espeak-ng"])
        with pytest.raises(SourceMissingError, match="flite"):
            synthesize_many([Request("flite-cmu", text="x")], tmp_path, progress=False)
        names = {g.name for g in available()}
        assert not names & {"espeak-ng", "flite-kal", "flite-cmu", "festival-hts"}
    finally:
        generators._flite_voices.cache_clear()
    monkeypatch.undo()
    if shutil.which("festival"):
        monkeypatch.setattr(generators, "_FESTIVAL_VOICES", tmp_path)
        with pytest.raises(SourceMissingError, match="festvox-kallpc16k"):
            available(["festival-diphone"])
        with pytest.raises(SourceMissingError, match="festvox-us-slt-hts"):
            available(["festival-hts"])


def test_unknown_generator_and_bad_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unknown generator"):
        available(["nosuch"])
    if "espeak-ng" in {g.name for g in available()}:
        with pytest.raises(Exception, match="does not speak"):
            synthesize_many([Request("espeak-ng", text="x", language="wa")], tmp_path)
    with pytest.raises(Exception, match="give a source"):
        synthesize_many([Request("griffinlim")], tmp_path, progress=False)


def test_registry_is_consistent() -> None:
    families = {g.family for g in GENERATORS.values()}
    assert families == {
        "formant", "diphone", "parametric", "hts", "vits", "hifigan", "world", "griffinlim",
        "styletts2", "distilled", "unitselection",
    }  # fmt: skip
    for g in GENERATORS.values():
        assert g.kind in ("tts", "resynth") and g.package and g.licence and g.voices >= 1
        assert (g.languages is None) == (g.kind == "resynth")
    assert "fr" in GENERATORS["espeak-ng"].languages  # type: ignore[operator]
    assert GENERATORS["piper-vits"].languages == ("en",)
    # The RHVoice voices under CC-BY-NC-ND are never among the variants.
    from fakevoice.synth import tts

    assert {v for v, _, _ in tts.RHVOICE_VARIANTS} == {"alan", "bdl", "clb", "slt"}


@pytest.mark.synth
def test_kokoro_model_is_joined_once_and_checked(tmp_path: Path, monkeypatch) -> None:
    _skip_if_missing("kokoro")
    from fakevoice.synth import kokoro

    monkeypatch.setenv("FAKEVOICE_CACHE", str(tmp_path))
    path = kokoro.kokoro_model_path()
    assert path.stat().st_size == 92_361_271
    stamp = path.stat().st_mtime_ns
    assert kokoro.kokoro_model_path() == path and path.stat().st_mtime_ns == stamp
    path.unlink()
    monkeypatch.setattr(kokoro, "_expected_sha256", lambda: "0" * 64)
    with pytest.raises(FakevoiceError, match="sha256"):
        kokoro.kokoro_model_path()
    assert list(path.parent.iterdir()) == []  # no half-written model left behind


@pytest.mark.synth
def test_hifigan_chunks_leave_no_seams() -> None:
    """Chunked vocoding (to bound memory) gives the samples of one pass over the whole clip."""
    _skip_if_missing("hifigan-universal")
    import torch

    from fakevoice.synth import resynth

    net, config, basis = resynth._hifigan("universal")
    rate = int(config["sampling_rate"])
    n = 3 * resynth.HIFIGAN_CHUNK_FRAMES * int(config["hop_size"])  # several chunks
    t = np.arange(n) / rate
    x = (0.3 * np.sin(2 * np.pi * 150 * t * (1 + 0.2 * np.sin(2 * np.pi * t)))).astype(np.float32)
    chunked, out_rate = resynth.hifigan_copy_synthesis(x, rate, "universal")
    mel = resynth.hifigan_mel(x, config, basis)
    with torch.inference_mode():
        whole = net(torch.from_numpy(mel)[None]).reshape(-1).numpy()  # type: ignore[operator]
    assert out_rate == rate and len(chunked) == len(whole)
    assert np.abs(chunked - whole).max() < 1e-4 * np.abs(whole).max()


@pytest.mark.synth
def test_a_worker_holds_only_the_model_it_is_using(clip: Utterance) -> None:
    _skip_if_missing("piper-vits")
    _skip_if_missing("hifigan-universal")
    from fakevoice.synth import resynth, tts

    (x,) = engines.run_task("piper-vits", [_request("piper-vits", clip)], [0])
    assert x is not None and tts._PIPER
    (y,) = engines.run_task("hifigan-universal", [_request("hifigan-universal", clip)], [0])
    assert y is not None and not tts._PIPER and set(resynth._HIFIGAN) == {"universal"}
    engines.run_task("hifigan-ljspeech", [_request("hifigan-ljspeech", clip)], [0])
    assert set(resynth._HIFIGAN) == {"ljspeech"}
