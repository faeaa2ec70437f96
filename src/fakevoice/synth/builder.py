"""Build the embedded benchmark: a contest-shaped data set from packaged voices and synthesisers.

Three stages, each deterministic given the seed:

1. **pool** - choose real utterances and synthesis requests for train and for evaluation
   (test + unlabeled), synthesise (cached), clean and store every voice segment.
2. **render** - every clip is drawn from its own generator ``rng(seed, split, index)``, so
   the result does not depend on the number of workers or the order they run in.
3. **write** - CSVs atomically, the audit, the data card, and ``.complete`` last.

Shortcuts are removed by construction: both classes draw language, band level, length,
loudness, crest factor, padding and noise floor from the same distributions; fakes speak
the texts the real speakers read; held-out generators and speakers appear only in evaluation.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import string
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from fakevoice.atomic import atomic_open, atomic_write_text
from fakevoice.audio import SAMPLE_RATE, load_audio, write_audio
from fakevoice.errors import FakevoiceError
from fakevoice.seeding import rng as derive_rng
from fakevoice.synth import segments as seg
from fakevoice.synth.scenes import (
    Loudness,
    PeakLimit,
    SceneConfig,
    active_rms,
    add_at_snr,
    average_spectrum,
    band_limit,
    coloured_noise,
    fade,
    match_brightness,
    render_scene,
    rolloff,
    room_bank,
    share_above_db,
    tuxpaint_effects,
)

SR = SAMPLE_RATE
MANIFEST = ".complete"
BUILDING = ".building"
FORMAT_VERSION = 1
DEFAULT_HELDOUT_GENERATORS = ("piper-vits", "hifigan-ljspeech", "griffinlim")
# Rough seconds of CPU per synthesis call, from the measurements in issue 4. Slow generators
# get proportionally smaller pools so every generator costs about the same to build.
GENERATOR_COST = {
    "hifigan-universal": 6.0,
    "hifigan-ljspeech": 6.0,
    "world-vc": 2.0,
    "griffinlim": 1.0,
}
# Chance of a vocoder resynthesis where a TTS engine could also speak the utterance.
RESYNTH_SHARE = 0.3
# Voices of one generator used per build: more would spread its clips too thin to concatenate.
MAX_VOICES = 3
# Shared target distribution of band levels (restricted per language to the levels both
# classes can reach); explicit quotas, because sources differ in native bandwidth.
BAND_WEIGHTS = {4000: 0.15, 8000: 0.35, 11025: 0.3, 16000: 0.2}
# English is a small part of the packaged speech, but it is the only language of five of
# the ten generators; it gets a third of the clips (of both classes) so they matter.
LANGUAGE_SHARE = {"en": 0.35}
# Spectral roll-off (85 % of the long-term power) drawn log-uniformly for both classes,
# at most ROLLOFF_BAND_SHARE of the clip's band limit.
TARGET_ROLLOFF = (700.0, 3000.0)
ROLLOFF_BAND_SHARE = 0.6
# Share of the long-term power above 4 kHz (dB), drawn around the value speech of that
# roll-off has (both classes pooled, tiny seeds 97-98: -16 dB at 1.5 kHz, +5 dB an octave):
# an independent draw asked for spectra no smooth filter reaches, and missed by source.
ABOVE_4K_AT_1500 = -16.0
ABOVE_4K_PER_OCTAVE = 5.0
ABOVE_4K_SPREAD = 4.0
# Share of evaluation fake voices drawn from held-out generators wherever one can serve.
HELDOUT_SHARE = 0.35
TEST_MIX = (0.10, 0.45, 0.45)  # share of scenes with 0, 1, 2 voices
TWO_VOICE_COMBOS = (("fake", "fake"), ("real", "real"), ("fake", "real"))


@dataclass(frozen=True)
class Size:
    train: int
    test: int
    unlabeled: int
    real_pool: tuple[int, int]  # segments for (train, evaluation)
    fake_pool: tuple[int, int]
    rooms: int


SIZES = {
    "tiny": Size(160, 100, 40, (120, 90), (120, 90), 4),
    "small": Size(4000, 2000, 500, (1500, 900), (900, 600), 16),
    "full": Size(55438, 50000, 1264, (8000, 5000), (8000, 5000), 48),
}


@dataclass(frozen=True)
class BuildOptions:
    out: Path
    size: str = "small"
    seed: int = 0
    heldout_generators: tuple[str, ...] | None = None  # None: the defaults that are available
    heldout_speakers: tuple[str, ...] | None = None  # None: chosen from the seed
    generators: tuple[str, ...] | None = None  # None: every available generator
    sources: tuple[str, ...] | None = None  # None: every real source
    workers: int = 2
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    force: bool = False
    progress: bool = True
    audit: bool = True

    def identity(self) -> dict[str, Any]:
        """What determines the content (not where or how fast it is built)."""
        return {
            "format": FORMAT_VERSION,
            "prep": seg.PREP_VERSION,
            "size": self.size,
            "seed": self.seed,
            "heldout_generators": self.heldout_generators,
            "heldout_speakers": self.heldout_speakers,
            "generators": self.generators,
            "sources": self.sources,
        }


def default_cache_dir() -> Path:
    env = os.environ.get("FAKEVOICE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "fakevoice" / "synth"


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, int]
    seconds: float
    audit: dict[str, Any] | None
    skipped: bool = False


# ----------------------------------------------------------------------------- output folder


OUR_FILES = (
    "train.csv",
    "test.csv",
    "sample_submission.csv",
    "test_answer.csv",
    "test_meta.csv",
    "unlabeled_answer.csv",
    "audit_features.csv",
    "datacard.md",
    "datacard.json",
    "spectrograms.png",
    BUILDING,
    MANIFEST,
)
OUR_DIRS = ("train", "test", "unlabeled_data")


def _prepare_out(opts: BuildOptions) -> bool:
    """Make ``opts.out`` ready. Returns False when an identical complete build is already there.

    A complete build with other options, or a folder of someone else's files, is refused
    without ``force``; an interrupted build with the same options is resumed.
    """
    out = opts.out
    ident = json.dumps(opts.identity(), sort_keys=True)
    if out.exists() and not out.is_dir():
        raise FakevoiceError(f"{out}: exists and is not a folder")
    marker, building = out / MANIFEST, out / BUILDING
    if out.is_dir() and not opts.force:
        if marker.exists():
            done = json.loads(marker.read_text())
            if json.dumps(done.get("options"), sort_keys=True) == ident:
                return False
            raise FakevoiceError(
                f"{out}: holds a complete build with other options (use --force to replace it)"
            )
        if building.exists():
            if building.read_text() != ident:
                raise FakevoiceError(
                    f"{out}: holds an interrupted build with other options "
                    "(use --force to replace it)"
                )
        elif any(out.iterdir()):
            raise FakevoiceError(
                f"{out}: folder is not empty and holds no fakevoice build (use --force)"
            )
    if opts.force and out.is_dir():
        for name in OUR_FILES:
            (out / name).unlink(missing_ok=True)
        for name in OUR_DIRS:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUR_DIRS:
        (out / name).mkdir(exist_ok=True)
    # .complete goes last and .building first, so a folder with .building and no .complete
    # is never mistaken for a finished data set.
    atomic_write_text(building, ident)
    return True


# ----------------------------------------------------------------------------- pool


def _choose_heldout_speakers(utts: Sequence[Any], seed: int) -> tuple[str, ...]:
    """About an eighth of the utterances, from speakers whose language keeps another speaker
    in train, and no speaker holding more than a tenth of all utterances."""
    count: dict[str, int] = defaultdict(int)
    lang_of: dict[str, str] = {}
    for u in utts:
        count[u.speaker] += 1
        lang_of[u.speaker] = u.language
    speakers_of: dict[str, set[str]] = defaultdict(set)
    for s, lang in lang_of.items():
        speakers_of[lang].add(s)
    total = sum(count.values())
    order = sorted(count)
    perm = derive_rng(seed, "heldout-speakers").permutation(len(order))
    chosen: list[str] = []
    got = 0
    for k in perm:
        s = order[k]
        lang = lang_of[s]
        left = speakers_of[lang] - set(chosen) - {s}
        if not left or count[s] > 0.1 * total or got + count[s] > 0.14 * total:
            continue
        chosen.append(s)
        got += count[s]
        if got >= 0.1 * total:
            break
    return tuple(sorted(chosen))


@dataclass
class Pool:
    segments: list[seg.Segment]
    train_generators: tuple[str, ...]
    eval_generators: tuple[str, ...]
    train_speakers: frozenset[str]
    heldout_speakers: tuple[str, ...]
    failures: dict[str, int]
    generator_info: dict[str, dict[str, Any]]


def _synth_modules() -> tuple[Any, Any]:
    from fakevoice.synth import engines, sources

    return engines, sources


def build_pool(opts: BuildOptions, size: Size, *, log: Callable[[str], None]) -> Pool:
    engines, sources = _synth_modules()
    utts = sources.real_utterances(list(opts.sources) if opts.sources else None)
    gens = engines.available(list(opts.generators) if opts.generators else None)
    if not gens:
        raise FakevoiceError("make-data: no speech generator is available (run `make setup`)")
    names = [g.name for g in gens]
    if opts.heldout_generators is None:
        held_g = tuple(g for g in DEFAULT_HELDOUT_GENERATORS if g in names)
    else:
        missing = [g for g in opts.heldout_generators if g not in names]
        if missing:
            raise FakevoiceError(
                f"make-data: held-out generator(s) not available: {', '.join(missing)}"
            )
        held_g = tuple(opts.heldout_generators)
    train_g = tuple(n for n in names if n not in held_g)
    if not train_g:
        raise FakevoiceError("make-data: every generator is held out; train would have no fakes")

    speakers = {u.speaker for u in utts}
    if opts.heldout_speakers is None:
        held_s = _choose_heldout_speakers(utts, opts.seed)
    else:
        unknown = [s for s in opts.heldout_speakers if s not in speakers]
        if unknown:
            raise FakevoiceError(f"make-data: unknown speaker(s): {', '.join(unknown)}")
        held_s = tuple(sorted(opts.heldout_speakers))
    held_set = set(held_s)

    # Seen speakers' utterances are split between train and evaluation, so test also holds
    # unseen utterances of seen speakers; held-out speakers are evaluation only.
    r = derive_rng(opts.seed, "utterance-split")
    flip = r.random(len(utts))
    split_utts: dict[str, list[Any]] = {"train": [], "eval": []}
    for u, f in zip(utts, flip, strict=True):
        split_utts["eval" if u.speaker in held_set or f < 0.3 else "train"].append(u)
    train_speakers = frozenset(u.speaker for u in split_utts["train"])

    by_gen = {g.name: g for g in gens}
    real_cache = opts.cache_dir / "segments"
    failures: dict[str, int] = defaultdict(int)
    plans = []
    for k, split in enumerate(("train", "eval")):
        pool = split_utts[split]
        if not pool:
            raise FakevoiceError(f"make-data: no real utterances left for {split}")
        r = derive_rng(opts.seed, "pool", split)
        n_real = min(size.real_pool[k], len(pool))
        p = _utterance_weights(pool)
        chosen = [pool[i] for i in sorted(r.choice(len(pool), n_real, replace=False, p=p))]
        split_gens = [by_gen[n] for n in (train_g if split == "train" else names)]
        requests, fields = _fake_requests(
            r, pool, p, split_gens, size.fake_pool[k], engines, boost=set(held_g)
        )
        plans.append((split, chosen, requests, fields))
    # All real voices first: their loaders are forks of this process, and running them while
    # the synthesis workers were alive took the small build's pool phase to 2.4 GB.
    real = {
        split: _real_segments(chosen, split, real_cache, opts, log) for split, chosen, *_ in plans
    }
    out_segments: list[seg.Segment] = []
    for split, _, requests, fields in plans:
        out_segments += real[split]
        out_segments += _fake_segments(requests, fields, split, real_cache, opts, failures, log)
    info = {
        g.name: {
            "family": g.family,
            "kind": g.kind,
            "package": g.package,
            "licence": g.licence,
            "heldout": g.name in held_g,
        }
        for g in gens
    }
    return Pool(
        segments=out_segments,
        train_generators=train_g,
        eval_generators=tuple(names),
        train_speakers=train_speakers,
        heldout_speakers=held_s,
        failures=dict(failures),
        generator_info=info,
    )


def _fields(klass, identity, source, generator, speaker, language, split) -> dict[str, str]:
    return {
        "klass": klass,
        "identity": f"{split}:{identity}",
        "source": source,
        "generator": generator,
        "speaker": speaker,
        "language": language,
    }


def _real_job(args: tuple[Any, str, dict[str, str], str]) -> seg.Segment | None:
    u, key, fields, cache = args
    _, sources = _synth_modules()
    hit = seg.cached(Path(cache), key, fields)
    if hit is not None:
        return hit
    try:
        x = sources.load_utterance(u, SR)
    except FakevoiceError:
        # a damaged file in a package (some klettres OGGs are truncated): skip, counted
        return None
    return seg.store(x, Path(cache), key, fields)


def _real_segments(chosen, split, cache, opts, log) -> list[seg.Segment]:
    _, sources = _synth_modules()
    jobs = [
        (
            u,
            seg.segment_key("real", u.uid, sources.MAX_UTTERANCE_SECONDS),
            _fields("real", u.speaker, u.source, "", u.speaker, u.language, split),
            str(cache),
        )
        for u in chosen
    ]
    log(f"{split}: loading {len(jobs)} real utterances")
    out = _map(_real_job, jobs, opts.workers, f"real voices ({split})", opts.progress)
    return [s for s in out if s is not None]


def _boost(languages: Sequence[str], counts: np.ndarray) -> np.ndarray:
    """Language shares: proportional to the real utterances, except that the languages of
    LANGUAGE_SHARE get that share (the same for both classes, so it is no cue)."""
    w = counts / counts.sum()
    fixed = {lang: LANGUAGE_SHARE[lang] for lang in languages if lang in LANGUAGE_SHARE}
    rest = 1.0 - sum(fixed.values())
    free = sum(w[i] for i, lang in enumerate(languages) if lang not in fixed)
    out = np.array(
        [fixed[lang] if lang in fixed else w[i] / free * rest for i, lang in enumerate(languages)]
    )
    return out / out.sum()


def _utterance_weights(pool: Sequence[Any]) -> np.ndarray:
    """Drawing weights that give each language its share of :func:`_boost`."""
    langs = sorted({u.language for u in pool})
    counts = np.array([sum(u.language == lang for u in pool) for lang in langs], dtype=float)
    share = dict(zip(langs, _boost(langs, counts), strict=True))
    per = dict(zip(langs, counts, strict=True))
    w = np.array([share[u.language] / per[u.language] for u in pool])
    return w / w.sum()


def _fake_requests(
    r, pool, p, gens, count, engines, boost: set[str] = frozenset()
) -> tuple[list[Any], list[dict[str, str]]]:
    """Synthesis requests whose texts (TTS) and source clips (resynthesis) are drawn from the
    same real utterances, so fakes say what the real speakers say, language for language.

    Generators in ``boost`` (the held-out ones) get twice the pool: a slow held-out vocoder
    would otherwise have too few voices to reach test often."""
    cap = {
        g.name: max(3, int(np.ceil(count / len(gens) / max(1.0, GENERATOR_COST.get(g.name, 0.0)))))
        * (2 if g.name in boost else 1)
        for g in gens
    }
    used: dict[str, int] = defaultdict(int)
    requests, fields = [], []
    attempts = 0
    while len(requests) < count and attempts < 20 * count:
        attempts += 1
        u = pool[int(r.choice(len(pool), p=p))]
        eligible = [
            g
            for g in gens
            if used[g.name] < cap[g.name]
            and (
                g.kind == "resynth"
                or (u.text and (g.languages is None or u.language in g.languages))
            )
        ]
        if not eligible:
            continue
        # Resynthesis can take any utterance, TTS only those with a text, so a uniform pick
        # lets vocoders crowd out TTS. Where both can serve, pick the family first.
        tts_ok = [g for g in eligible if g.kind != "resynth"]
        resynth_ok = [g for g in eligible if g.kind == "resynth"]
        if tts_ok and resynth_ok:
            eligible = resynth_ok if r.random() < RESYNTH_SHARE else tts_ok
        g = eligible[int(r.integers(len(eligible)))]
        voice = int(r.integers(min(MAX_VOICES, max(1, getattr(g, "voices", 1)))))
        used[g.name] += 1
        if g.kind == "resynth":
            req = engines.Request(generator=g.name, language=u.language, voice=voice, source=u)
            speaker = u.speaker
        else:
            req = engines.Request(generator=g.name, text=u.text, language=u.language, voice=voice)
            speaker = ""
        requests.append(req)
        # A fake voice is one generator voice in one language, and a resynthesised one also
        # keeps its source speaker, as a real voice is one speaker: a clip's segments come
        # from one identity, so without this a fake clip mixed languages (and people) that
        # no real clip mixes, and each voice was filed under its first segment's language.
        who = speaker or u.language
        fields.append(("fake", f"{g.name}#{voice}/{who}", u.source, g.name, speaker, u.language))
    return requests, fields


def _request_key(req: Any) -> str:
    src = req.source.uid if req.source is not None else ""
    return seg.segment_key("fake", req.generator, req.voice, req.language, req.text, src)


def _fake_segments(requests, fields, split, cache, opts, failures, log) -> list[seg.Segment]:
    engines, _ = _synth_modules()
    keys = [_request_key(q) for q in requests]
    full = [_fields(*f, split) for f in fields]
    done: dict[int, seg.Segment | None] = {}
    todo = []
    for i, (k, f) in enumerate(zip(keys, full, strict=True)):
        hit = seg.cached(cache, k, f)
        if hit is not None:
            done[i] = hit
        else:
            todo.append(i)
    log(f"{split}: {len(requests)} synthesised voices ({len(todo)} to make)")
    # Chunks keep memory flat for the full size: synthesize_many returns whole arrays.
    chunk = 400
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        audio = engines.synthesize_many(
            [requests[i] for i in part],
            opts.cache_dir,
            workers=opts.workers,
            progress=opts.progress,
        )
        for i, x in zip(part, audio, strict=True):
            s = seg.store(np.asarray(x, np.float32), cache, keys[i], full[i]) if len(x) else None
            if s is None:
                failures[requests[i].generator] += 1
            done[i] = s
    return [done[i] for i in range(len(requests)) if done[i] is not None]


@dataclass(frozen=True)
class _Failed:
    message: str


def _guarded(job: tuple[Callable[[Any], Any], Any]) -> Any:
    """Run one job in a worker, returning errors as values: an exception whose class cannot
    be rebuilt from its args (AudioError) would hang multiprocessing's result handler."""
    fn, arg = job
    try:
        return fn(arg)
    except Exception as exc:
        return _Failed(f"{type(exc).__name__}: {exc}")


def _one_thread() -> None:
    """Worker initialiser: the workers already fill the cores, so BLAS, OpenMP and torch
    threads inside each would only fight over them (measured: 1.4x slower rendering)."""
    import sys

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _map(fn, jobs: Sequence[Any], workers: int, desc: str, progress: bool) -> list[Any]:
    """Ordered map over worker processes (fork: they inherit the build context)."""
    bar = dict(desc=desc, total=len(jobs), disable=None if progress else True, unit="item")
    wrapped = [(fn, j) for j in jobs]
    if workers <= 1 or len(jobs) < 8:
        out = [_guarded(j) for j in tqdm(wrapped, **bar)]
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_one_thread) as p:
            out = list(tqdm(p.imap(_guarded, wrapped, chunksize=4), **bar))
    failed = [o for o in out if isinstance(o, _Failed)]
    if failed:
        raise FakevoiceError(f"{desc}: {len(failed)} item(s) failed, e.g. {failed[0].message}")
    return out


# ----------------------------------------------------------------------------- clip drawing


class VoiceTable:
    """Segments of one split indexed for drawing: language -> class -> level -> identities."""

    def __init__(
        self,
        segments: Iterable[seg.Segment],
        heldout: Iterable[str] = (),
        heldout_share: float = 0.0,
        resynth: Iterable[str] = (),
    ) -> None:
        self.heldout = frozenset(heldout)
        self.heldout_share = heldout_share
        self.resynth = frozenset(resynth)
        self.by_identity: dict[str, list[seg.Segment]] = defaultdict(list)
        for s in segments:
            self.by_identity[s.identity].append(s)
        for ident, v in self.by_identity.items():
            v.sort(key=lambda s: s.key)
            # A drawn voice concatenates its identity's segments and is filed under one
            # language: an identity speaking two would mix them inside a clip.
            if len({(s.language, s.speaker) for s in v}) > 1:
                raise FakevoiceError(f"make-data: voice {ident!r} mixes languages or speakers")
        # identities able to serve each (class, language, level), grouped by generator
        # (fakes) or source (real), so that a generator with many voices or languages is
        # not drawn more often than one with few
        self.index: dict[tuple[str, str, int], dict[str, list[str]]] = defaultdict(dict)
        for ident in sorted(self.by_identity):
            segs = self.by_identity[ident]
            first = segs[0]
            group = first.generator or first.source
            for level in seg.BAND_LEVELS:
                if any(s.level >= level for s in segs):
                    key = (first.klass, first.language, level)
                    self.index[key].setdefault(group, []).append(ident)
        self.languages: list[str] = []
        weights = []
        self.levels: dict[str, list[int]] = {}
        for lang in sorted({k[1] for k in self.index}):
            lv = [
                b
                for b in seg.BAND_LEVELS
                if self.index.get(("real", lang, b)) and self.index.get(("fake", lang, b))
            ]
            if not lv:
                continue
            self.languages.append(lang)
            self.levels[lang] = lv
            real = self.index[("real", lang, lv[0])]
            weights.append(sum(len(self.by_identity[i]) for ids in real.values() for i in ids))
        if not self.languages:
            raise FakevoiceError("make-data: no language has both real and fake voices")
        self.language_p = _boost(self.languages, np.asarray(weights, dtype=float))

    def draw(
        self, rng: np.random.Generator, klass: str, seconds: float
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """A voice of ``klass`` about ``seconds`` long: language and band level drawn from the
        distributions shared by both classes, then segments of one identity concatenated."""
        lang = self.languages[int(rng.choice(len(self.languages), p=self.language_p))]
        levels = self.levels[lang]
        w = np.array([BAND_WEIGHTS[b] for b in levels])
        level = levels[int(rng.choice(len(levels), p=w / w.sum()))]
        groups = self.index[(klass, lang, level)]
        names = sorted(groups)
        held = [g for g in names if g in self.heldout]
        if held and len(held) < len(names) and self.heldout_share > 0:
            # Held-out generators cover fewer languages and levels than the seen ones (three
            # speak English only), so a uniform pick gave them 6 % of test's fake voices.
            seen = [g for g in names if g not in self.heldout]
            names = held if rng.random() < self.heldout_share else seen
        res = [g for g in names if g in self.resynth]
        if res and len(res) < len(names):
            # Outside English only espeak-ng speaks a language that every vocoder can
            # resynthesise, so a uniform pick made 55 % of train's fakes resyntheses: the
            # family is drawn first, with the pool's share.
            tts_names = [g for g in names if g not in self.resynth]
            names = res if rng.random() < RESYNTH_SHARE else tts_names
        group = names[int(rng.integers(len(names)))]
        ident = groups[group][int(rng.integers(len(groups[group])))]
        segs = [s for s in self.by_identity[ident] if s.level >= level]
        n = int(seconds * SR)
        parts: list[np.ndarray] = []
        used: list[seg.Segment] = []
        got = 0
        order = rng.permutation(len(segs))
        k = 0
        while got < n:
            s = segs[int(order[k % len(order)])]
            k += 1
            x = s.load()
            if parts:
                gap = np.zeros(int(rng.uniform(0.08, 0.3) * SR), np.float32)
                parts.append(gap)
                got += len(gap)
            parts.append(x)
            used.append(s)
            got += len(x)
        x = np.concatenate(parts)[:n]
        # Sources differ in spectral balance: children's and telephone recordings are dark,
        # synthesisers and vocoders bright (tiny seed 97: roll-off 1.0 kHz real, 2.0 kHz fake,
        # AUC 0.72 alone), even after matching the 300 Hz - 4 kHz slope, because rumble and
        # the first harmonics hold most of the energy. Both classes are tilted to a roll-off
        # drawn from one distribution within the band the clip will keep.
        # With the roll-off matched, recordings kept 6 dB more energy above 4 kHz than
        # synthesisers (whose spectra fall faster above it): that share is drawn too.
        cutoff = None if level >= 16000 else float(level)
        lo, hi = TARGET_ROLLOFF
        hi = min(hi, ROLLOFF_BAND_SHARE * (cutoff or SR / 2))
        target = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        share = ABOVE_4K_AT_1500 + ABOVE_4K_PER_OCTAVE * np.log2(target / 1500.0)
        share = float(share + rng.uniform(-ABOVE_4K_SPREAD, ABOVE_4K_SPREAD))
        # measured after the band limit: the anti-alias filter's transition keeps less of
        # a dark source's top octave than of a bright one's
        x = match_brightness(band_limit(x, SR, cutoff), SR, target, share if level > 4000 else None)
        x = fade(x, SR)
        first = used[0]
        return x, {
            "class": klass,
            "source": first.source,
            "generator": first.generator,
            "speaker": first.speaker,
            "language": lang,
            "band": level,
            "segments": len(used),
        }


_LEVEL = Loudness(-30.0, -18.0)
_CREST = PeakLimit(9.0, 13.0)


def _level(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x, _ = _LEVEL(x, SR, rng)
    f, pxx = average_spectrum(x, SR)
    hf, before = share_above_db(f, pxx, 4000), rolloff(f, pxx)
    x, _ = _CREST(x, SR, rng)
    # Limiting turns the loud vowels down and leaves the quiet consonants, so it raises the
    # share of energy above 4 kHz and the roll-off, most on the peakiest voices: synthesisers
    # (6 dB above 4 kHz, against 1 dB on recordings; roll-off +240 Hz against +60 Hz on tiny
    # seed 97), which made brightness a class cue. Both are put back as they were.
    return match_brightness(x, SR, before, hf)


def render_train(
    table: VoiceTable, klass: str, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """One clean train clip: one voice, padded with silence, a noise floor, and on some clips
    a little microphone noise, all drawn the same way for both classes."""
    seconds = float(np.exp(rng.uniform(np.log(1.2), np.log(8.0))))
    x, info = table.draw(rng, klass, seconds)
    x = _level(x, rng)
    head = np.zeros(int(rng.uniform(0.05, 0.5) * SR), np.float32)
    tail = np.zeros(int(rng.uniform(0.05, 0.5) * SR), np.float32)
    y = np.concatenate([head, x, tail])
    ref = active_rms(x, SR)
    colour = ("white", "pink", "brown")[int(rng.integers(3))]
    # Real recordings carry room tone in their pauses and synthesisers exact zeros: a floor
    # on every clip, above the recordings' own, hides that difference (at 38-52 dB under the
    # voice the synthesisers' pauses still showed: silence fraction alone had AUC 0.57).
    y = add_at_snr(y, coloured_noise(rng, len(y), colour), float(rng.uniform(30, 45)), ref)
    if rng.random() < 0.3:
        y = add_at_snr(y, coloured_noise(rng, len(y), "pink"), float(rng.uniform(22, 35)), ref)
    return y.astype(np.float32), info


# ----------------------------------------------------------------------------- rendering


@dataclass
class _Context:
    opts: BuildOptions
    tables: dict[str, VoiceTable]
    effects: list[np.ndarray]
    rooms: list[dict[str, Any]]
    train_labels: list[str]
    test_combos: dict[str, list[tuple[str, ...]]]
    ids: dict[str, list[str]]
    train_generators: frozenset[str]
    train_speakers: frozenset[str]


_CTX: _Context | None = None


def _render_job(job: tuple[str, int]) -> dict[str, Any]:
    from fakevoice.synth.audit import clip_features

    assert _CTX is not None
    split, i = job
    ctx = _CTX
    r = derive_rng(ctx.opts.seed, split, i)
    cid = ctx.ids[split][i]
    folder = {"train": "train", "test": "test", "unlabeled": "unlabeled_data"}[split]
    path = ctx.opts.out / folder / f"{cid}.ogg"
    row: dict[str, Any] = {"split": split, "id": cid, "path": f"./{folder}/{cid}.ogg"}
    if split == "train":
        klass = ctx.train_labels[i]
        x, info = render_train(ctx.tables["train"], klass, r)
        row.update(label=klass, **{f"v1_{k}": v for k, v in info.items()})
    else:
        combo = ctx.test_combos[split][i]
        voices, infos = [], []
        for klass in combo:
            v, info = ctx.tables["eval"].draw(r, klass, float(r.uniform(1.0, 5.0)))
            voices.append(_level(v, r))
            infos.append(info)
        x, scene = render_scene(
            voices, r, SR, effects=ctx.effects, rooms=ctx.rooms, config=SceneConfig()
        )
        row.update(
            n_voices=len(combo),
            fake=int("fake" in combo),
            real=int("real" in combo),
        )
        for k, info in enumerate(infos):
            info = dict(info)
            info["offset"] = scene["offsets"][k]
            info["level_db"] = scene["levels_db"][k]
            info["seen_generator"] = (
                "" if not info["generator"] else int(info["generator"] in ctx.train_generators)
            )
            info["seen_speaker"] = (
                "" if not info["speaker"] else int(info["speaker"] in ctx.train_speakers)
            )
            row.update({f"v{k + 1}_{name}": val for name, val in info.items()})
        row.update(
            noise=scene["noise"],
            snr_db=scene["snr_db"],
            room_rt60=scene["room_rt60"],
            band_limit=scene["band_limit"],
            codec=scene["codec"],
            level_db=scene["level_db"],
        )
    if not path.exists():
        write_audio(path, x, SR)
    # features of the signal as written (clipped like write_audio); decoding the OGG again
    # would cost more than the rest and change them only by the codec's small error
    x = np.clip(x, -1.0, 1.0)
    row["seconds"] = round(len(x) / SR, 4)
    # the baseline uses train and test only; MFCCs cost as much as the rest of the features
    row["features"] = clip_features(x, SR, mfcc=split != "unlabeled")
    return row


def _ids(seed: int, counts: dict[str, int]) -> dict[str, list[str]]:
    r = derive_rng(seed, "ids")
    letters = np.array(list(string.ascii_uppercase))
    need = counts["train"] + counts["unlabeled"]
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < need:
        cand = "".join(letters[r.integers(0, 26, 8)])
        if cand not in seen:
            seen.add(cand)
            names.append(cand)
    return {
        "train": names[: counts["train"]],
        "unlabeled": names[counts["train"] :],
        "test": [f"TEST_{i:05d}" for i in range(counts["test"])],
    }


def _combos(seed: int, split: str, n: int) -> list[tuple[str, ...]]:
    """Exact quotas of 0/1/2-voice scenes and of class combinations, shuffled."""
    n0 = round(n * TEST_MIX[0])
    n1 = round(n * TEST_MIX[1])
    n2 = n - n0 - n1
    combos: list[tuple[str, ...]] = [()] * n0
    combos += [("fake",), ("real",)] * (n1 // 2) + [("fake",)] * (n1 % 2)
    combos += [TWO_VOICE_COMBOS[k % 3] for k in range(n2)]
    order = derive_rng(seed, "combos", split).permutation(n)
    return [combos[k] for k in order]


def _labels(seed: int, n: int) -> list[str]:
    labels = ["fake", "real"] * (n // 2) + ["fake"] * (n % 2)
    order = derive_rng(seed, "labels").permutation(n)
    return [labels[k] for k in order]


def _load_effects(log: Callable[[str], None]) -> list[np.ndarray]:
    paths = tuxpaint_effects()
    if not paths:
        raise FakevoiceError(
            "make-data: no Tux Paint sound effects found under /usr/share/tuxpaint/stamps "
            "(install the Debian package tuxpaint-stamps-default)"
        )
    log(f"noise: {len(paths)} sound effects")
    out = []
    for p in paths:
        x = load_audio(p, SR, warn_silent=False)
        if float(np.max(np.abs(x), initial=0.0)) > 1e-4:
            out.append(x)
    return out


def _rooms(opts: BuildOptions, count: int) -> list[dict[str, Any]]:
    """The room bank, cached on disk: the image method costs about a second a room."""
    path = opts.cache_dir / "rooms" / f"rooms-{opts.seed}-{count}.npz"
    if path.exists():
        try:
            z = np.load(path, allow_pickle=False)
            meta = json.loads(str(z["meta"]))
            return [
                {"rt60": m["rt60"], "dims": m["dims"], "rirs": [z[f"r{k}_0"], z[f"r{k}_1"]]}
                for k, m in enumerate(meta)
            ]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    rooms = room_bank(derive_rng(opts.seed, "rooms"), count, SR)
    arrays = {f"r{k}_{j}": r["rirs"][j] for k, r in enumerate(rooms) for j in range(2)}
    meta = json.dumps([{"rt60": r["rt60"], "dims": r["dims"]} for r in rooms])
    from fakevoice.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, meta=np.array(meta), **arrays)
    return rooms


# ----------------------------------------------------------------------------- build


def _check_names(opts: BuildOptions) -> None:
    """Refuse unknown generator names before anything is written."""
    engines, _ = _synth_modules()
    for what, names in (
        ("generator", opts.generators),
        ("held-out generator", opts.heldout_generators),
    ):
        unknown = [n for n in names or () if n not in engines.GENERATORS]
        if unknown:
            raise FakevoiceError(
                f"make-data: unknown {what}(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(engines.GENERATORS))}"
            )


def build(opts: BuildOptions, *, log: Callable[[str], None] = print) -> BuildResult:
    global _CTX
    if opts.size not in SIZES:
        raise FakevoiceError(f"make-data: unknown size {opts.size!r} (tiny, small or full)")
    if opts.workers < 1:
        raise FakevoiceError("make-data: --workers must be at least 1")
    t0 = time.perf_counter()
    size = SIZES[opts.size]
    counts = {"train": size.train, "test": size.test, "unlabeled": size.unlabeled}
    _check_names(opts)
    if not _prepare_out(opts):
        log(f"{opts.out}: already built with these options (use --force to rebuild)")
        manifest = json.loads((opts.out / MANIFEST).read_text())
        return BuildResult(opts.out, manifest["counts"], 0.0, manifest.get("audit"), True)
    opts.cache_dir.mkdir(parents=True, exist_ok=True)

    effects = _load_effects(log)
    pool = build_pool(opts, size, log=log)
    # The synthesis workers hold torch, the vocoders and piper; rendering needs none of them.
    _synth_modules()[0].shutdown_workers()
    t_pool = time.perf_counter() - t0
    log(f"pool: {len(pool.segments)} voice segments in {t_pool:.0f} s")
    resynth = {g for g, info in pool.generator_info.items() if info["kind"] == "resynth"}
    tables = {
        "train": VoiceTable(
            [s for s in pool.segments if s.identity.startswith("train:")], resynth=resynth
        ),
        "eval": VoiceTable(
            [s for s in pool.segments if s.identity.startswith("eval:")],
            heldout=set(pool.eval_generators) - set(pool.train_generators),
            heldout_share=HELDOUT_SHARE,
            resynth=resynth,
        ),
    }
    rooms = _rooms(opts, size.rooms)
    _CTX = _Context(
        opts=opts,
        tables=tables,
        effects=effects,
        rooms=rooms,
        train_labels=_labels(opts.seed, counts["train"]),
        test_combos={s: _combos(opts.seed, s, counts[s]) for s in ("test", "unlabeled")},
        ids=_ids(opts.seed, counts),
        train_generators=frozenset(pool.train_generators),
        train_speakers=pool.train_speakers,
    )
    try:
        jobs = [
            (split, i) for split in ("train", "test", "unlabeled") for i in range(counts[split])
        ]
        rows = _map(_render_job, jobs, opts.workers, "rendering clips", opts.progress)
    finally:
        _CTX = None
    t_render = time.perf_counter() - t0 - t_pool
    log(f"rendered {len(rows)} clips in {t_render:.0f} s")

    frames = _write_tables(opts.out, rows)
    from fakevoice.synth import audit as audit_mod
    from fakevoice.synth import datacard

    report = audit_mod.run_audit(rows, frames, seed=opts.seed) if opts.audit else None
    elapsed = time.perf_counter() - t0
    timing = {"pool_seconds": round(t_pool, 1), "render_seconds": round(t_render, 1)}
    timing["total_seconds"] = round(elapsed, 1)
    datacard.write(opts, pool, rows, frames, report, timing)
    if report is not None and not report["passed"]:
        raise FakevoiceError(
            f"make-data: audit failed: nuisance features tell real from fake with AUC "
            f"{report['nuisance_auc']:.3f} (95% interval {report['nuisance_auc_ci'][0]:.3f}-"
            f"{report['nuisance_auc_ci'][1]:.3f}, above {audit_mod.MAX_NUISANCE_AUC}) "
            f"(see {opts.out / 'datacard.md'}); the data set is not marked complete"
        )
    manifest = {"options": opts.identity(), "counts": counts, "audit": report, **timing}
    atomic_write_text(opts.out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    (opts.out / BUILDING).unlink(missing_ok=True)
    return BuildResult(opts.out, counts, elapsed, report)


def _csv(path: Path, df: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        df.to_csv(fh, index=False, lineterminator="\n")


INT_FIELDS = ("band", "segments", "seen_generator", "seen_speaker")


def _write_tables(out: Path, rows: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    train = pd.DataFrame([r for r in rows if r["split"] == "train"])
    test = pd.DataFrame([r for r in rows if r["split"] == "test"])
    unl = pd.DataFrame([r for r in rows if r["split"] == "unlabeled"])
    _csv(out / "train.csv", train[["id", "path", "label"]])
    _csv(out / "test.csv", test[["id", "path"]])
    sub = test[["id"]].assign(fake=0, real=0)
    _csv(out / "sample_submission.csv", sub)
    _csv(out / "test_answer.csv", test[["id", "fake", "real"]])
    meta = test[[c for c in test.columns if c not in ("split", "path", "features")]].copy()
    for c in meta.columns:
        if c == "band_limit" or c.split("_", 1)[-1] in INT_FIELDS:
            meta[c] = pd.to_numeric(meta[c], errors="coerce").astype("Int64")
    _csv(out / "test_meta.csv", meta)
    # the audit's inputs, so anyone can check or extend it
    feats = pd.DataFrame(
        [
            {"split": r["split"], "id": r["id"], "label": r.get("label", ""),
             "fake": r.get("fake", ""), "real": r.get("real", ""),
             "generator": r.get("v1_generator", "") if r["split"] == "train" else "",
             **{k: round(float(v), 6) for k, v in r["features"].items() if k != "mfcc"}}
            for r in rows
        ]
    )  # fmt: skip
    _csv(out / "audit_features.csv", feats)
    _csv(out / "unlabeled_answer.csv", unl[["id", "fake", "real"]])
    return {"train": train, "test": test, "unlabeled": unl}


def options_dict(opts: BuildOptions) -> dict[str, Any]:
    d = asdict(replace(opts))
    d["out"] = str(opts.out)
    d["cache_dir"] = str(opts.cache_dir)
    return d
