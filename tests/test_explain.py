"""`fakevoice explain`: clip probabilities, the timeline over windows, the saliency map,
the picture and the JSON, and the verb's refusals."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from fakevoice.audio import SAMPLE_RATE, write_audio
from fakevoice.cli import main
from fakevoice.explain import _starts, explain, integrated_gradients
from fakevoice.predict import predict
from tests.conftest import _voice

SR = SAMPLE_RATE


def spliced(path: Path, seed: int = 3) -> tuple[Path, float, float]:
    """12 s of the toy's real voices with 2.5 s of a toy fake voice spliced in at 6-8.5 s
    (inside the second of predict's 5 s windows, 5-10 s)."""
    rng = np.random.default_rng(seed)
    parts = [_voice(rng, 3.0, False), _voice(rng, 3.0, False), _voice(rng, 2.5, True),
             _voice(rng, 1.5, False), _voice(rng, 2.0, False)]  # fmt: skip
    x = np.concatenate(parts)
    x = x + 0.003 * rng.standard_normal(len(x)).astype(np.float32)
    write_audio(path, x)
    return path, 6.0, 8.5


def test_windows_cover_the_file_without_near_repeats() -> None:
    assert _starts(100, 200, 10) == [0]
    assert _starts(1000, 200, 100) == list(range(0, 801, 100))
    assert _starts(1005, 200, 100)[-1] == 805 and len(_starts(1005, 200, 100)) == 9
    assert _starts(1080, 200, 100)[-2:] == [800, 880]


@pytest.mark.slow
def test_timeline_peaks_where_the_fake_segment_is(toy_detector, tmp_path: Path) -> None:
    audio, start, end = spliced(tmp_path / "spliced.wav")
    ex = explain(toy_detector, audio, window=2.0, hop=0.5)
    assert ex.seconds == pytest.approx(12.0, abs=0.01)
    mids = np.array([(r["start"] + r["end"]) / 2 for r in ex.timeline])
    fake = np.array([r["fake"] for r in ex.timeline])
    inside = (mids > start) & (mids < end)
    outside = (mids < start - 1.5) | (mids > end + 1.5)
    assert start - 1.0 <= mids[int(np.argmax(fake))] <= end + 1.0
    # (means would mislead: the VAD gate floors some windows of the toy's tones)
    assert fake[inside].max() > fake[outside].max() + 0.2
    # the clip-level numbers are what predict writes for the file
    out = tmp_path / "sub.csv"
    predict(toy_detector, [audio], out)
    row = out.read_text().splitlines()[1].split(",")
    assert float(row[1]) == pytest.approx(ex.fake, abs=1e-6)
    # the saliency explains predict's decisive 5 s window, which holds fake seconds
    assert min(end, ex.saliency_start + 5.0) - max(start, ex.saliency_start) >= 1.0
    assert ex.saliency.shape == (8, 51) and np.isfinite(ex.saliency).all()


class _KnownModel(torch.nn.Module):
    """p(fake) = sigmoid(4 (mean of bands 20-27 over frames 40-79) - 2): only that region
    can carry attribution."""

    def forward(self, x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        z = 4 * x[:, 20:28, 40:80].mean(dim=(1, 2)) - 2
        return torch.stack([z, -z], dim=1)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)


def test_integrated_gradients_put_the_decision_where_the_model_looks() -> None:
    pred = SimpleNamespace(model=_KnownModel())
    x = torch.zeros(64, 201)
    x[20:28, 40:80] = 2.0
    attr, (tb, tf) = integrated_gradients(pred, x, steps=64)
    assert (tb, tf) == (8, 4) and attr.shape == (8, 51)
    # completeness: the tiles add up to p(x) - p(baseline)
    model = pred.model
    base = x.mean(dim=1, keepdim=True).expand_as(x)
    p = [float(model.probabilities(model(v[None], None))[0, 0]) for v in (x, base)]
    assert attr.sum() == pytest.approx(p[0] - p[1], abs=2e-3)
    # bands 20-27 are tiles 2-3, frames 40-79 tiles 10-19; nothing outside
    inside = np.zeros_like(attr, dtype=bool)
    inside[2:4, 10:20] = True
    assert np.abs(attr[~inside]).max() < 1e-7 and attr[inside].sum() > 0.3


@pytest.mark.slow
def test_explain_verb_writes_picture_and_json(toy_detector, tmp_path: Path, capsys) -> None:
    audio, _, _ = spliced(tmp_path / "spliced.ogg", seed=4)
    png, js = tmp_path / "ex.png", tmp_path / "ex.json"
    args = ["explain", str(toy_detector), str(audio), "--window", "1.5", "--png", str(png)]
    assert main([*args, "--json", str(js)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    doc = json.loads(js.read_text())
    assert {"fake", "real", "timeline", "saliency", "uncertain_band"} <= set(doc)
    assert doc["window_seconds"] == 1.5 and doc["timeline"][-1]["end"] == pytest.approx(12.0)
    labels = {r["label"] for r in doc["timeline"]}
    assert labels <= {"fake", "real", "fake+real", "no voice", "uncertain"}
    assert "fake" in capsys.readouterr().out


@pytest.mark.slow
def test_explain_refuses_bad_input(toy_detector, tmp_path: Path, capsys) -> None:
    good, _, _ = spliced(tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    for args, what in (
        ([str(tmp_path / "missing-run"), str(good)], "missing-run"),
        ([str(toy_detector), str(bad)], "bad.wav"),
        ([str(toy_detector), str(tmp_path / "absent.wav")], "absent.wav"),
        ([str(toy_detector), str(good), "--window", "9"], "--window"),
        ([str(toy_detector), str(good), "--uncertain", "0.7"], "--uncertain"),
    ):
        assert main(["explain", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert what in err and len(err.splitlines()) == 1, err
