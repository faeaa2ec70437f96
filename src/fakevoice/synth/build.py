"""Build the embedded benchmark: a contest-shaped data set from packaged voices and synthesisers.

Three stages, each deterministic given the seed:

1. **pool** - choose real utterances and synthesis requests for train and for evaluation
   (test + unlabeled), synthesise (cached), clean and store every voice segment
   (:mod:`fakevoice.synth.pool`).
2. **render** - every clip is drawn from its own generator (:mod:`fakevoice.synth.render`).
3. **write** - CSVs atomically, the audit, the data card, and ``.complete`` last
   (:mod:`fakevoice.synth.layout`).

Shortcuts are removed by construction: both classes draw language, band level, length,
loudness, crest factor, padding and noise floor from the same distributions; fakes speak
the texts the real speakers read; held-out generators and speakers appear only in evaluation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fakevoice.atomic import atomic_write_text
from fakevoice.errors import FakevoiceError
from fakevoice.synth.banks import cached_rooms, load_effects
from fakevoice.synth.layout import BUILDING, MANIFEST, make_ids, prepare_out, write_tables
from fakevoice.synth.options import SIZES, BuildOptions, BuildResult
from fakevoice.synth.pool import build_pool, synth_modules
from fakevoice.synth.render import RenderContext, make_combos, make_labels, render_job
from fakevoice.synth.voices import VoiceTable
from fakevoice.synth.workers import parallel_map

# Share of evaluation fake voices drawn from held-out generators wherever one can serve.
HELDOUT_SHARE = 0.35


def check_names(opts: BuildOptions) -> None:
    """Refuse unknown generator names before anything is written."""
    engines, _ = synth_modules()
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
    """Build (or resume, or find complete) the benchmark ``opts`` asks for."""
    if opts.size not in SIZES:
        raise FakevoiceError(f"make-data: unknown size {opts.size!r} (tiny, small or full)")
    if opts.workers < 1:
        raise FakevoiceError("make-data: --workers must be at least 1")
    t0 = time.perf_counter()
    size = SIZES[opts.size]
    counts = {"train": size.train, "test": size.test, "unlabeled": size.unlabeled}
    check_names(opts)
    if not prepare_out(opts):
        log(f"{opts.out}: already built with these options (use --force to rebuild)")
        manifest = json.loads((opts.out / MANIFEST).read_text())
        return BuildResult(opts.out, manifest["counts"], 0.0, manifest.get("audit"), True)
    opts.cache_dir.mkdir(parents=True, exist_ok=True)

    effects = load_effects(log)
    pool = build_pool(opts, size, log=log)
    # The synthesis workers hold torch, the vocoders and piper; rendering needs none of them.
    synth_modules()[0].shutdown_workers()
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
    rooms = cached_rooms(opts.cache_dir, opts.seed, size.rooms)
    context = RenderContext(
        opts=opts,
        tables=tables,
        effects=effects,
        rooms=rooms,
        train_labels=make_labels(opts.seed, counts["train"]),
        test_combos={s: make_combos(opts.seed, s, counts[s]) for s in ("test", "unlabeled")},
        ids=make_ids(opts.seed, counts),
        train_generators=frozenset(pool.train_generators),
        train_speakers=pool.train_speakers,
    )
    jobs = [(split, i) for split in ("train", "test", "unlabeled") for i in range(counts[split])]
    rows = parallel_map(
        render_job, jobs, opts.workers, "rendering clips", opts.progress, context=context
    )
    t_render = time.perf_counter() - t0 - t_pool
    log(f"rendered {len(rows)} clips in {t_render:.0f} s")

    frames = write_tables(opts.out, rows)
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
