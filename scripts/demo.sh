#!/usr/bin/env bash
# The main job on the embedded benchmark: build data, train the default model (the
# detector), predict, score, report, then the side-by-side leaderboard, which scores the
# run just trained instead of training it again. Every step resumes or reuses what a
# previous run finished, so running it again is cheap.
set -euo pipefail
DATA=${1:-data/small}; RUN=${2:-runs/demo}; SIZE=${3:-small}; SEED=${4:-0}
fakevoice make-data "$DATA" --size "$SIZE" --seed "$SEED"
fakevoice train "$DATA" --out "$RUN" --seed "$SEED" --resume
fakevoice predict "$RUN" "$DATA" --out "$RUN/submission.csv"
fakevoice score "$DATA/test_answer.csv" "$RUN/submission.csv"
fakevoice report "$RUN" "$DATA" --out "$RUN/report"
fakevoice compare "$DATA" --out "$RUN/compare" --seed "$SEED" --run "detector=$RUN"
echo "demo: report in $RUN/report/report.html, leaderboard in $RUN/compare/leaderboard.md"
