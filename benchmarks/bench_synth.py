"""Speed of every fake-voice generator: seconds per call and real-time factor.

    python benchmarks/bench_synth.py [--n 4] [--generators espeak-ng,piper-vits] [--workers 2]

Each generator synthesises ``n`` English utterances (the real speakers' texts for TTS, the
real clips themselves for resynthesis) in this process, one batch, after one warm-up call
that loads models and libraries (reported separately). The real-time factor is compute
seconds per second of speech produced: below 1 is faster than real time. With
``--workers`` above 1 the same requests also go through ``synthesize_many`` with a cold
cache, to show what the process pool gives on this machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fakevoice.audio import SAMPLE_RATE
from fakevoice.seeding import derive_seed
from fakevoice.synth.engines import GENERATORS, Request, available, run_task, synthesize_many
from fakevoice.synth.sources import real_utterances


def pick_utterances(n: int) -> list:
    """English clips with a text, 1-8 s long, spread over speakers, chosen deterministically."""
    import soundfile as sf

    # Sentences first: descriptions and read speech, then prompts, words and letters.
    order = {"tuxpaint": 0, "pocketsphinx": 1, "asterisk": 2, "ktuberling": 3, "klettres": 4}
    ranked = sorted(real_utterances(), key=lambda u: (order.get(u.source, 9), u.uid))
    chosen, seen = [], set()
    for u in ranked:
        if u.language != "en" or not u.text or u.path.suffix == ".raw":
            continue
        info = sf.info(str(u.path))
        if not 1.0 <= info.frames / info.samplerate <= 8.0 or u.speaker in seen:
            continue
        chosen.append(u)
        seen.add(u.speaker)
        if len(chosen) == n:
            break
    for u in ranked:  # fewer speakers than n: fill with more clips
        if len(chosen) >= n:
            break
        if u.language == "en" and u.text and u not in chosen and u.path.suffix != ".raw":
            chosen.append(u)
    return chosen


def requests_for(name: str, utts: list) -> list[Request]:
    gen = GENERATORS[name]
    if gen.kind == "resynth":
        return [Request(name, voice=i, source=u) for i, u in enumerate(utts)]
    return [Request(name, text=u.text, language="en", voice=i) for i, u in enumerate(utts)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4, help="utterances per generator")
    ap.add_argument("--generators", default="", help="comma-separated names (default: all)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    names = [n for n in args.generators.split(",") if n] or [g.name for g in available()]
    available(names)
    utts = pick_utterances(args.n)
    print(f"{len(utts)} utterances: {', '.join(u.uid for u in utts)}")
    print(f"{'generator':20s} {'warm-up s':>9s} {'s/call':>8s} {'speech s':>9s} {'RTF':>6s}")
    all_reqs = []
    for name in names:
        reqs = requests_for(name, utts)
        all_reqs += reqs
        seeds = [derive_seed(0, "bench", i) for i in range(len(reqs))]
        t0 = time.perf_counter()
        run_task(name, reqs[:1], seeds[:1])
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        outs = run_task(name, reqs, seeds)
        spent = time.perf_counter() - t0
        speech = sum(len(x) for x in outs if x is not None) / SAMPLE_RATE
        failed = sum(x is None for x in outs)
        note = f"  ({failed} failed)" if failed else ""
        print(
            f"{name:20s} {warm:9.2f} {spent / len(reqs):8.3f} {speech / len(reqs):9.2f} "
            f"{spent / max(speech, 1e-9):6.3f}{note}"
        )
    if args.workers > 1:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            synthesize_many(all_reqs, Path(cache), workers=args.workers, progress=False)
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            synthesize_many(all_reqs, Path(cache), workers=args.workers, progress=False)
            warm = time.perf_counter() - t0
        print(
            f"synthesize_many, {len(all_reqs)} requests, {args.workers} workers: "
            f"cold cache {cold:.1f} s, warm cache {warm:.2f} s"
        )


if __name__ == "__main__":
    main()
