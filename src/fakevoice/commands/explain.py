"""Explain one audio file: why the model called it fake or real.

    fakevoice explain RUN AUDIO [--window 2] [--hop 0.5] [--png OUT.png] [--json OUT.json]

Prints the clip-level probabilities (what predict writes for the file) and a timeline of
fake/real probabilities over sliding windows, each marked fake, real, fake+real, no voice
or uncertain (within --uncertain of 0.5). --png draws the spectrogram (first 30 s) with
an integrated-gradients saliency map over the decisive 5 s window (which time-frequency
regions drove p(fake)) and the timeline under it; --json writes every number.
"""

from __future__ import annotations

import argparse
import json

from fakevoice.atomic import atomic_write_text

NAME = "explain"
HELP = "explain one audio file: clip probabilities, timeline, saliency picture"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a trained run directory")
    p.add_argument("audio", help="an audio file of any length")
    p.add_argument("--window", type=float, default=2.0, help="window seconds (0.5 to a clip)")
    p.add_argument("--hop", type=float, default=None, help="hop seconds (default window / 4)")
    p.add_argument("--uncertain", type=float, default=0.15,
                   help="half-width of the uncertain band around 0.5 (default 0.15)")  # fmt: skip
    p.add_argument("--png", default=None, help="write the picture here")
    p.add_argument("--json", default=None, help="write every number here as JSON")


def run(args: argparse.Namespace) -> int:
    from fakevoice.explain import explain, picture

    ex = explain(args.run, args.audio, window=args.window, hop=args.hop, uncertain=args.uncertain)
    print(f"{ex.file}: fake {ex.fake:.4f}  real {ex.real:.4f}  ({ex.seconds:.2f} s)")
    for r in ex.timeline:
        print(f"  {r['start']:8.2f}-{r['end']:8.2f} s  fake {r['fake']:.3f}  "
              f"real {r['real']:.3f}  {r['label']}")  # fmt: skip
    if args.json:
        atomic_write_text(args.json, json.dumps(ex.as_dict(), indent=1))
        print(f"wrote {args.json}")
    if args.png:
        picture(ex, args.png)
        print(f"wrote {args.png}")
    return 0
