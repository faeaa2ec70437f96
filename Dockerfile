# fakevoice's CLI and HTTP service on CPU.
#   docker build -t fakevoice .
#   docker run --rm -v "$PWD/runs/demo:/model:ro" -v "$PWD/clips:/data:ro" fakevoice \
#       predict /model /data --out /dev/stdout
#   docker run --rm -p 8000:8000 -v "$PWD/runs/demo:/model:ro" fakevoice \
#       serve /model --host 0.0.0.0 --port 8000
# Building the embedded benchmark (make-data) needs the Debian speech packages of
# scripts/system-packages.txt and is left out of this image: it scores and serves.
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
# pip's default index serves torch with CUDA; point this at PyTorch's CPU wheel index
# (--build-arg TORCH_INDEX=...) for an image a few GB smaller.
ARG TORCH_INDEX=""

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsndfile1 \
 && rm -rf /var/lib/apt/lists/*
RUN pip install ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} "torch==${TORCH_VERSION}"

WORKDIR /opt/fakevoice
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[serve]" && fakevoice --version

RUN useradd --create-home --uid 1000 fakevoice
USER fakevoice
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
ENTRYPOINT ["fakevoice"]
CMD ["--help"]
