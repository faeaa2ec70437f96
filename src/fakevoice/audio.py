"""Load, validate, resample, crop and write audio. The only module that touches decoders.

Every failure raises :class:`AudioError` whose message names the file and the reason.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from fakevoice.atomic import atomic_path
from fakevoice.errors import AudioError, SilentAudioWarning

SAMPLE_RATE = 32_000
CLIP_SECONDS = 5.0
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)
AUDIO_EXTENSIONS = (".ogg", ".oga", ".wav", ".flac", ".mp3", ".aiff", ".aif", ".au")
MIN_RATE, MAX_RATE = 1_000, 384_000
# Peak below this (about -100 dBFS) is treated as digital silence.
SILENCE_PEAK = 1e-5
# Float files may run hot (peaks above 1.0 are kept as they are), but values this large are
# garbage and would overflow resampling.
MAX_PEAK = 1e3
_BLOCK = 1 << 18


def is_audio_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _sniff_reason(path: Path) -> str:
    """Why libsndfile refused a file, in words a user can act on."""
    head = path.read_bytes()[:512]
    if not head.strip(b"\x00"):
        return "not audio (the file holds only zero bytes)"
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    if printable / len(head) > 0.95:
        return "not audio (looks like a text file)"
    if head[:4] == b"OggS":
        return "corrupt or truncated OGG stream"
    if head[:4] == b"RIFF":
        return "corrupt or truncated WAV file"
    if head[:4] == b"fLaC":
        return "corrupt or truncated FLAC file"
    return "not a recognised audio format"


def _truncation(path: Path, size: int) -> str | None:
    """Detect a cut-off OGG or WAV from its container, which libsndfile quietly accepts."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        fh.seek(max(0, size - 65_536))
        tail = fh.read()
    if head[:4] == b"OggS":
        last = tail.rfind(b"OggS")
        if last < 0 or len(tail) - last < 27:
            return "truncated OGG stream (last page cut off)"
        nseg = tail[last + 26]
        body = sum(tail[last + 27 : last + 27 + nseg])
        # A missing end-of-stream flag alone is no proof: some encoders never set it
        # (550 of the OGG files in klettres-data/ktuberling-data/tuxpaint lack it).
        if len(tail) - last < 27 + nseg + body:
            return "truncated OGG stream (last page cut off)"
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        with open(path, "rb") as fh:
            fh.seek(12)
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    break
                cid, csize = chunk[:4], int.from_bytes(chunk[4:], "little")
                if cid == b"data":
                    # 0 and 0xFFFFFFFF mark streamed WAVs whose writer never knew the length.
                    if 0 < csize < 0xFFFFFFFF and fh.tell() + csize > size:
                        return f"truncated WAV file ({size - fh.tell()} of {csize} data bytes)"
                    break
                fh.seek(csize + (csize & 1), 1)
    return None


def read_audio(path: str | Path, *, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode a file as it is: float32 array of shape (frames, channels) and its rate.

    ``max_seconds`` stops decoding early, so a very long file costs only what is used.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "file not found")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioError(path, f"cannot read: {exc.strerror}") from exc
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        info = sf.info(str(path))
    except PermissionError as exc:
        raise AudioError(path, "permission denied") from exc
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AudioError(path, _sniff_reason(path)) from exc
    cut = _truncation(path, size)
    if cut:
        raise AudioError(path, cut)
    rate = int(info.samplerate)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(path, f"unsupported sample rate {rate} Hz")
    if info.channels < 1:
        raise AudioError(path, "no audio channels")
    limit = None if max_seconds is None else max(1, round(max_seconds * rate))
    blocks: list[np.ndarray] = []
    got = 0
    try:
        with sf.SoundFile(str(path)) as fh:
            while limit is None or got < limit:
                want = _BLOCK if limit is None else min(_BLOCK, limit - got)
                block = fh.read(want, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                blocks.append(block)
                got += block.shape[0]
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AudioError(path, f"corrupt or truncated audio ({exc})") from exc
    if got == 0:
        raise AudioError(path, "zero-length audio (no samples)")
    expected = info.frames if limit is None else min(info.frames, limit)
    # libsndfile reports the length from the header (WAV) or last page (OGG); far fewer
    # decoded frames than announced means the data stopped early.
    if 0 < expected < (1 << 62) and got < expected * 0.98 - 1:
        raise AudioError(path, f"truncated audio (decoded {got} of {expected} frames)")
    data = np.concatenate(blocks, axis=0)
    if not np.isfinite(data).all():
        raise AudioError(path, "contains non-finite samples (NaN or infinity)")
    peak = float(np.abs(data).max())
    if peak > MAX_PEAK:
        raise AudioError(
            path, f"sample values out of range (peak {peak:.3g}; audio lies in [-1, 1])"
        )
    return data, rate


def to_mono(data: np.ndarray) -> np.ndarray:
    """Down-mix (frames, channels) to (frames,) by averaging channels."""
    if data.ndim == 1:
        return data.astype(np.float32, copy=False)
    return data.mean(axis=1, dtype=np.float64).astype(np.float32)


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    if orig_sr == target_sr:
        return x.astype(np.float32, copy=False)
    return soxr.resample(x.astype(np.float32, copy=False), orig_sr, target_sr, quality="HQ").astype(
        np.float32, copy=False
    )


def load_audio(
    path: str | Path,
    sr: int = SAMPLE_RATE,
    *,
    max_seconds: float | None = None,
    warn_silent: bool = True,
) -> np.ndarray:
    """Decode any supported file to float32 mono at ``sr``.

    Silent audio is returned (a clip with no voice is legitimate input) with a
    :class:`SilentAudioWarning`; every unusable file raises :class:`AudioError`.
    """
    data, rate = read_audio(path, max_seconds=max_seconds)
    x = resample(to_mono(data), rate, sr)
    if not np.isfinite(x).all():
        raise AudioError(path, "resampling produced non-finite samples")
    if warn_silent and float(np.max(np.abs(x), initial=0.0)) < SILENCE_PEAK:
        warnings.warn(f"{path}: audio is silent", SilentAudioWarning, stacklevel=2)
    return x


def pad_to(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad at the end to at least ``n`` samples."""
    if len(x) >= n:
        return x
    return np.pad(x, (0, n - len(x)))


def crop(
    x: np.ndarray, n: int, *, mode: str = "center", rng: np.random.Generator | None = None
) -> np.ndarray:
    """Exactly ``n`` samples: zero-pad short input, cut long input at start, centre or random."""
    if len(x) <= n:
        return pad_to(x, n).astype(np.float32, copy=False)
    extra = len(x) - n
    if mode == "start":
        start = 0
    elif mode == "center":
        start = extra // 2
    elif mode == "random":
        if rng is None:
            raise ValueError("crop(mode='random') needs an explicit rng")
        start = int(rng.integers(0, extra + 1))
    else:
        raise ValueError(f"unknown crop mode {mode!r}")
    return x[start : start + n].astype(np.float32, copy=False)


def windows(x: np.ndarray, n: int, hop: int | None = None) -> np.ndarray:
    """Cut a signal into windows of ``n`` samples (last one padded), shape (count, n).

    Long files are scored window by window rather than cropped, so nothing is ignored.
    """
    if len(x) <= n:
        return pad_to(x, n)[None, :]
    starts = window_starts(len(x), n, hop)
    return np.stack([x[s : s + n] for s in starts]).astype(np.float32, copy=False)


def window_starts(n_samples: int, n: int, hop: int | None = None) -> list[int]:
    """Where :func:`windows` cuts: every ``hop`` samples, and a last window ending at the
    end."""
    hop = hop or n
    if n_samples <= n:
        return [0]
    starts = list(range(0, n_samples - n + 1, hop))
    if starts[-1] + n < n_samples:
        starts.append(n_samples - n)
    return starts


def write_audio(path: str | Path, x: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """Write mono float audio atomically; the format follows the extension (OGG Vorbis for .ogg).

    OGG is written in chunks of a few seconds: one huge write crashes libsndfile 1.2.
    """
    path = Path(path)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("write_audio expects mono audio")
    if not np.isfinite(x).all():
        raise AudioError(path, "refusing to write non-finite samples")
    x = np.clip(x, -1.0, 1.0)
    ext = path.suffix.lower()
    fmt, subtype = {
        ".ogg": ("OGG", "VORBIS"),
        ".oga": ("OGG", "VORBIS"),
        ".wav": ("WAV", "PCM_16"),
        ".flac": ("FLAC", "PCM_16"),
    }.get(ext, (None, None))
    if fmt is None:
        raise AudioError(path, f"cannot write format {ext!r} (use .ogg, .wav or .flac)")
    chunk = sr * 4
    with atomic_path(path) as tmp:
        try:
            with sf.SoundFile(
                str(tmp), "w", samplerate=sr, channels=1, format=fmt, subtype=subtype
            ) as fh:
                for start in range(0, max(len(x), 1), chunk):
                    fh.write(x[start : start + chunk])
        except (RuntimeError, sf.LibsndfileError) as exc:
            # libsndfile reports a full disk as a generic system error: find the real cause.
            free = shutil.disk_usage(tmp.parent).free
            reason = "no space left on device" if free < 4 * len(x) + 65_536 else str(exc)
            raise AudioError(path, f"cannot write: {reason}") from exc
