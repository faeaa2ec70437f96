"""Voice activity from the packaged Silero model, and the noise bank built on it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from fakevoice.audio import SAMPLE_RATE
from fakevoice.simulate import NoiseBank
from fakevoice.vad import HOP_32K, speech_probabilities, speech_score


def _speechy(seconds: float, seed: int) -> np.ndarray:
    """A buzzy vowel-like source with a syllable rhythm: enough for a VAD to call speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    x = sum(np.sin(k * phase) * np.exp(-((k * 120 - 700) ** 2) / 2e5) for k in range(1, 30))
    env = (np.sin(2 * np.pi * 4 * t) > -0.2).astype(float)
    return (0.2 * x * env + 0.001 * rng.standard_normal(n)).astype(np.float32)


def test_probabilities_have_one_value_per_chunk_and_silence_scores_low() -> None:
    silence = np.zeros(SAMPLE_RATE * 2, np.float32)
    noise = (0.02 * np.random.default_rng(0).standard_normal(SAMPLE_RATE * 3)).astype(np.float32)
    probs = speech_probabilities([silence, noise, np.zeros(10, np.float32)])
    assert [len(p) for p in probs] == [-(-len(silence) // HOP_32K), -(-len(noise) // HOP_32K), 1]
    assert all(((p >= 0) & (p <= 1)).all() for p in probs)
    assert speech_score(probs[0]) < 0.2 and speech_score(probs[1]) < 0.5
    assert speech_score(np.zeros(0)) == 0.0


def test_bank_from_vad_takes_the_stretches_without_speech() -> None:
    rng = np.random.default_rng(1)
    n = SAMPLE_RATE * 5
    background = (0.01 * rng.standard_normal(n)).astype(np.float32)
    x = background.copy()
    x[: n // 2] += _speechy(2.5, 0)
    # a VAD that says "speech" in the first half: the bank must hold only the second half
    chunks = -(-n // HOP_32K)
    speech = [np.where(np.arange(chunks) * HOP_32K < n // 2, 0.9, 0.05).astype(np.float32)]
    bank = NoiseBank([x], speech=speech, chunk=HOP_32K)
    assert len(bank) == 1
    piece = bank.pieces[0]
    assert SAMPLE_RATE * 2 <= len(piece) <= n // 2 + HOP_32K
    # it is the background, at unit RMS, not the voice
    assert abs(np.corrcoef(piece[:1000], background[-len(piece) :][:1000])[0, 1]) > 0.99


def test_loading_silero_leaves_torch_s_thread_count_alone() -> None:
    # silero-vad sets torch's global thread count to 1 when imported: a training run that
    # first loaded it computed on one thread and the next on two (different weights)
    code = (
        "import torch; torch.set_num_threads(2)\n"
        "from fakevoice.vad import _model, _sequence_model\n"
        "_sequence_model(); a = torch.get_num_threads(); _model()\n"
        "print(a, torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "2"]
