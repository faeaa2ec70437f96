#!/usr/bin/env bash
# The adaptation ablation (issue 14): the detector without adaptation and with each of
# AdaBN, self-training and the domain-adversarial loss, trained on one data folder, then
# scored side by side with the eight seed approaches in one compare run.
#   bash benchmarks/adaptation.sh [DATA] [OUT] [SEED]
set -euo pipefail
DATA=${1:-data/small}; OUT=${2:-runs/adaptation}; SEED=${3:-0}
runs=()
for variant in none adabn selftrain dann; do
  sets=()
  [ "$variant" != none ] && sets=(--set "adapt=$variant")
  fakevoice train "$DATA" --out "$OUT/$variant" --seed "$SEED" --resume "${sets[@]}"
  # the run without adaptation stands in the detector's row, so compare does not retrain it
  name=detector; [ "$variant" != none ] && name="detector-$variant"
  runs+=(--run "$name=$OUT/$variant")
done
fakevoice compare "$DATA" --out "$OUT/compare" --seed "$SEED" "${runs[@]}"
