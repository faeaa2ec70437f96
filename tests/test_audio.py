"""Audio loading: odd input accepted, broken input refused with the file and the reason."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fakevoice.audio import (
    CLIP_SAMPLES,
    SAMPLE_RATE,
    crop,
    load_audio,
    pad_to,
    windows,
    write_audio,
)
from fakevoice.errors import AudioError, SilentAudioWarning


def tone(seconds: float, sr: int = SAMPLE_RATE, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return x if channels == 1 else np.stack([x] * channels, axis=1)


@pytest.fixture
def good_ogg(tmp_path: Path) -> Path:
    p = tmp_path / "good.ogg"
    write_audio(p, tone(2.0))
    return p


@pytest.mark.parametrize("sr", [8000, 16000, 44100, 48000])
def test_resamples_any_rate_to_32k(tmp_path: Path, sr: int) -> None:
    p = tmp_path / f"x{sr}.wav"
    sf.write(p, tone(1.0, sr), sr)
    x = load_audio(p)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - SAMPLE_RATE) <= 2


@pytest.mark.parametrize("channels", [2, 6])
def test_downmixes_multichannel(tmp_path: Path, channels: int) -> None:
    p = tmp_path / "multi.wav"
    sf.write(p, tone(0.5, 16000, channels), 16000)
    x = load_audio(p)
    assert x.ndim == 1 and np.abs(x).max() == pytest.approx(0.3, abs=0.02)


def test_formats(tmp_path: Path) -> None:
    for ext in ("ogg", "wav", "flac"):
        p = tmp_path / f"a.{ext}"
        write_audio(p, tone(1.0))
        assert len(load_audio(p)) == SAMPLE_RATE


def test_mp3_where_supported(tmp_path: Path) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    p = tmp_path / "a.mp3"
    sf.write(p, tone(1.0), SAMPLE_RATE, format="MP3")
    assert abs(len(load_audio(p)) - SAMPLE_RATE) < 3000


def test_silence_is_accepted_with_a_warning(tmp_path: Path) -> None:
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros(16000, dtype=np.float32), 16000)
    with pytest.warns(SilentAudioWarning, match="silent"):
        x = load_audio(p)
    assert not x.any()


def test_short_and_long_and_unicode_paths(tmp_path: Path) -> None:
    short = tmp_path / "dossier é 音声" / "court 0.1s.ogg"
    write_audio(short, tone(0.1))
    assert len(crop(load_audio(short), CLIP_SAMPLES)) == CLIP_SAMPLES
    long = tmp_path / "long.ogg"
    write_audio(long, tone(600.0, 8000), 8000)
    assert len(load_audio(long, max_seconds=5.0)) == CLIP_SAMPLES
    x = load_audio(long)
    assert abs(len(x) - 600 * SAMPLE_RATE) <= 4


def test_clipped_audio_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "clipped.wav"
    sf.write(p, np.clip(tone(1.0) * 10, -1, 1), SAMPLE_RATE)
    assert np.abs(load_audio(p)).max() <= 1.0


def test_genuine_contest_clips(contest_fixtures: Path) -> None:
    for name, seconds in (("AHJQEQQY.ogg", 4.0), ("TEST_00021.ogg", 5.0)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SilentAudioWarning)
            x = load_audio(contest_fixtures / name)
        assert abs(len(x) / SAMPLE_RATE - seconds) < 0.01
        assert np.isfinite(x).all()


def _bad_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    data = good.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}

    def add(name: str, content: bytes, reason: str) -> None:
        p = tmp_path / name
        p.write_bytes(content)
        cases[name] = (p, reason)

    add("empty.ogg", b"", "empty file")
    add("random.ogg", np.random.default_rng(0).bytes(4000), "not a recognised audio format")
    add("text.wav", b"this is not audio\n" * 50, "looks like a text file")
    add("zeros.wav", b"\x00" * 2000, "only zero bytes")
    add("truncated.ogg", data[: len(data) // 2], "truncated")
    add("header_only.ogg", data[:120], "corrupt or truncated")
    wav = tmp_path / "full.wav"
    sf.write(wav, tone(1.0), SAMPLE_RATE)
    add("truncated.wav", wav.read_bytes()[:20000], "truncated WAV")
    for name, value in (("nan.wav", np.nan), ("inf.wav", np.inf)):
        x = tone(0.2)
        x[100] = value
        p = tmp_path / name
        sf.write(p, x, SAMPLE_RATE, subtype="FLOAT")
        cases[name] = (p, "non-finite")
    p = tmp_path / "zero_length.wav"
    sf.write(p, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    cases["zero_length.wav"] = (p, "zero-length")
    cases["missing.ogg"] = (tmp_path / "missing.ogg", "file not found")
    (tmp_path / "folder.ogg").mkdir()
    cases["folder.ogg"] = (tmp_path / "folder.ogg", "is a folder")
    return cases


def test_broken_files_are_refused_with_file_and_reason(tmp_path: Path, good_ogg: Path) -> None:
    for name, (path, reason) in _bad_files(tmp_path, good_ogg).items():
        with pytest.raises(AudioError) as exc:
            load_audio(path)
        msg = str(exc.value)
        assert str(path) in msg and reason in msg, (name, msg)
        assert "\n" not in msg


def test_crop_pad_windows() -> None:
    x = np.arange(10, dtype=np.float32)
    assert len(pad_to(x, 15)) == 15 and pad_to(x, 5) is x
    assert crop(x, 4, mode="start").tolist() == [0, 1, 2, 3]
    assert crop(x, 4).tolist() == [3, 4, 5, 6]
    r = crop(x, 4, mode="random", rng=np.random.default_rng(0))
    assert len(r) == 4 and r[1] - r[0] == 1
    with pytest.raises(ValueError):
        crop(x, 4, mode="random")
    w = windows(x, 4)
    assert w.shape == (3, 4) and w[-1].tolist() == [6, 7, 8, 9]
    assert windows(x, 20).shape == (1, 20)


def test_write_is_atomic_and_refuses_nan(tmp_path: Path) -> None:
    p = tmp_path / "out.ogg"
    write_audio(p, tone(1.0))
    before = p.read_bytes()
    bad = tone(1.0)
    bad[5] = np.nan
    with pytest.raises(AudioError, match="non-finite"):
        write_audio(p, bad)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["out.ogg"]


def test_ten_minute_ogg_written_in_chunks(tmp_path: Path) -> None:
    p = tmp_path / "ten.ogg"
    write_audio(p, tone(600.0))
    assert sf.info(str(p)).frames == 600 * SAMPLE_RATE


def _ogg_crc(page: bytes) -> int:
    """OGG's page checksum (CRC-32, polynomial 0x04C11DB7, unreflected, zero start)."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def test_ogg_without_end_of_stream_flag_is_accepted(tmp_path: Path, good_ogg: Path) -> None:
    # Real packaged files (klettres-data) never set the flag; they decode completely.
    data = bytearray(good_ogg.read_bytes())
    last = data.rfind(b"OggS")
    data[last + 5] &= ~0x04
    data[last + 22 : last + 26] = b"\0\0\0\0"
    data[last + 22 : last + 26] = _ogg_crc(bytes(data[last:])).to_bytes(4, "little")
    p = tmp_path / "no_eos.ogg"
    p.write_bytes(bytes(data))
    assert len(load_audio(p)) == 2 * SAMPLE_RATE
