"""Why a file was called fake: its clip-level probabilities, a timeline of ``fake`` and
``real`` over sliding windows, and a saliency map over time-frequency tiles.

The clip-level probabilities are exactly what ``predict`` writes for the file. The
timeline scores windows of ``window`` seconds every ``hop`` seconds with the same model,
calibration and VAD gate; values within ``uncertain`` of 0.5 are marked uncertain. The
saliency explains the file's decisive window (the clip-length window with the highest
``fake``, which ``predict`` takes for the file): integrated gradients of its ``fake``
probability over time-frequency tiles of the model's input, positive where a region
pushed the decision towards fake.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fakevoice.audio import load_audio, window_starts, windows
from fakevoice.errors import AudioError, FakevoiceError
from fakevoice.models.common import torch_threads
from fakevoice.predict import Predictor

# Tiles of the saliency map: about this many across time and frequency.
TIME_TILES = 48
FREQ_TILES = 8
# The picture's spectrogram shows the file's first this many seconds.
PICTURE_SECONDS = 30.0


@dataclass
class Explanation:
    file: str
    seconds: float
    fake: float
    real: float
    window: float
    hop: float
    uncertain: tuple[float, float]
    timeline: list[dict[str, Any]]
    features: np.ndarray = field(repr=False)  # (C, T) model input of the picture's span
    frame_seconds: float = 0.0
    saliency: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    tile: tuple[int, int] = (1, 1)  # (bands, frames) per saliency tile
    saliency_start: float = 0.0  # seconds: where the decisive window begins

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "seconds": round(self.seconds, 4),
            "fake": round(self.fake, 6),
            "real": round(self.real, 6),
            "window_seconds": self.window,
            "hop_seconds": self.hop,
            "uncertain_band": list(self.uncertain),
            "timeline": self.timeline,
            "saliency": {
                "what": "integrated-gradients share of p(fake) of the decisive window per tile",
                "window_start_seconds": round(self.saliency_start, 4),
                "tile_bands": self.tile[0],
                "tile_seconds": round(self.tile[1] * self.frame_seconds, 4),
                "values": np.round(self.saliency, 5).tolist(),
            },
        }


def _label(fake: float, real: float, lo: float, hi: float) -> str:
    sure = [name for name, p in (("fake", fake), ("real", real)) if p >= hi]
    if any(lo < p < hi for p in (fake, real)):
        return "uncertain"
    return "+".join(sure) if sure else "no voice"


def _starts(n_samples: int, win: int, hop: int) -> list[int]:
    """:func:`fakevoice.audio.window_starts`, except that the last window, which ends at the
    end, replaces the regular one before it when it would nearly repeat it."""
    starts = window_starts(n_samples, win, hop)
    if len(starts) >= 2 and starts[-1] - starts[-2] < hop // 2:
        del starts[-2]
    return starts


def integrated_gradients(
    pred: Predictor, x: torch.Tensor, steps: int = 32
) -> tuple[np.ndarray, tuple[int, int]]:
    """(bands, tiles) attribution of p(fake) to tiles of (C, T) input ``x``: integrated
    gradients (Sundararajan et al. 2017) from a baseline of each band's mean over the
    window (a neutral stand-in in range; digital silence is far from any recording), summed
    over each tile. The tiles add up to p(fake) of ``x`` less that of the baseline."""
    model = pred.model
    model.eval()
    c, t = x.shape
    tb, tf = max(1, c // FREQ_TILES), max(1, t // TIME_TILES)
    base = x.mean(dim=1, keepdim=True).expand(c, t)
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    grads = torch.zeros(c, t)
    for part in torch.split(alphas, 16):
        path = (base + part[:, None, None] * (x - base)).detach().requires_grad_(True)
        with torch.enable_grad():
            p = model.probabilities(model(path, torch.full((len(part),), t)))[:, 0]
            (g,) = torch.autograd.grad(p.sum(), path)
        grads += g.sum(dim=0)
    attr = ((x - base) * grads / steps).numpy()
    nb, nf = -(-c // tb), -(-t // tf)
    padded = np.zeros((nb * tb, nf * tf))
    padded[:c, :t] = attr
    return padded.reshape(nb, tb, nf, tf).sum(axis=(1, 3)), (tb, tf)


def _check(cfg: Any, window: float, hop: float | None, uncertain: float) -> float:
    if not 0.5 <= window <= cfg.clip_seconds:
        raise FakevoiceError(f"--window must lie between 0.5 and {cfg.clip_seconds:g} seconds")
    hop = window / 4 if hop is None else hop
    if not 0.05 <= hop <= window:
        raise FakevoiceError("--hop must lie between 0.05 s and the window")
    if not 0.0 <= uncertain < 0.5:
        raise FakevoiceError("--uncertain must lie in [0, 0.5)")
    return hop


def timeline(
    pred: Predictor,
    x: np.ndarray,
    *,
    window: float = 2.0,
    hop: float | None = None,
    uncertain: float = 0.15,
) -> list[dict[str, Any]]:
    """``fake`` and ``real`` of windows of ``window`` s every ``hop`` s over signal ``x``
    (mono, at the model's rate), each labelled fake, real, both, no voice or uncertain."""
    hop = _check(pred.cfg, window, hop, uncertain)
    sr = pred.cfg.frontend.sample_rate
    win, step = round(window * sr), round(hop * sr)
    starts = _starts(len(x), win, step)
    segs = np.stack([np.pad(x[s : s + win], (0, max(0, s + win - len(x)))) for s in starts])
    lengths = np.array([min(win, len(x) - s) for s in starts], dtype=np.int64)
    probs = pred.score_windows(segs.astype(np.float32), np.maximum(lengths, 1))
    lo, hi = 0.5 - uncertain, 0.5 + uncertain
    return [
        {"start": round(s / sr, 4), "end": round(min(s + win, len(x)) / sr, 4),
         "fake": round(float(p[0]), 6), "real": round(float(p[1]), 6),
         "label": _label(float(p[0]), float(p[1]), lo, hi)}
        for s, p in zip(starts, probs, strict=True)
    ]  # fmt: skip


def explain(
    run: str | Path | Predictor,
    audio: str | Path,
    *,
    window: float = 2.0,
    hop: float | None = None,
    uncertain: float = 0.15,
) -> Explanation:
    """Explain one file of any length with the model of ``run`` (a run directory, or a
    :class:`Predictor` already loaded from one)."""
    pred = run if isinstance(run, Predictor) else Predictor(run)
    _check(pred.cfg, window, hop, uncertain)
    path = Path(audio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = load_audio(path, pred.cfg.frontend.sample_rate)  # AudioError names file and reason
    return explain_signal(pred, x, str(path), window=window, hop=hop, uncertain=uncertain)


def explain_signal(
    pred: Predictor,
    x: np.ndarray,
    name: str,
    *,
    window: float = 2.0,
    hop: float | None = None,
    uncertain: float = 0.15,
) -> Explanation:
    """:func:`explain` of a decoded signal (mono, at the model's rate) called ``name``."""
    cfg = pred.cfg
    sr = cfg.frontend.sample_rate
    hop = _check(cfg, window, hop, uncertain)
    lo, hi = 0.5 - uncertain, 0.5 + uncertain
    steps = timeline(pred, x, window=window, hop=hop, uncertain=uncertain)
    # predict's clip-length windows give the file's probabilities, and the decisive window
    # is the one with the highest p(fake)
    n = cfg.clip_samples
    clip_starts = window_starts(len(x), n)
    clip_wins = windows(x, n)
    clip_probs = pred.score_windows(clip_wins, np.full(len(clip_wins), min(n, max(len(x), 1))))
    clip = pred.combine(clip_probs)
    if not np.isfinite(clip).all():
        raise AudioError(Path(name), "the model produced a non-finite probability")
    clip = np.clip(clip, 0.0, 1.0)  # as predict writes it
    k = int(np.argmax(clip_probs[:, 0]))
    with torch_threads(cfg.threads):
        win_feats = pred.front(torch.from_numpy(clip_wins[k : k + 1]))[0, :, : cfg.frames]
        if len(x) < n:  # a short file: only its own frames, as predict counts them
            win_feats = win_feats[:, : cfg.frontend.n_frames(len(x))]
        saliency, tile = integrated_gradients(pred, win_feats)
        head = x[: round(PICTURE_SECONDS * sr)]
        feats = pred.front(torch.from_numpy(np.ascontiguousarray(head, dtype=np.float32)))[0]
    frame_seconds = cfg.clip_seconds / cfg.frames
    return Explanation(
        file=name, seconds=len(x) / sr, fake=float(clip[0]), real=float(clip[1]),
        window=window, hop=hop, uncertain=(lo, hi), timeline=steps,
        features=feats.numpy(), frame_seconds=frame_seconds, saliency=saliency, tile=tile,
        saliency_start=clip_starts[k] / sr,
    )  # fmt: skip


def picture(ex: Explanation, path: str | Path) -> Path:
    """The spectrogram with the saliency over it, and the timeline under it, as a PNG."""
    from matplotlib.figure import Figure

    from fakevoice.atomic import atomic_path

    fig = Figure(figsize=(10, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    extent = (0.0, ex.features.shape[1] * ex.frame_seconds, 0, ex.features.shape[0])
    top.imshow(ex.features, origin="lower", aspect="auto", cmap="gray_r", extent=extent)
    if ex.saliency.size:
        tb, tf = ex.tile
        full = np.kron(ex.saliency, np.ones((tb, tf)))[: ex.features.shape[0]]
        lim = max(1e-6, float(np.abs(ex.saliency).max()))
        span = (ex.saliency_start, ex.saliency_start + full.shape[1] * ex.frame_seconds)
        img = top.imshow(full, origin="lower", aspect="auto", cmap="RdBu_r", alpha=0.5,
                         vmin=-lim, vmax=lim, extent=(*span, 0, full.shape[0]))  # fmt: skip
        top.axvline(span[0], color="k", lw=0.8)
        top.axvline(span[1], color="k", lw=0.8)
        fig.colorbar(img, ax=top, label="push towards fake (integrated gradients)")
    top.set_ylabel("band")
    top.set_xlim(0, ex.features.shape[1] * ex.frame_seconds)
    top.set_title(f"{Path(ex.file).name}: fake {ex.fake:.3f}, real {ex.real:.3f}")
    centres = [(r["start"] + r["end"]) / 2 for r in ex.timeline]
    bottom.axhspan(*ex.uncertain, color="0.85", label="uncertain")
    bottom.plot(centres, [r["fake"] for r in ex.timeline], "C3.-", label="fake")
    bottom.plot(centres, [r["real"] for r in ex.timeline], "C0.-", label="real")
    bottom.set_ylim(0, 1)
    bottom.set_xlim(0, ex.seconds)
    bottom.set_xlabel(f"seconds (windows of {ex.window:g} s every {ex.hop:g} s)")
    bottom.set_ylabel("probability")
    bottom.legend(fontsize=8, loc="upper right", ncol=3)
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return Path(path)
