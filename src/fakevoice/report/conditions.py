"""The score per test condition, from a meta file's columns, worst first.

The groups of :func:`fakevoice.compare.breakdown_groups` (voices, seen/unseen generator
and speaker, SNR band) are joined by the scene's other conditions: noise kind, room, band
limit, codec, and per voice: language and generator. A clip belongs to a language group
when any of its voices speaks it. A generator group is the clips holding a fake voice of
that generator plus every clip without a fake voice, so its fake-column AUC ranks that
generator's fakes against clips that hold none (the rule the seen/unseen split uses).
Groups are scored with :func:`fakevoice.compare.subset_scores`; AUC is undefined where a
column holds one class, and such groups sort by their Brier and ECE after the others.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fakevoice.compare import breakdown_groups, subset_scores

RT60_BANDS = (
    ("none", None, None),
    ("< 0.3 s", 0.0, 0.3),
    ("0.3-0.6 s", 0.3, 0.6),
    ("> 0.6 s", 0.6, np.inf),
)
MAX_VALUES = 24  # a categorical column with more values is not a condition but an id
_VOICE = re.compile(r"^v(\d+)_(.+)$")


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def _categorical(meta: pd.DataFrame, col: str, by: str) -> list[tuple[str, str, np.ndarray]]:
    # "effect:59" and "effect:12" are one kind of noise: the part before the colon
    values = meta[col].astype(str).str.split(":").str[0].where(~_blank(meta[col]), "none")
    uniq = sorted(values.unique())
    if len(uniq) < 2 or len(uniq) > MAX_VALUES:
        return []
    return [(by, v, (values == v).to_numpy()) for v in uniq]


def _rooms(meta: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    rt = pd.to_numeric(meta["room_rt60"], errors="coerce").to_numpy(float)
    out = []
    for name, lo, hi in RT60_BANDS:
        mask = ~np.isfinite(rt) if lo is None else (rt >= lo) & (rt < hi)
        if mask.any():
            out.append(("room", name, mask))
    return out


def _band_limits(meta: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    hz = pd.to_numeric(meta["band_limit"], errors="coerce").to_numpy(float)
    out = [("band_limit", "none", ~np.isfinite(hz))]
    for name, lo, hi in (("< 4 kHz", 0, 4000), ("4-8 kHz", 4000, 8000), (">= 8 kHz", 8000, np.inf)):
        out.append(("band_limit", name, (hz >= lo) & (hz < hi)))
    return [g for g in out if g[2].any()]


def _per_voice(meta: pd.DataFrame, field: str) -> dict[int, str]:
    return {
        int(m.group(1)): c
        for c in meta.columns
        if (m := _VOICE.match(c)) is not None and m.group(2) == field
    }


def _languages(meta: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    cols = list(_per_voice(meta, "language").values())
    if not cols:
        return []
    langs = sorted({v for c in cols for v in meta[c].dropna().astype(str) if v.strip()})
    if len(langs) > 4 * MAX_VALUES:
        return []
    return [
        ("language", lang, np.any([(meta[c].astype(str) == lang).to_numpy() for c in cols], axis=0))
        for lang in langs
    ]


def _generators(meta: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    gens, classes = _per_voice(meta, "generator"), _per_voice(meta, "class")
    pairs = [(gens[k], classes[k]) for k in sorted(gens) if k in classes]
    if not pairs:
        return []
    fake_gen = [meta[g].where(meta[c].astype(str) == "fake") for g, c in pairs]
    has_fake = np.any([~_blank(f).to_numpy() for f in fake_gen], axis=0)
    names = sorted({v for f in fake_gen for v in f.dropna().astype(str) if v.strip()})
    return [
        (
            "generator",
            name,
            ~has_fake | np.any([(f.astype(str) == name).to_numpy() for f in fake_gen], axis=0),
        )
        for name in names
    ]


def condition_groups(meta: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    """(by, value, mask) over the rows of ``meta``: every condition it describes."""
    groups = breakdown_groups(meta)
    for col, by in (("noise", "noise"), ("codec", "codec")):
        if col in meta.columns:
            groups += _categorical(meta, col, by)
    if "room_rt60" in meta.columns:
        groups += _rooms(meta)
    if "band_limit" in meta.columns:
        groups += _band_limits(meta)
    return groups + _languages(meta) + _generators(meta)


def condition_table(
    answer: np.ndarray, probs: np.ndarray, meta: pd.DataFrame, ids: list[str]
) -> tuple[list[dict], list[np.ndarray]]:
    """Rows (by, value, n, score parts, prior_score) worst first, and each row's clip
    indices into ``ids``; ``meta`` is aligned to ``ids`` here. The constant prior at the
    set's own rates is scored on the same clips, so a bar can be read against it."""
    aligned = meta.set_index("id").reindex(ids).reset_index()
    rates = answer.mean(axis=0)
    prior = np.broadcast_to(rates, answer.shape)
    rows, members = [], []
    for by, value, mask in condition_groups(aligned):
        if not mask.any():
            continue
        row = {"by": by, "value": value, **subset_scores(answer[mask], probs[mask])}
        row["prior_score"] = subset_scores(answer[mask], prior[mask])["score"]
        rows.append(row)
        members.append(np.flatnonzero(mask))
    order = sorted(
        range(len(rows)),
        key=lambda i: (
            not np.isfinite(rows[i]["score"]),
            -(
                rows[i]["score"]
                if np.isfinite(rows[i]["score"])
                else rows[i]["brier"] + rows[i]["ece"]
            ),
        ),
    )
    return [rows[i] for i in order], [members[i] for i in order]


def worst_clips(answer: np.ndarray, probs: np.ndarray, members: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` clips of a group the model got most wrong (largest squared error summed
    over the columns): the examples worth listening to."""
    err = ((probs[members] - answer[members]) ** 2).sum(axis=1)
    return members[np.argsort(-err, kind="stable")[:k]]
