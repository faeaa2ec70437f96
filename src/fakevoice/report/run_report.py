"""The page a researcher opens after a run: ``fakevoice report RUN DATA --out DIR``.

Writes DIR/report.html (self-contained), its PNGs, report.json (every number the page
shows), files.csv (every file's probabilities, most uncertain first) and errors.csv when
files could not be read. With answers (a contest folder holding ``test_answer.csv``):
the score table beside the constant prior and other runs, reliability before and after
calibration, ROC curves, probabilities per true combination, the score per condition of
``test_meta.csv`` with example clips, and the most confident mistakes. Always: the
domain map, galleries of train, unlabeled and target clips, the most uncertain files, and
the training curves.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.atomic import atomic_open, atomic_write_text
from fakevoice.errors import FakevoiceError
from fakevoice.predict import Predictor
from fakevoice.report import figures, page
from fakevoice.report.clips import Clips
from fakevoice.report.collect import Described, describe, resolve_inputs, sample
from fakevoice.report.scored import add_scored_sections
from fakevoice.runs import METRICS, VALIDATION, load_arrays, read_json, read_manifest

GALLERY = 5


def _domain_auc(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    """Cross-validated AUC of a linear classifier telling set ``a`` from ``b`` by the
    embedding: 0.5 when the model sees them alike, 1.0 when they never overlap."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if min(len(a), len(b)) < 10:
        return float("nan")
    x = np.concatenate([a, b]).astype(np.float64)
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.1))
    p = cross_val_predict(clf, x, y, cv=5, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def _uncertainty(probs: np.ndarray) -> np.ndarray:
    """1 at p = 0.5, 0 at 0 or 1; the larger of the two columns'."""
    return (1.0 - np.abs(2.0 * probs - 1.0)).max(axis=1)


def _write_files_csv(path: Path, test: Described) -> list[dict[str, Any]]:
    u = _uncertainty(test.probs)
    order = np.argsort(-u, kind="stable")
    rows = [
        {
            "id": test.ids[i],
            "fake": float(test.probs[i, 0]),
            "real": float(test.probs[i, 1]),
            "fake_uncalibrated": float(test.raw[i, 0]),
            "real_uncalibrated": float(test.raw[i, 1]),
            "uncertainty": float(u[i]),
            "index": int(i),
        }
        for i in order
    ]
    with atomic_open(path, "w") as fh:
        w = csv.DictWriter(
            fh,
            [k for k in rows[0] if k != "index"] if rows else ["id"],
            extrasaction="ignore",
            lineterminator="\n",
        )
        w.writeheader()
        w.writerows(rows)
    return rows


def _domain_section(pg: page.Page, out: Path, sets: dict[str, np.ndarray], seed: int) -> dict:
    parts = pg.section("domain", "Domain gap: the model's embeddings")
    points, share = figures.pca(sets)
    if not points:
        parts.append("<p>No embeddings to map.</p>")
        return {}
    png = figures.domain_map(points, share, out / "domain_map.png")
    target = sets.get("test")
    aucs = {}
    if target is not None and len(target):
        for name, emb in sets.items():
            if name != "test" and len(emb):
                aucs[f"{name} vs test"] = _domain_auc(emb, target, seed)
    parts.append(
        "<p>PCA of the embeddings the classifier head reads, fitted on all sets together. "
        "Below, how well a linear classifier tells each set from the target set by the "
        "embedding alone (cross-validated AUC; 0.5 = indistinguishable).</p>"
    )
    parts.append(page.figure(png, "domain map (PCA)"))
    parts.append(
        page.table([{"sets": k, "domain AUC": v} for k, v in aucs.items()], ["sets", "domain AUC"])
    )
    return {
        "pca_variance_share": share,
        "domain_auc": aucs,
        "n": {k: len(v) for k, v in sets.items()},
    }


def _gallery_section(pg: page.Page, clips: Clips, groups: dict[str, list[Path]], seed: int) -> dict:
    parts = pg.section("galleries", "Spectrogram galleries")
    parts.append(
        "<p class='note'>A seeded sample of each set, 0 to 16 kHz: the gap the "
        "training clips do not show is visible here.</p>"
    )
    shown = {}
    for name, paths in groups.items():
        if not paths:
            continue
        idx = sample(len(paths), GALLERY, seed, f"gallery-{name}")
        chosen = [paths[i] for i in idx]
        parts.append(f"<h3>{page.esc(name)}</h3>")
        parts.append(clips.gallery(chosen, [p.name for p in chosen]))
        shown[name] = [str(p) for p in chosen]
    return shown


def _training_section(pg: page.Page, out: Path, run: Path) -> dict:
    parts = pg.section("training", "Training")
    try:
        metrics = read_json(run / METRICS)
    except Exception as exc:  # a report is still worth having without the curves
        parts.append(f"<p>No training metrics: {page.esc(exc)}</p>")
        return {}
    history = metrics.get("history", [])
    if history:
        parts.append(
            page.figure(
                figures.training_curves(history, out / "training.png"),
                "training loss and validation figures per epoch",
            )
        )
    keys = [k for k, v in sorted(metrics.items()) if isinstance(v, int | float)]
    parts.append(
        page.table([{"metric": k, "value": metrics[k]} for k in keys], ["metric", "value"])
    )
    return {"history": history, **{k: metrics[k] for k in keys}}


def build_run_report(
    run: str | Path,
    data: Sequence[str | Path],
    out: str | Path,
    *,
    compare: Sequence[str | Path] = (),
    train_data: str | Path | None = None,
    n_sample: int = 300,
    examples: int = 3,
    seed: int = 0,
    batch_size: int = 64,
) -> Path:
    """Describe DATA with the run's model and write the report; returns report.html."""
    t0 = time.perf_counter()
    run, out = Path(run), Path(out)
    manifest = read_manifest(run)
    inputs = resolve_inputs(data, train_data)
    predictor = Predictor(run, batch_size)
    out.mkdir(parents=True, exist_ok=True)
    test = describe(predictor, "test", inputs.test_ids, inputs.test_paths)
    if not test.ids:
        f, reason = test.errors[0]
        raise FakevoiceError(f"no file could be read, e.g. {f}: {reason}")
    sets: dict[str, np.ndarray] = {}
    gallery: dict[str, list[Path]] = {}
    if inputs.train is not None and len(inputs.train):
        idx = sample(len(inputs.train), n_sample, seed, "train")
        tr = inputs.train.iloc[idx]
        d = describe(
            predictor,
            "train sample",
            list(tr["id"]),
            [Path(p) for p in tr["path"]],
            list(tr["label"]),
        )
        for label in ("real", "fake"):
            mine = [i for i, lab in enumerate(d.labels or []) if lab == label]
            sets[f"train {label}"] = d.embedding[mine]
            gallery[f"train {label}"] = [d.paths[i] for i in mine]
    record = load_arrays(run / VALIDATION) if (run / VALIDATION).is_file() else None
    if record is not None:
        sets["validation scenes"] = record["embedding"].astype(np.float32)
    if inputs.unlabeled:
        idx = sample(len(inputs.unlabeled), n_sample, seed, "unlabeled")
        paths = [inputs.unlabeled[i] for i in idx]
        d = describe(predictor, "unlabeled sample", [p.name for p in paths], paths)
        sets["unlabeled"] = d.embedding
        gallery["unlabeled"] = d.paths
    sets["test"] = test.embedding
    gallery["test"] = test.paths

    title = (
        f"fakevoice report: run {run.name} ({manifest.get('model', '?')}) on {Path(data[0]).name}"
    )
    pg = page.Page(title)
    clips = Clips(out / "clips")
    summary = pg.section("summary", "Summary")
    numbers: dict[str, Any] = {
        "run": str(run),
        "model": manifest.get("model"),
        "data": [str(d) for d in data],
        "n_files": len(test.ids),
        "errors": [{"file": f, "reason": r} for f, r in test.errors],
    }
    summary.append(
        f"<p>{len(test.ids)} file(s) described by the model of <code>{page.esc(run)}</code>"
        + (f"; {len(test.errors)} could not be read (errors.csv)" if test.errors else "")
        + (
            "; answers found: scored with the contest score (lower is better)."
            if inputs.answer is not None
            else "; no answers: what needs none is shown."
        )
        + "</p>"
    )
    files = _write_files_csv(out / "files.csv", test) if test.ids else []
    if test.errors:
        with atomic_open(out / "errors.csv", "w") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "reason"])
            w.writerows(test.errors)
    if inputs.answer is not None and test.ids:
        numbers |= add_scored_sections(
            pg, out, clips, test, inputs, record, compare, examples=examples, batch_size=batch_size
        )
    else:
        path, hist = figures.probability_histograms(test.probs, out / "histograms.png")
        pg.section("distributions", "Predicted probabilities").append(
            page.figure(path, "where the predicted probabilities fall")
        )
        numbers["histograms"] = hist
    numbers["domain"] = _domain_section(pg, out, sets, seed)
    numbers["galleries"] = _gallery_section(pg, clips, gallery, seed)
    parts = pg.section("uncertain", "The most uncertain files")
    top = files[:20]
    parts.append("<p class='note'>All files, most uncertain first, are in files.csv.</p>")
    parts.append(
        page.table(
            clips.rows(top, [test.paths[r["index"]] for r in top]),
            ["id", "fake", "real", "uncertainty", "spectrogram", "audio"],
            raw=("spectrogram", "audio"),
        )
    )
    numbers["most_uncertain"] = [{k: v for k, v in r.items() if k != "index"} for r in top]
    numbers["training"] = _training_section(pg, out, run)
    numbers["seconds"] = round(time.perf_counter() - t0, 2)
    atomic_write_text(
        out / "report.json", json.dumps(_clean(numbers), indent=2, allow_nan=False) + "\n"
    )
    return pg.write(out / "report.html")


def _clean(v: Any) -> Any:
    """JSON for every number shown: NumPy to Python, NaN (an undefined AUC) to null."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)
