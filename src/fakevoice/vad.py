"""Voice activity: where in a clip someone speaks, from the Silero VAD shipped in its wheel.

The ``silero-vad`` package holds its model (``silero_vad.jit``, MIT licence) inside the
wheel, so nothing is downloaded. It runs at 16 kHz on 512-sample chunks (32 ms); clips are
resampled and run as a batch, one chunk step for all of them at once (about 0.2 s per 64
clips of 5 s on one core). Uses: the non-speech stretches of the unlabeled clips become the
detector's noise bank, and a clip's speech score can gate its probabilities.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from fakevoice.audio import SAMPLE_RATE, resample
from fakevoice.models.common import torch_threads

VAD_RATE = 16000
CHUNK = 512  # samples at 16 kHz: 32 ms
HOP_32K = CHUNK * SAMPLE_RATE // VAD_RATE  # the same 32 ms at the decoding rate
# Below this many signals, one whole-sequence call per signal beats the stepped batch
# (per 5 s clip on one core: 16.5 ms, against 51 ms in batches of 8, 18 ms of 64, 13 of 128).
FEW = 96


@functools.lru_cache(maxsize=1)
def _model():
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad
    except ImportError as exc:  # pragma: no cover - a dependency of fakevoice
        raise RuntimeError(
            "voice activity needs the silero-vad package (pip install silero-vad)"
        ) from exc
    try:
        with warnings.catch_warnings():  # its loader's own deprecations, nothing for a user
            warnings.simplefilter("ignore", DeprecationWarning)
            return load_silero_vad()
    finally:
        # silero sets torch's global thread count to 1 on import: the first training
        # run of a process then computed on one thread, and its sums in another order
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def _sequence_model():
    """Silero's whole-sequence ONNX export (silero-vad >= 6.2): the same per-chunk
    probabilities as the streaming model (within 1e-5), one call per signal."""
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad

        with warnings.catch_warnings():  # its loader's own deprecations, nothing for a user
            warnings.simplefilter("ignore", DeprecationWarning)
            return load_silero_vad(sequence=True)
    except (TypeError, FileNotFoundError, ImportError):  # an older silero-vad
        return None
    finally:
        torch.set_num_threads(threads)  # silero's import sets it to 1, as for _model


@torch.no_grad()
def speech_probabilities(waves: Sequence[np.ndarray], batch: int = 64) -> list[np.ndarray]:
    """Per 32 ms chunk, the probability that speech is present, for each 32 kHz signal.

    The streaming model is stepped one chunk at a time for a whole batch, which pays off
    for many signals; for fewer than ``FEW`` one call per signal of the sequence export
    is faster (a single 5 s clip, as the HTTP service gets: 16.5 ms against about 110 ms)."""
    if len(waves) < FEW and (seq := _sequence_model()) is not None:
        out = []
        for w in waves:
            x = resample(np.asarray(w, np.float32), SAMPLE_RATE, VAD_RATE)
            if len(x) == 0:
                x = np.zeros(CHUNK, np.float32)  # as the streaming path pads it
            out.append(np.asarray(seq.audio_forward(x), dtype=np.float32))
        return out
    model = _model()
    out = []
    # The TorchScript executor re-optimises a model over its first calls, and the optimised
    # graph rounds differently (1e-7): the first clips of a process would not match later
    # ones, and a training run's noise bank would depend on what ran before it.
    with torch_threads(1), torch.jit.optimized_execution(False):
        for s in range(0, len(waves), batch):
            part = [
                resample(np.asarray(w, np.float32), SAMPLE_RATE, VAD_RATE)
                for w in waves[s : s + batch]
            ]
            lengths = [max(1, -(-len(w) // CHUNK)) for w in part]
            x = torch.zeros(len(part), max(lengths) * CHUNK)
            for k, w in enumerate(part):
                x[k, : len(w)] = torch.from_numpy(w)
            model.reset_states()
            probs = torch.cat(
                [model(x[:, c * CHUNK : (c + 1) * CHUNK], VAD_RATE) for c in range(max(lengths))],
                dim=1,
            ).numpy()
            out += [probs[k, : lengths[k]].astype(np.float32) for k in range(len(part))]
    return out


def speech_score(probs: np.ndarray, top: int = 3) -> float:
    """A clip's speech score: the mean of its ``top`` most speech-like chunks (a single chunk
    is too easily fooled by a click)."""
    if len(probs) == 0:
        return 0.0
    return float(np.sort(probs)[-min(top, len(probs)) :].mean())


def window_scores(
    waves: Sequence[np.ndarray], lengths: Sequence[int], batch: int = 64
) -> list[float]:
    """The speech score of each window, over its first ``lengths`` samples (at least one)."""
    speech = speech_probabilities(
        [w[: max(int(k), 1)] for w, k in zip(waves, lengths, strict=True)], batch=batch
    )
    return [speech_score(q) for q in speech]


def gate(probs: np.ndarray, scores: np.ndarray, threshold: float, floor: float) -> np.ndarray:
    """``probs`` (k, 2) with rows whose speech score is below ``threshold`` capped at
    ``floor``: no voice heard, so neither a fake nor a real one (modified in place)."""
    quiet = np.asarray(scores) < threshold
    probs[quiet] = np.minimum(probs[quiet], floor)
    return probs
