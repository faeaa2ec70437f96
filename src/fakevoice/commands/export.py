"""Export a trained run's network for other runtimes.

`fakevoice export RUN` writes RUN/model.onnx (or --onnx FILE): features -> calibrated
(fake, real) probabilities, opset 17, batch size free. `fakevoice predict RUN INPUT
--backend onnx` then runs it through onnxruntime; the front end and the voice-activity
gate are shared with the torch backend, and the two agree within 1e-4 (tested).
"""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "export a run's network to ONNX"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory made by `fakevoice train`")
    p.add_argument("--onnx", metavar="FILE", help="where to write (default RUN/model.onnx)")


def run(args: argparse.Namespace) -> int:
    from fakevoice.onnx_backend import export_onnx

    out = export_onnx(args.run, args.onnx)
    print(f"wrote {out}")
    return 0
