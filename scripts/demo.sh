#!/usr/bin/env bash
# The main job on the embedded benchmark: build data, train, predict, score, report.
# Runs the steps whose verbs exist, so it stays useful while the project grows.
set -euo pipefail
DATA=${1:-data/small}; RUN=${2:-runs/demo}; SIZE=${3:-small}; SEED=${4:-0}
have() { fakevoice --help | grep -qE "^\s+$1\s"; }
if have make-data; then
  fakevoice make-data "$DATA" --size "$SIZE" --seed "$SEED"
fi
if have train && [ -f "$DATA/train.csv" ]; then
  fakevoice train "$DATA" --out "$RUN" --seed "$SEED" --resume
  fakevoice predict "$RUN" "$DATA" --out "$RUN/submission.csv"
fi
if [ -f "$DATA/test_answer.csv" ] && [ -f "$RUN/submission.csv" ]; then
  fakevoice score "$DATA/test_answer.csv" "$RUN/submission.csv"
fi
if [ -f "$DATA/test_answer.csv" ] && [ -f "$RUN/submission.csv" ]; then
  fakevoice report "$DATA/test_answer.csv" "$RUN/submission.csv" --out "$RUN/report"
fi
if have compare && [ -f "$DATA/train.csv" ]; then
  fakevoice compare "$DATA" --out "$RUN/compare" --seed "$SEED"
fi
