"""The benchmark's voice pool: which real utterances and synthesis requests serve train and
evaluation, held-out generators and speakers, and the cached voice segments they give."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.audio import SAMPLE_RATE as SR
from fakevoice.errors import FakevoiceError
from fakevoice.seeding import rng as derive_rng
from fakevoice.synth import segments as seg
from fakevoice.synth.options import BuildOptions, Size
from fakevoice.synth.workers import parallel_map

DEFAULT_HELDOUT_GENERATORS = ("kokoro", "hifigan-ljspeech", "griffinlim")


# Rough seconds of CPU per synthesis call, from the measurements in issue 4. Slow generators
# get proportionally smaller pools so every generator costs about the same to build.
GENERATOR_COST = {
    "hifigan-universal": 6.0,
    "hifigan-ljspeech": 6.0,
    "world-vc": 2.0,
    "griffinlim": 1.0,
    "kokoro": 3.0,
}


# Chance of a vocoder resynthesis where a TTS engine could also speak the utterance.
RESYNTH_SHARE = 0.3


# Voices of one generator used per build: more would spread its clips too thin to concatenate.
MAX_VOICES = 3


# English is a small part of the packaged speech, but it is the only language of ten of
# the fifteen generators; it gets a third of the clips (of both classes) so they matter.
LANGUAGE_SHARE = {"en": 0.35}


def choose_heldout_speakers(utts: Sequence[Any], seed: int) -> tuple[str, ...]:
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


def synth_modules() -> tuple[Any, Any]:
    from fakevoice.synth import engines, sources

    return engines, sources


def build_pool(opts: BuildOptions, size: Size, *, log: Callable[[str], None]) -> Pool:
    engines, sources = synth_modules()
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
        held_s = choose_heldout_speakers(utts, opts.seed)
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
        p = utterance_weights(pool)
        chosen = [pool[i] for i in sorted(r.choice(len(pool), n_real, replace=False, p=p))]
        split_gens = [by_gen[n] for n in (train_g if split == "train" else names)]
        requests, fields = fake_requests(
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
    _, sources = synth_modules()
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
    _, sources = synth_modules()
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
    out = parallel_map(_real_job, jobs, opts.workers, f"real voices ({split})", opts.progress)
    return [s for s in out if s is not None]


def language_shares(languages: Sequence[str], counts: np.ndarray) -> np.ndarray:
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


def utterance_weights(pool: Sequence[Any]) -> np.ndarray:
    """Drawing weights that give each language its share of :func:`language_shares`."""
    langs = sorted({u.language for u in pool})
    counts = np.array([sum(u.language == lang for u in pool) for lang in langs], dtype=float)
    share = dict(zip(langs, language_shares(langs, counts), strict=True))
    per = dict(zip(langs, counts, strict=True))
    w = np.array([share[u.language] / per[u.language] for u in pool])
    return w / w.sum()


def fake_requests(
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
    engines, _ = synth_modules()
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
