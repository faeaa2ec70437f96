#!/usr/bin/env bash
# Build the image and check that it runs the CLI and serves a run; time the build.
#   bash benchmarks/docker_build.sh [RUN]   (RUN: a trained run to serve, e.g. runs/demo)
# Where no Docker engine answers (`docker info` fails), says so and exits 0 (skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "skipped: no Docker engine here (docker info failed); the image was not built"
  exit 0
fi
tag=${FAKEVOICE_IMAGE:-fakevoice:bench}
start=$(date +%s)
docker build ${TORCH_INDEX:+--build-arg TORCH_INDEX="$TORCH_INDEX"} -t "$tag" .
echo "built $tag in $(( $(date +%s) - start )) s; size $(docker image inspect -f '{{.Size}}' "$tag") bytes"
docker run --rm "$tag" --version
if [ $# -ge 1 ]; then
  run=$(cd "$1" && pwd)
  cid=$(docker run -d --rm -p 127.0.0.1:18080:8000 -v "$run:/model:ro" "$tag" serve /model --host 0.0.0.0 --port 8000)
  trap 'docker stop "$cid" >/dev/null' EXIT
  for _ in $(seq 60); do
    curl -fsS http://127.0.0.1:18080/healthz && break
    sleep 1
  done
  echo
  echo "the image serves $1"
fi
