"""The data card of a built benchmark: ``datacard.md``, ``datacard.json``, ``spectrograms.png``.

Sources and licences, counts and durations by split, class, generator, language and speaker,
the held-out lists, the audit, and spectrograms of train, test and unlabeled clips side by
side so a person can see the gap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakevoice.atomic import atomic_path, atomic_write_text
from fakevoice.audio import SAMPLE_RATE, load_audio
from fakevoice.synth.catalogue import SOURCES

# (package, licence, content) of each real source, as the catalogue states them
REAL_SOURCES = {s.name: (s.package, s.licence, s.description) for s in SOURCES.values()}
NOISE_SOURCE = ("tuxpaint-stamps-default", "GPL-2+", "stamp sound effects (non-speech)")


def _voice_table(df: pd.DataFrame, prefixes: tuple[str, ...]) -> pd.DataFrame:
    """One row per voice (a test clip may hold two) with its class, generator, language..."""
    parts = []
    for p in prefixes:
        cols = [c for c in df.columns if c.startswith(p)]
        if not cols:
            continue
        part = df[["id", "seconds", *cols]].rename(columns={c: c[len(p) :] for c in cols})
        parts.append(part.dropna(subset=["class"]))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _counts(v: pd.DataFrame, by: str) -> dict[str, dict[str, int]]:
    if v.empty:
        return {}
    t = v.assign(key=v[by].fillna("").replace("", "-")).groupby(["key", "class"]).size()
    out: dict[str, dict[str, int]] = {}
    for (k, c), n in t.items():
        out.setdefault(str(k), {})[str(c)] = int(n)
    return out


def summarise(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split, df in frames.items():
        voices = _voice_table(df, ("v1_", "v2_"))
        entry: dict[str, Any] = {
            "clips": len(df),
            "hours": round(float(df["seconds"].sum()) / 3600, 3),
            "seconds_mean": round(float(df["seconds"].mean()), 3),
            "voices_by_class": {k: int(v) for k, v in voices["class"].value_counts().items()},
            "by_generator": _counts(voices, "generator"),
            "by_language": _counts(voices, "language"),
            "by_source": _counts(voices, "source"),
            "by_speaker": _counts(voices, "speaker"),
            "by_band": _counts(voices, "band"),
        }
        if split == "train":
            entry["seconds_by_class"] = {
                k: round(float(g["seconds"].sum()), 1) for k, g in df.groupby("label")
            }
        else:
            entry["n_voices"] = {str(k): int(v) for k, v in df["n_voices"].value_counts().items()}
            combo = df["fake"].astype(str) + "," + df["real"].astype(str)
            entry["fake_real"] = {k: int(v) for k, v in combo.value_counts().items()}
        out[split] = entry
    return out


def _md_table(d: dict[str, dict[str, int]], title: str) -> list[str]:
    lines = [f"| {title} | real | fake |", "|---|---:|---:|"]
    for k in sorted(d):
        lines.append(f"| {k} | {d[k].get('real', 0)} | {d[k].get('fake', 0)} |")
    return lines


def write(opts, pool, rows, frames, report, timing) -> None:
    out = Path(opts.out)
    summary = summarise(frames)
    used_sources = sorted({s.source for s in pool.segments if s.klass == "real"})
    card = {
        "options": opts.identity(),
        "timing": timing,
        "sources": {
            s: dict(zip(("package", "licence", "content"), REAL_SOURCES[s], strict=True))
            for s in used_sources
            if s in REAL_SOURCES
        },
        "noise": dict(zip(("package", "licence", "content"), NOISE_SOURCE, strict=True)),
        "generators": pool.generator_info,
        "synthesis_failures": pool.failures,
        "heldout_generators": [g for g, i in pool.generator_info.items() if i["heldout"]],
        "heldout_speakers": list(pool.heldout_speakers),
        "summary": summary,
        "audit": report,
    }
    atomic_write_text(out / "datacard.json", json.dumps(card, indent=1, sort_keys=True))
    atomic_write_text(out / "datacard.md", _markdown(card))
    try:
        spectrograms(out, frames, out / "spectrograms.png")
    except Exception as exc:
        print(f"note: spectrogram figure not written: {exc}")


def _markdown(card: dict[str, Any]) -> str:
    o = card["options"]
    s = card["summary"]
    lines = [
        "# Embedded benchmark: data card",
        "",
        f"Size `{o['size']}`, seed {o['seed']}. Built in {card['timing']['total_seconds']} s.",
        "Every clip is OGG Vorbis, 32 kHz mono. `fake` = an AI-generated or vocoder-resynthesised",
        "voice is present; `real` = a human recording is present.",
        "",
        "## Sources and licences",
        "| source | Debian package | licence | content |",
        "|---|---|---|---|",
    ]
    for name, info in card["sources"].items():
        lines.append(f"| {name} | {info['package']} | {info['licence']} | {info['content']} |")
    n = card["noise"]
    lines.append(f"| noise | {n['package']} | {n['licence']} | {n['content']} |")
    lines += [
        "",
        "| generator | family | kind | package | licence | held out |",
        "|---|---|---|---|---|---|",
    ]
    for g, i in sorted(card["generators"].items()):
        lines.append(
            f"| {g} | {i['family']} | {i['kind']} | {i['package']} | {i['licence']} | "
            f"{'yes' if i['heldout'] else ''} |"
        )
    if card["synthesis_failures"]:
        lines.append(f"\nSynthesis failures (dropped): {card['synthesis_failures']}")
    lines += [
        "",
        f"Held-out generators (test and unlabeled only): {', '.join(card['heldout_generators'])}",
        "",
        f"Held-out speakers (test and unlabeled only): {', '.join(card['heldout_speakers'])}",
        "",
        "## Splits",
        "| split | clips | hours | mean s | voices real | voices fake |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for split, e in s.items():
        vc = e["voices_by_class"]
        lines.append(
            f"| {split} | {e['clips']} | {e['hours']} | {e['seconds_mean']} | "
            f"{vc.get('real', 0)} | {vc.get('fake', 0)} |"
        )
    for split in ("test", "unlabeled"):
        if split in s:
            e = s[split]
            lines.append(f"\n{split}: voices per clip {e['n_voices']}; fake,real {e['fake_real']}")
    for split in s:
        for key, title in (
            ("by_generator", "generator"),
            ("by_language", "language"),
            ("by_band", "band limit (Hz)"),
            ("by_source", "source"),
        ):
            lines += ["", f"### {split}: voices by {title}", *_md_table(s[split][key], title)]
    a = card["audit"]
    lines += ["", "## Audit"]
    if a is None:
        lines.append("Not run.")
    else:
        ci = a.get("nuisance_auc_ci") or [a["nuisance_auc"]] * 2
        verdict = "passed" if a["passed"] else "FAILED"
        if a["passed"] and not a.get("conclusive", True):
            verdict += "; the interval reaches above the limit: too few clips to show more"
        lines += [
            f"Nuisance-feature logistic regression, 5-fold AUC on train: **{a['nuisance_auc']}** "
            f"(95 % bootstrap interval {ci[0]}-{ci[1]}). The build fails when the lower end "
            f"of the interval is above {a['max_nuisance_auc']}: {verdict}.",
            "",
            "| feature | AUC alone | mean real | mean fake |",
            "|---|---:|---:|---:|",
            *[
                f"| {k} | {v} | {m['real']} | {m['fake']} |"
                for k, v in a["nuisance_auc_by_feature"].items()
                for m in [a["nuisance_means"][k]]
            ],
            "",
        ]
        b = a["baseline"]
        lines += [
            f"Organisers' baseline ({b['model']}): validation accuracy **{b['val_accuracy']}**, "
            f"test score **{b['test_score']}** (AUC {b['test_auc']}, Brier {b['test_brier']}, "
            f"ECE {b['test_ece']}) against a constant prior at **{b['prior_score']}** "
            f"(lower is better).",
        ]
        by = b.get("val_accuracy_by_generator") or {}
        if by:
            lines += [
                "",
                "Its validation accuracy by voice: "
                + ", ".join(f"{k} {v:.2f}" for k, v in by.items())
                + ".",
            ]
    lines += ["", "![spectrograms](spectrograms.png)", ""]
    return "\n".join(lines)


def spectrograms(out: Path, frames: dict[str, pd.DataFrame], dest: Path, per_split: int = 3):
    """Log spectrograms of a few clips from each split, one column per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(per_split, 3, figsize=(13, 2.4 * per_split), squeeze=False)
    for col, split in enumerate(("train", "test", "unlabeled")):
        df = frames.get(split)
        for row in range(per_split):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if df is None or row >= len(df):
                continue
            r = df.iloc[row]
            x = load_audio(out / r["path"], SAMPLE_RATE, warn_silent=False)
            with np.errstate(divide="ignore"):  # digital silence: -inf dB, drawn as black
                _, _, _, im = ax.specgram(x, NFFT=512, Fs=SAMPLE_RATE, noverlap=384, cmap="magma")
            top = float(np.nanmax(np.where(np.isfinite(im.get_array()), im.get_array(), np.nan)))
            im.set_clim(top - 90.0, top)  # one 90 dB range everywhere, so levels compare
            ax.set_ylim(0, 16000)
            if split == "train":
                title = f"train {r['id']}: {r['label']}"
            else:
                title = f"{split} {r['id']}: fake={r['fake']} real={r['real']}"
            ax.set_title(title, fontsize=8)
    fig.suptitle("clean train clips vs noisy test and unlabeled scenes (0-16 kHz, 5 s)")
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
