"""Fuzz the decoder wrapper with atheris for a fixed time budget.

    python benchmarks/fuzz_audio.py --seconds 60 [--corpus DIR] [--crashes DIR]

Feeds mutated OGG/WAV/FLAC bytes to fakevoice.audio.load_audio. The contract under test:
every input either decodes to finite float32 mono at 32 kHz, or raises AudioError whose
message names the file. Anything else (another exception, NaN output, a hang) is a finding:
the input is saved to --crashes and the run exits 1. Findings become tests in
tests/test_fuzz_findings.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

try:
    import atheris
except ImportError:  # the parent process only reports; the child needs atheris
    atheris = None

if atheris is not None and "--child" in sys.argv:
    with atheris.instrument_imports():
        from fakevoice.audio import SAMPLE_RATE, load_audio
        from fakevoice.errors import AudioError
else:
    from fakevoice.audio import SAMPLE_RATE, load_audio
    from fakevoice.errors import AudioError


def seed_corpus() -> list[bytes]:
    """Small valid files of every container, so mutations start from real structure."""
    rng = np.random.default_rng(0)
    out = []
    for fmt, subtype, ext_rate in (
        ("OGG", "VORBIS", 32000),
        ("WAV", "PCM_16", 16000),
        ("WAV", "FLOAT", 8000),
        ("FLAC", "PCM_16", 44100),
    ):
        buf = io.BytesIO()
        x = (0.1 * rng.standard_normal(ext_rate // 10)).astype(np.float32)
        sf.write(buf, x, ext_rate, format=fmt, subtype=subtype)
        out.append(buf.getvalue())
    return out


def child(args: argparse.Namespace, rest: list[str]) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="fvfuzz"))
    corpus = workdir / "corpus"
    corpus.mkdir()
    for i, data in enumerate(seed_corpus()):
        (corpus / f"seed{i}").write_bytes(data)
    if args.corpus:
        for p in args.corpus.iterdir():
            (corpus / p.name).write_bytes(p.read_bytes())
    target = workdir / "input.bin"
    state = {"runs": 0, "ok": 0, "refused": 0}
    warnings.simplefilter("ignore")

    def one_input(data: bytes) -> None:
        state["runs"] += 1
        target.write_bytes(data)
        try:
            x = load_audio(target, max_seconds=30.0)
        except AudioError as exc:
            state["refused"] += 1
            if str(target) not in str(exc) or "\n" in str(exc):
                raise AssertionError(f"bad error message: {exc!r}") from exc
        else:
            state["ok"] += 1
            if x.dtype != np.float32 or x.ndim != 1 or not np.isfinite(x).all():
                raise AssertionError("decoded audio is not finite float32 mono")
        if state["runs"] % 200 == 0:
            args.stats.write_text(json.dumps(state))

    argv = [
        sys.argv[0],
        f"-max_total_time={args.seconds}",
        "-timeout=10",
        "-rss_limit_mb=4096",
        f"-artifact_prefix={args.crashes}{os.sep}",
        str(corpus),
        *rest,
    ]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=60, help="time budget")
    ap.add_argument("--corpus", type=Path, default=None, help="extra seed inputs folder")
    ap.add_argument("--crashes", type=Path, default=Path("fuzz-findings"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stats", type=Path, default=None, help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.child:
        return child(args, rest)
    if atheris is None:
        print("fuzz: atheris is not installed (pip install atheris)", file=sys.stderr)
        return 2
    args.crashes.mkdir(parents=True, exist_ok=True)
    stats = Path(tempfile.mkstemp(prefix="fvfuzz", suffix=".json")[1])
    log = args.crashes / "fuzz.log"
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--stats",
        str(stats),
        "--seconds",
        str(args.seconds),
    ]
    cmd += [
        "--crashes",
        str(args.crashes),
        *(["--corpus", str(args.corpus)] if args.corpus else []),
    ]
    start = time.time()
    with open(log, "w") as fh:
        code = subprocess.run([*cmd, *rest], stdout=fh, stderr=subprocess.STDOUT).returncode
    state = json.loads(stats.read_text() or "{}") if stats.stat().st_size else {}
    findings = [p for p in args.crashes.iterdir() if p.name != "fuzz.log"]
    print(
        f"fuzz: {state.get('runs', 0)}+ inputs in {time.time() - start:.0f} s; "
        f"{state.get('ok', 0)} decoded at {SAMPLE_RATE} Hz, "
        f"{state.get('refused', 0)} refused with AudioError; "
        f"{len(findings)} finding(s) in {args.crashes} (log: {log}); exit {code}"
    )
    return 1 if findings or code else 0


if __name__ == "__main__":
    raise SystemExit(main())
