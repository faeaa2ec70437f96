"""The Python API: a trained run as an object that scores files and arrays.

```python
from fakevoice import Detector

d = Detector.load("runs/demo")
d.predict("call.ogg")                    # {"fake": 0.93, "real": 0.04}
d.predict(samples, sample_rate=16000)    # a mono or (frames, channels) array
d.predict(["a.ogg", "b.wav"])            # a list: one dict per item, in order
d.explain("call.ogg")                    # the JSON of `fakevoice explain`
```

Probabilities are exactly the ones ``fakevoice predict`` writes for the same input: the
same decoding, windows and combination (:class:`fakevoice.predict.Predictor`). A file or
array that cannot be scored raises :class:`fakevoice.errors.FakevoiceError` naming it;
``errors="skip"`` returns ``None`` in its place instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.audio import resample, to_mono
from fakevoice.errors import FakevoiceError
from fakevoice.predict import Predictor
from fakevoice.runs import read_manifest

Item = str | Path | np.ndarray


class Detector:
    """A finished training run, loaded once, ready to score."""

    def __init__(self, predictor: Predictor) -> None:
        self._pred = predictor
        manifest = read_manifest(predictor.run)
        self.run = predictor.run
        self.model = str(manifest.get("model", "?"))
        self.version = str(manifest.get("fakevoice_version", "?"))
        self.sample_rate = int(predictor.cfg.frontend.sample_rate)

    @classmethod
    def load(cls, run: str | Path, batch_size: int = 64) -> Detector:
        """Load the run directory ``run`` (what ``fakevoice train --out`` wrote)."""
        return cls(Predictor(run, batch_size))

    def __repr__(self) -> str:
        return f"Detector(run={str(self.run)!r}, model={self.model!r})"

    def _signal(self, x: np.ndarray, sample_rate: int | None) -> np.ndarray:
        if sample_rate is None or int(sample_rate) <= 0:
            raise ValueError("an array needs a positive sample_rate=")
        x = np.asarray(x)
        if x.ndim not in (1, 2) or x.size == 0 or not np.issubdtype(x.dtype, np.number):
            raise ValueError("expected a non-empty 1-D or 2-D numeric array")
        if np.issubdtype(x.dtype, np.integer):  # PCM as many libraries read it
            x = x / float(np.iinfo(x.dtype).max)
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError("the array holds NaN or infinite samples")
        mono = to_mono(x) if x.ndim == 2 else x
        return resample(mono, int(sample_rate), self.sample_rate)

    def _signals(
        self, seq: Sequence[Item], sample_rate: int | None
    ) -> Iterator[tuple[int, np.ndarray | None, str]]:
        # one item decoded at a time, so a long list costs a batch of memory, not the list
        for k, v in enumerate(seq):
            if not isinstance(v, np.ndarray):
                ((_, x, reason),) = self._pred.decode([Path(v)])
                yield k, x, reason
                continue
            try:
                yield k, self._signal(v, sample_rate), ""
            except ValueError as exc:
                yield k, None, str(exc)

    def predict(
        self, items: Item | Sequence[Item], sample_rate: int | None = None, errors: str = "raise"
    ) -> dict[str, float] | list[dict[str, float] | None] | None:
        """{"fake": p, "real": p} for one file or array, a list of them for a list."""
        if errors not in ("raise", "skip"):
            raise ValueError("errors must be 'raise' or 'skip'")
        single = isinstance(items, str | Path | np.ndarray)
        seq: list[Item] = [items] if single else list(items)  # type: ignore[list-item]
        names = [f"item {k}" if isinstance(v, np.ndarray) else str(v) for k, v in enumerate(seq)]
        out: list[dict[str, float] | None] = [None] * len(seq)
        signals = self._signals(seq, sample_rate)
        for k, d, reason in self._pred.describe_signals(signals, details=False):
            if d is not None:
                out[k] = {"fake": float(d["probs"][0]), "real": float(d["probs"][1])}
            elif errors == "raise":
                raise FakevoiceError(f"{names[k]}: {reason}")
        return out[0] if single else out

    def explain(
        self, audio: str | Path, window: float = 2.0, hop: float | None = None
    ) -> dict[str, Any]:
        """The timeline and saliency of one file, as ``fakevoice explain --json`` writes."""
        from fakevoice.explain import explain

        return explain(self._pred, audio, window=window, hop=hop).as_dict()
