"""Build the embedded benchmark: a contest-shaped data set from installable packages only.

    fakevoice make-data OUT --size tiny|small|full --seed N

Writes the contest layout (train.csv, test.csv, sample_submission.csv, train/, test/,
unlabeled_data/) plus test_answer.csv, test_meta.csv, unlabeled_answer.csv and a data card.
Re-running an interrupted build resumes it; a finished one is left alone unless --force.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fakevoice.synth.build import build
from fakevoice.synth.options import SIZES, BuildOptions, default_cache_dir
from fakevoice.synth.pool import DEFAULT_HELDOUT_GENERATORS

NAME = "make-data"
HELP = "build the embedded benchmark (contest layout, answers and data card)"


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(n.strip() for n in text.split(",") if n.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="output folder")
    p.add_argument("--size", choices=sorted(SIZES), default="small", help="default: small")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument(
        "--heldout-generators",
        default=None,
        help="comma-separated generators seen only in test/unlabeled "
        f"(default: {','.join(DEFAULT_HELDOUT_GENERATORS)}; '' for none)",
    )
    p.add_argument(
        "--heldout-speakers",
        default=None,
        help="comma-separated real speakers seen only in test/unlabeled, e.g. tuxpaint/fr "
        "(default: about a tenth of the utterances, chosen from the seed; '' for none)",
    )
    p.add_argument("--generators", default=None, help="comma-separated generators to use (all)")
    p.add_argument("--sources", default=None, help="comma-separated real sources to use (all)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="synthesis cache (default $FAKEVOICE_CACHE/synth or ~/.cache/fakevoice/synth)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing build in OUT")
    p.add_argument(
        "--no-audit", action="store_true", help="skip the shortcut audit and baseline (faster)"
    )


def run(args: argparse.Namespace) -> int:
    opts = BuildOptions(
        out=Path(args.out),
        size=args.size,
        seed=args.seed,
        heldout_generators=_names(args.heldout_generators),
        heldout_speakers=_names(args.heldout_speakers),
        generators=_names(args.generators),
        sources=_names(args.sources),
        workers=args.workers,
        cache_dir=args.cache_dir or default_cache_dir(),
        force=args.force,
        audit=not args.no_audit,
    )
    result = build(opts)
    if result.skipped:
        return 0
    print(
        f"built {result.out}: "
        + ", ".join(f"{k} {v}" for k, v in result.counts.items())
        + f" in {result.seconds:.0f} s"
    )
    if result.audit:
        a, b = result.audit, result.audit["baseline"]
        print(
            f"audit: nuisance AUC {a['nuisance_auc']:.3f}, 95% interval "
            f"{a['nuisance_auc_ci'][0]:.3f}-{a['nuisance_auc_ci'][1]:.3f} "
            f"(fails above {a['max_nuisance_auc']}); "
            f"MFCC-MLP val acc {b['val_accuracy']:.3f}, test score {b['test_score']:.4f} "
            f"vs prior {b['prior_score']:.4f}"
        )
    return 0
