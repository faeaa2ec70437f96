"""Training scenes like the test's: 0, 1 or 2 voices from clean train clips, in real noise.

The contest's train clips hold one clean voice; its test clips hold 0-2 voices in noisy
rooms. A detector learns the test's task only from examples of it, so each training
example is composed on the fly: a composition (none, F, R, FF, RR, FR), voices cropped
where they are audible, at random offsets and level differences, some reverberant, over
noise cut from the unlabeled clips of the test environment (:class:`NoiseBank`) at -5 to
20 dB SNR, the whole scene then coloured by a random channel (EQ, band limit). Labels
follow what is audible: ``fake`` = a fake voice is in the clip, ``real`` likewise, plus
the composition index.

Honesty rule: nothing here reads the embedded benchmark's generator (``fakevoice.synth``:
its noise sources, scene settings or renderer). Every distribution below is this module's
own, and the only view of the test environment is the unlabeled audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import fft as sfft

from fakevoice.audio import SAMPLE_RATE

COMPOSITIONS = ("none", "F", "R", "FF", "RR", "FR")
CODECS = {"ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III")}
FRAME = SAMPLE_RATE // 50  # 20 ms


@dataclass
class SceneSettings:
    """The simulator's distributions (all drawn per example)."""

    clip_seconds: float = 5.0
    # none, F, R, FF, RR, FR: fake and real each present in about half the clips
    weights: tuple[float, ...] = (0.12, 0.2, 0.2, 0.1, 0.1, 0.28)
    voice_seconds: tuple[float, float] = (1.0, 5.0)
    level_spread_db: float = 12.0
    snr_db: tuple[float, float] = (-5.0, 20.0)
    p_coloured_noise: float = 0.25
    p_reverb: float = 0.3
    rt60: tuple[float, float] = (0.15, 0.9)
    p_band_limit: float = 0.35
    band_hz: tuple[float, float] = (3400.0, 12000.0)
    eq_db_per_octave: float = 4.0
    level_dbfs: tuple[float, float] = (-32.0, -14.0)
    p_clip: float = 0.05
    # lossy re-encoding of the finished scene (libsndfile's Vorbis and MP3 encoders) at a
    # compression level drawn in ``codec_level``
    p_codec: float = 0.0
    codecs: tuple[str, ...] = ("ogg", "mp3")
    codec_level: tuple[float, float] = (0.3, 1.0)

    def validate(self) -> None:
        w = np.asarray(self.weights, dtype=float)
        if len(w) != len(COMPOSITIONS) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights: {len(COMPOSITIONS)} non-negative numbers, not all 0")
        if self.p_codec > 0 and (not self.codecs or set(self.codecs) - set(CODECS)):
            raise ValueError(f"codecs: a non-empty choice of {', '.join(CODECS)}")
        if not 0.0 <= self.codec_level[0] <= self.codec_level[1] <= 1.0:
            raise ValueError("codec_level: 0 <= low <= high <= 1")
        for name in ("voice_seconds", "snr_db", "rt60", "band_hz", "level_dbfs"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: low end above high end")
        if self.voice_seconds[0] <= 0 or self.clip_seconds <= 0:
            raise ValueError("durations must be positive")


def frame_db(x: np.ndarray) -> np.ndarray:
    """Level of each 20 ms frame in dB (full scale 0 dB)."""
    n = len(x) // FRAME
    if n == 0:
        return np.array([10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12)])
    f = x[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    return 10 * np.log10(np.mean(f**2, axis=1) + 1e-12)


def active_frames(x: np.ndarray, below_peak_db: float = 30.0) -> np.ndarray:
    """Frames within ``below_peak_db`` of the loudest (95th percentile) frame: where a clean
    clip's voice is audible."""
    db = frame_db(x)
    return db > np.percentile(db, 95) - below_peak_db


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


class NoiseBank:
    """Noise of the test environment: the stretches of the unlabeled clips with no voice.

    With ``speech`` (per-chunk speech probabilities of each clip, from
    :func:`fakevoice.vad.speech_probabilities`, chunks of ``chunk`` samples) the chunks below
    ``threshold`` are kept; without it, the frames below the clip's ``quantile`` of level (in
    a clip with voices the quietest frames hold the background alone). Kept frames come in
    runs of at least 0.1 s and are joined. Without clips the bank is empty and scenes use
    coloured noise only.
    """

    def __init__(
        self,
        clips: list[np.ndarray],
        quantile: float = 0.35,
        speech: list[np.ndarray] | None = None,
        chunk: int = 1024,
        threshold: float = 0.3,
    ) -> None:
        self.pieces: list[np.ndarray] = []
        for k, x in enumerate(clips):
            if speech is None:
                piece = self.quiet_part(x, quantile)
            else:
                centres = (np.arange(len(x) // FRAME) * FRAME + FRAME // 2) // chunk
                probs = speech[k][np.minimum(centres, len(speech[k]) - 1)]
                piece = self.frames_where(x, probs < threshold)
            if len(piece) >= SAMPLE_RATE // 2 and _rms(piece) > 1e-5:
                self.pieces.append((piece / _rms(piece)).astype(np.float32))

    @staticmethod
    def quiet_part(x: np.ndarray, quantile: float) -> np.ndarray:
        db = frame_db(x)
        return NoiseBank.frames_where(x, db <= np.quantile(db, quantile))

    @staticmethod
    def frames_where(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """The 20 ms frames of ``x`` where ``keep`` holds, in runs of five or more, joined."""
        runs, start = [], None
        for i, q in enumerate(np.append(keep, False)):
            if q and start is None:
                start = i
            elif not q and start is not None:
                if i - start >= 5:
                    runs.append(x[start * FRAME : i * FRAME])
                start = None
        return np.concatenate(runs) if runs else np.zeros(0, np.float32)

    def __len__(self) -> int:
        return len(self.pieces)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Unit-RMS noise of ``n`` samples from one random piece (looped with crossfades)."""
        piece = self.pieces[int(rng.integers(len(self.pieces)))]
        start = int(rng.integers(len(piece)))
        reps = int(np.ceil((n + start) / len(piece))) + 1
        out = np.tile(piece, reps)[start : start + n]
        return out / _rms(out)


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Unit-RMS noise whose power falls as 1/f^exponent."""
    m = sfft.next_fast_len(n, real=True)
    spec = sfft.rfft(rng.standard_normal(m).astype(np.float32))
    f = sfft.rfftfreq(m, 1.0 / SAMPLE_RATE).astype(np.float32)
    spec *= np.maximum(f, 20.0) ** np.float32(-exponent / 2)
    y = sfft.irfft(spec, m)[:n]
    return (y / _rms(y)).astype(np.float32)


def colour(x: np.ndarray, rng: np.random.Generator, s: SceneSettings) -> np.ndarray:
    """Random microphone and channel colour of a whole scene: a zero-phase tilt, sometimes
    a low-pass band limit (one float32 FFT pair: scenes are drawn for every step)."""
    m = sfft.next_fast_len(len(x) + SAMPLE_RATE // 20, real=True)
    f = sfft.rfftfreq(m, 1.0 / SAMPLE_RATE).astype(np.float32)
    slope = rng.uniform(-s.eq_db_per_octave, s.eq_db_per_octave)
    gain = np.clip(slope * np.log2(np.maximum(f, 100.0) / 1000.0), -15.0, 15.0)
    if rng.random() < s.p_band_limit:
        cut = float(np.exp(rng.uniform(*np.log(s.band_hz))))
        gain = gain - np.clip((f - cut) / (0.05 * cut), 0.0, 1.0) * 80.0
    spec = sfft.rfft(x.astype(np.float32), m) * (10 ** (gain / 20)).astype(np.float32)
    return sfft.irfft(spec, m)[: len(x)].astype(np.float32)


def reverb(x: np.ndarray, rng: np.random.Generator, s: SceneSettings) -> np.ndarray:
    """A synthetic room: exponentially decaying noise with a drawn RT60, direct path first."""
    rt60 = rng.uniform(*s.rt60)
    n = int(min(rt60, 1.0) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    rir[0] = 1.0 / rng.uniform(0.3, 1.0)  # the direct-to-reverberant ratio varies
    rir /= np.sqrt(np.sum(rir**2))
    m = sfft.next_fast_len(len(x) + n, real=True)
    spec = sfft.rfft(x.astype(np.float32), m) * sfft.rfft(rir.astype(np.float32), m)
    y = sfft.irfft(spec, m)[: len(x)]
    return (y * _rms(x) / _rms(y)).astype(np.float32)


def lossy(x: np.ndarray, kind: str, level: float) -> np.ndarray:
    """``x`` encoded with codec ``kind`` at compression ``level`` (0 best, 1 smallest) and
    decoded again, cut or padded to its length."""
    import io

    import soundfile as sf

    fmt, subtype = CODECS[kind]
    buf = io.BytesIO()
    # libsndfile's MP3 encoder refuses exactly 1.0
    level = min(level, 0.99) if kind == "mp3" else level
    sf.write(buf, x, SAMPLE_RATE, format=fmt, subtype=subtype, compression_level=level)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    y = y[: len(x)]
    return np.pad(y, (0, len(x) - len(y))) if len(y) < len(x) else y


def crop_voice(x: np.ndarray, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A stretch of about ``seconds`` of clean clip ``x`` that holds speech: of a few random
    starts, the one with the most audible frames."""
    n = min(len(x), int(seconds * SAMPLE_RATE))
    if n >= len(x):
        return x
    active = active_frames(x)
    best, best_count = 0, -1
    for start in rng.integers(0, len(x) - n + 1, size=4):
        lo, hi = start // FRAME, (start + n) // FRAME
        count = int(active[lo:hi].sum())
        if count > best_count:
            best, best_count = int(start), count
    return x[best : best + n]


class SceneMaker:
    """Draws training scenes from clean voices by class and a noise bank."""

    def __init__(
        self,
        voices: dict[str, list[Any]],
        get: Any,
        noise: NoiseBank,
        settings: SceneSettings | None = None,
    ) -> None:
        """``voices``: class ("fake"/"real") -> indices; ``get(i)`` returns clip i's audio."""
        self.settings = settings or SceneSettings()
        self.settings.validate()
        if not voices.get("fake") or not voices.get("real"):
            raise ValueError("scenes need clean clips of both classes")
        self.voices, self.get, self.noise = voices, get, noise
        w = np.asarray(self.settings.weights, dtype=float)
        self.p = w / w.sum()

    @property
    def n_samples(self) -> int:
        return round(self.settings.clip_seconds * SAMPLE_RATE)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
        """(waveform, [fake, real] presence, composition index)."""
        s, n = self.settings, self.n_samples
        comp = int(rng.choice(len(COMPOSITIONS), p=self.p))
        name = COMPOSITIONS[comp]
        classes = [] if name == "none" else ["fake" if c == "F" else "real" for c in name]
        mix = np.zeros(n, np.float32)
        ref = 0.0
        for k, klass in enumerate(classes):
            pool = self.voices[klass]
            v = self.get(pool[int(rng.integers(len(pool)))])
            v = crop_voice(v, rng, rng.uniform(*s.voice_seconds))
            if rng.random() < s.p_reverb:
                v = reverb(v, rng, s)
            act = active_frames(v)
            level = _rms(v[: len(act) * FRAME].reshape(-1, FRAME)[act]) if act.any() else _rms(v)
            gain = 10 ** ((rng.uniform(-0.5, 0.5) * s.level_spread_db if k else 0.0) / 20)
            v = v / level * gain
            ref = max(ref, gain)
            v = v[:n]
            at = int(rng.integers(0, n - len(v) + 1))
            mix[at : at + len(v)] += v
        noise = (
            coloured_noise(rng, n, rng.uniform(0.0, 2.0))
            if len(self.noise) == 0 or rng.random() < s.p_coloured_noise
            else self.noise.sample(rng, n)
        )
        snr = rng.uniform(*s.snr_db)
        y = colour(mix + noise * (ref if classes else 1.0) * 10 ** (-snr / 20), rng, s)
        y *= 10 ** (rng.uniform(*s.level_dbfs) / 20) / _rms(y)
        if rng.random() < s.p_clip:
            top = float(np.abs(y).max()) * rng.uniform(0.2, 0.6)
            y = np.clip(y, -top, top)
        y = np.clip(y, -1.0, 1.0).astype(np.float32)
        if s.p_codec > 0 and rng.random() < s.p_codec:
            kind = s.codecs[int(rng.integers(len(s.codecs)))]
            y = np.clip(lossy(y, kind, float(rng.uniform(*s.codec_level))), -1.0, 1.0)
        target = np.array(["fake" in classes, "real" in classes], dtype=np.float32)
        return y, target, comp

    def batch(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """``size`` scenes: ``wave`` (B, N), ``target`` (B, 2) presence, ``comp`` (B,)."""
        waves, targets, comps = zip(*(self.draw(rng) for _ in range(size)), strict=True)
        return {
            "wave": np.stack(waves),
            "target": np.stack(targets),
            "comp": np.asarray(comps, dtype=np.int64),
        }


def targets(batch: dict[str, np.ndarray]) -> np.ndarray:
    """(B, 3) float32 training targets of a :meth:`SceneMaker.batch`: fake, real, composition."""
    return np.concatenate([batch["target"], batch["comp"][:, None]], axis=1).astype(np.float32)
