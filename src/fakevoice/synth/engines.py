"""Running the fake-voice generators (:mod:`fakevoice.synth.generators`): the cached,
parallel ``synthesize_many``.

Every output is float32 mono at 32 kHz, trimmed of leading and trailing silence by the
same rule as the real clips (:func:`fakevoice.synth.sources.trim_silence`), and never
loudness-normalised.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from fakevoice.audio import SAMPLE_RATE, resample
from fakevoice.errors import FakevoiceError
from fakevoice.progress import progress as show_progress
from fakevoice.seeding import derive_seed
from fakevoice.synth import kokoro, resynth, tts
from fakevoice.synth.cache import SynthCache
from fakevoice.synth.generators import (
    GENERATORS,
    Generator,
    Request,
    available,
    request_key,
)
from fakevoice.synth.sources import (
    SourceMissingError,
    load_utterance,
    trim_silence,
)

__all__ = [
    "GENERATORS",
    "Generator",
    "Request",
    "SourceMissingError",
    "available",
    "request_key",
    "run_task",
    "shutdown_workers",
    "synthesize_many",
]
log = logging.getLogger(__name__)
# Below this peak an output is taken as a failed synthesis rather than speech.
MIN_PEAK = 1e-4

# ----------------------------------------------------------------------------- running


def _postprocess(audio: tuple[np.ndarray, int] | None) -> np.ndarray | None:
    if audio is None:
        return None
    x, sr = audio
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if x.size == 0 or not np.isfinite(x).all():
        return None
    x = trim_silence(resample(x, sr, SAMPLE_RATE), SAMPLE_RATE)
    if x.size == 0 or float(np.max(np.abs(x))) < MIN_PEAK:
        return None
    return np.ascontiguousarray(x, dtype=np.float32)


def _resynth_one(gen: Generator, req: Request, seed: int) -> tuple[np.ndarray, int] | None:
    assert req.source is not None
    rate = 22_050 if gen.family == "hifigan" else SAMPLE_RATE
    x = load_utterance(req.source, rate, trim=True)
    if x.size == 0:
        return None
    if gen.family == "world":
        return resynth.world_convert(x, rate, req.voice)
    if gen.family == "griffinlim":
        return resynth.griffinlim(x, rate, req.voice, seed)
    return resynth.hifigan_copy_synthesis(x, rate, gen.name.split("-", 1)[1])


_TTS_BATCH: dict[str, Callable[[list[tts.TextJob]], list]] = {
    "espeak-ng": tts.espeak_batch,
    "flite-kal": lambda jobs: tts.flite_batch(jobs, tts.FLITE_KAL_VARIANTS),
    "flite-cmu": lambda jobs: tts.flite_batch(jobs, tts.FLITE_CMU_VARIANTS),
    "festival-diphone": lambda jobs: tts.festival_batch(jobs, tts.FESTIVAL_DIPHONE_VARIANTS),
    "festival-hts": lambda jobs: tts.festival_batch(jobs, tts.FESTIVAL_HTS_VARIANTS),
    "piper-vits": tts.piper_batch,
    "kokoro": kokoro.kokoro_batch,
    "hibari": kokoro.hibari_batch,
    "rhvoice": tts.rhvoice_batch,
    "mbrola": tts.mbrola_batch,
    "pico": tts.pico_batch,
}


def run_task(name: str, reqs: list[Request], seeds: list[int]) -> list[np.ndarray | None]:
    """Synthesise one batch of one generator (in a worker process or in this one)."""
    gen = GENERATORS[name]
    _keep_models_of(name)
    if gen.kind == "tts":
        jobs = [
            tts.TextJob(r.text, r.language, r.voice, s) for r, s in zip(reqs, seeds, strict=True)
        ]
        raw = _TTS_BATCH[name](jobs)
    else:
        raw = []
        for r, s in zip(reqs, seeds, strict=True):
            try:
                raw.append(_resynth_one(gen, r, s))
            except FakevoiceError as exc:  # unreadable source clip: this request only
                log.warning("%s failed on %s: %s", name, r.source.uid if r.source else "?", exc)
                raw.append(None)
    out = [_postprocess(a) for a in raw]
    _give_back_memory()
    return out


_HEAVY: dict[str, Callable[[], None]] = {
    "piper-vits": tts.drop_piper,
    "kokoro": kokoro.drop_kokoro,
    "hifigan-universal": functools.partial(resynth.drop_hifigan, "universal"),
    "hifigan-ljspeech": functools.partial(resynth.drop_hifigan, "ljspeech"),
}


def _keep_models_of(name: str) -> None:
    """Drop the loaded models (piper, HiFi-GAN: 60-300 MB each) of other generators. Tasks
    come sorted by generator, so a worker reloads a model only where its share of one
    generator's tasks ends, and holds one model at a time instead of all three."""
    for other, drop in _HEAVY.items():
        if other != name:
            drop()


def _give_back_memory() -> None:
    """Return freed heap to the system: glibc keeps what a vocoder's scratch buffers freed,
    and two long-lived workers held 120 MB each of it (measured). No-op off glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# Requests per task: large enough to amortise a process start (festival) or model load
# (piper, HiFi-GAN), small enough to keep both workers busy to the end.
_CHUNK = {"espeak-ng": 16, "flite-kal": 8, "flite-cmu": 8, "festival-diphone": 24,
          "festival-hts": 24, "piper-vits": 6, "hifigan-universal": 2, "hifigan-ljspeech": 2,
          "world-vc": 3, "griffinlim": 6, "kokoro": 4, "hibari": 16, "rhvoice": 16,
          "mbrola": 16, "pico": 16}  # fmt: skip
# Slow generators go first so the quick ones fill the gaps at the end.
_COST = {"hifigan-universal": 0, "hifigan-ljspeech": 0, "kokoro": 0, "world-vc": 1,
         "piper-vits": 2, "griffinlim": 3, "festival-hts": 4, "festival-diphone": 5}  # fmt: skip


_POOL: dict[int, ProcessPoolExecutor] = {}


def _worker_pool(workers: int) -> ProcessPoolExecutor:
    """One pool kept for the life of the process, so models loaded in the workers (piper,
    HiFi-GAN) and their start-up are paid once, not on every call of a chunked build."""
    if workers not in _POOL:
        shutdown_workers()
        # spawn, not fork: a forked child inherits torch/OpenMP thread state and can hang.
        ctx = multiprocessing.get_context("spawn")
        _POOL[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    return _POOL[workers]


def shutdown_workers() -> None:
    """Stop the synthesis worker processes (they also stop when this process exits)."""
    while _POOL:
        _, pool = _POOL.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def _validate(req: Request) -> None:
    gen = GENERATORS[req.generator]
    if gen.kind == "resynth":
        if req.source is None:
            raise FakevoiceError(f"generator '{gen.name}' resynthesises real speech: give a source")
    elif gen.languages is not None and req.language not in gen.languages:
        raise FakevoiceError(
            f"generator '{gen.name}' does not speak language '{req.language}' "
            f"(it speaks {', '.join(gen.languages)})"
        )


def synthesize_many(
    requests: Sequence[Request],
    cache_dir: Path,
    *,
    workers: int = 2,
    progress: bool = True,
) -> list[np.ndarray]:
    """Audio for every request, in order: float32 mono at 32 kHz, empty where synthesis failed.

    Results are cached in ``cache_dir`` keyed by generator, voice, language, text or source
    and engine version; identical requests are computed once; the same request always gives
    the same samples. Work runs in ``workers`` processes.
    """
    names = list(dict.fromkeys(r.generator for r in requests))
    available(names)
    for r in requests:
        _validate(r)
    cache = SynthCache(cache_dir)
    keys = [request_key(r) for r in requests]
    results: dict[str, np.ndarray] = {}
    todo: dict[str, Request] = {}
    for key, req in zip(keys, requests, strict=True):
        if key in results or key in todo:
            continue
        hit = cache.get(req.generator, key)
        if hit is not None:
            results[key] = hit
        else:
            todo[key] = req

    tasks: list[tuple[str, list[str]]] = []
    by_gen: dict[str, list[str]] = {}
    for key, req in todo.items():
        by_gen.setdefault(req.generator, []).append(key)
    for name in sorted(by_gen, key=lambda n: (_COST.get(n, 9), n)):
        group = by_gen[name]
        size = _CHUNK.get(name, 8)
        tasks.extend((name, group[i : i + size]) for i in range(0, len(group), size))

    failed: set[str] = set()

    def collect(name: str, task_keys: list[str], outs: list[np.ndarray | None]) -> None:
        for k, x in zip(task_keys, outs, strict=True):
            if x is None:
                req = todo[k]
                what = req.source.uid if req.source is not None else repr(req.text[:60])
                log.warning("%s (voice %d) produced no audio for %s", name, req.voice, what)
                failed.add(k)
                results[k] = np.zeros(0, dtype=np.float32)
            else:
                cache.put(name, k, x)
                results[k] = x

    def args(name: str, task_keys: list[str]) -> tuple[str, list[Request], list[int]]:
        return name, [todo[k] for k in task_keys], [derive_seed(0, "synth", k) for k in task_keys]

    bar = show_progress(total=len(todo), desc="synthesis", unit="voice", enabled=progress)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for name, task_keys in tasks:
                collect(name, task_keys, run_task(*args(name, task_keys)))
                bar.update(len(task_keys))
        else:
            pool = _worker_pool(workers)
            futures = {pool.submit(run_task, *args(n, ks)): (n, ks) for n, ks in tasks}
            try:
                for fut in as_completed(futures):
                    name, task_keys = futures[fut]
                    collect(name, task_keys, fut.result())
                    bar.update(len(task_keys))
            except BrokenProcessPool as exc:
                shutdown_workers()
                raise FakevoiceError(
                    f"{cache_dir}: a synthesis worker died (out of memory or an engine crash); "
                    "finished voices are cached, run again to resume"
                ) from exc
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        bar.close()
    if failed:
        log.warning("%d of %d syntheses failed and are returned empty", len(failed), len(todo))
    return [results[k].copy() for k in keys]
