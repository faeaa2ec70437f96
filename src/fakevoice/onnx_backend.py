"""A run's model as ONNX, and scoring through onnxruntime.

The export holds what follows the front end: features (B, channels, frames) and the
windows' valid frame counts -> calibrated probabilities (B, 2) (p_fake, p_real). The
front end (an STFT, which ONNX cannot take from torch's exporter) and the voice-activity
gate stay in the caller, so both backends share them and differ only in the network.
The file records the SHA-256 of the run's model.pt: a stale export is refused, not used.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from fakevoice.atomic import atomic_write_bytes
from fakevoice.errors import FakevoiceError, RunError
from fakevoice.runs import MODEL, load_model

ONNX_FILE = "model.onnx"
OPSET = 17


def model_digest(run: str | Path) -> str:
    return hashlib.sha256((Path(run) / MODEL).read_bytes()).hexdigest()


class _Probabilities(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
        return self.model.probabilities(self.model(features, n_valid))


def export_onnx(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the run's model as ONNX (default RUN/model.onnx), atomically; returns the path."""
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - a dependency of fakevoice
        raise FakevoiceError("export needs the onnx package (pip install onnx)") from exc
    run = Path(run)
    model, cfg = load_model(run)
    if cfg.frontend.kind == "waveform":
        raise FakevoiceError(
            f"{run}: models on the waveform front end (pretrained encoders) are not exported yet"
        )
    out = Path(out) if out is not None else run / ONNX_FILE
    wrapped = _Probabilities(model).eval()
    x = torch.zeros(2, cfg.frontend.channels, cfg.frames)
    n = torch.full((2,), cfg.frames, dtype=torch.int64)
    tmp = out.with_name(f".{out.name}.export")
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated for torch.export's, which needs one
            # more package (onnxscript) and gives the same graph for these conv/linear nets.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                (x, n),
                str(tmp),
                input_names=["features", "n_valid"],
                output_names=["probs"],
                dynamic_axes={
                    "features": {0: "batch"},
                    "n_valid": {0: "batch"},
                    "probs": {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        proto = onnx.load(str(tmp))
    finally:
        tmp.unlink(missing_ok=True)
    meta = proto.metadata_props.add()
    meta.key, meta.value = "fakevoice_model_sha256", model_digest(run)
    meta = proto.metadata_props.add()
    meta.key, meta.value = "fakevoice_frames", str(cfg.frames)
    try:
        atomic_write_bytes(out, proto.SerializeToString())
    except OSError as exc:
        raise FakevoiceError(f"{out}: cannot write: {exc.strerror}") from exc
    return out


class OnnxModel:
    """An exported run's network in onnxruntime: features -> calibrated probabilities."""

    def __init__(self, path: str | Path, run: str | Path, threads: int = 0) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a dependency of fakevoice
            raise FakevoiceError(
                "the onnx backend needs onnxruntime (pip install onnxruntime)"
            ) from exc
        path = Path(path)
        if not path.is_file():
            raise RunError(f"{path}: no ONNX export; run `fakevoice export {run}` first")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads) if threads > 0 else (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # the exporter's unused initialisers are no news
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise RunError(f"{path}: not a loadable ONNX model ({str(exc)[:120]})") from exc
        made_from = self.session.get_modelmeta().custom_metadata_map.get("fakevoice_model_sha256")
        if made_from != model_digest(run):
            raise RunError(
                f"{path}: exported from another model than {Path(run) / MODEL}; "
                f"rerun `fakevoice export {run}`"
            )
        self.inputs = {i.name for i in self.session.get_inputs()}

    def __call__(self, features: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
        # models that ignore n_valid (no pooling before the network) lose it in the export
        feed = {"features": np.ascontiguousarray(features, dtype=np.float32)}
        if "n_valid" in self.inputs:
            feed["n_valid"] = np.asarray(n_valid, dtype=np.int64)
        return self.session.run(["probs"], feed)[0]
