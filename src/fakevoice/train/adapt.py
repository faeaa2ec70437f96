"""Domain adaptation with the unlabeled clips of the test environment, for scene-trained
models: their features, batch-norm statistics re-estimated on them (AdaBN), the
domain-adversarial loss, and the confidence-filtered pseudo labels of self-training.

Each is switched on by ``TrainConfig.adapt``; the stages in :mod:`fakevoice.train.stages`
and the end of training call these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fakevoice.models.common import Detector, reverse_gradient

# Candidate confidence thresholds for pseudo labels (max(p, 1 - p) at least this).
THRESHOLDS = tuple(np.round(np.arange(0.5, 0.995, 0.01), 2))
# none, F, R, FF, RR, FR: which composition classes hold a fake voice, which a real one
HAS_FAKE = np.array([0, 1, 0, 1, 0, 1], dtype=bool)
HAS_REAL = np.array([0, 0, 1, 0, 1, 1], dtype=bool)


def clip_features(front, clips: Sequence[np.ndarray], samples: int) -> torch.Tensor:
    """(N, C, T) features of each clip's centre ``samples`` (zero-padded when shorter)."""
    rows = np.zeros((len(clips), samples), dtype=np.float32)
    for i, x in enumerate(clips):
        if len(x) >= samples:
            s = (len(x) - samples) // 2
            rows[i] = x[s : s + samples]
        else:
            rows[i, : len(x)] = x
    out = [front(torch.from_numpy(rows[s : s + 128])) for s in range(0, len(rows), 128)]
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def adabn(model: Detector, x: torch.Tensor, batch: int = 64) -> int:
    """Replace every batch-norm layer's running statistics by those of ``x`` (AdaBN, Li et
    al. 2016): a cumulative average over batches of the unlabeled clips, the rest of the
    model in eval mode. Returns how many layers were re-estimated."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or len(x) < 2:
        return 0
    was = model.training
    model.eval()
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    frames = torch.full((batch,), x.shape[-1], dtype=torch.int64)
    for part in torch.split(x, batch):
        if len(part) >= 2:
            model(part, frames[: len(part)])
    for m, mom in zip(bns, momenta, strict=True):
        m.momentum = mom
    model.train(was)
    return len(bns)


def reversal_strength(progress: float) -> float:
    """Ganin & Lempitsky's ramp 2 / (1 + exp(-10 p)) - 1 over a stage, p in [0, 1]."""
    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0


def domain_loss(model: Detector, emb: torch.Tensor, n_source: int, progress: float) -> torch.Tensor:
    """Cross-entropy of the domain head telling the first ``n_source`` embeddings (source)
    from the rest (target), through gradient reversal."""
    logit = model.domain_head(reverse_gradient(emb, reversal_strength(progress))).squeeze(-1)
    target = torch.cat([torch.zeros(n_source), torch.ones(len(emb) - n_source)])
    return nn.functional.binary_cross_entropy_with_logits(logit, target)


def confidence_threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest threshold t whose confident predictions (max(p, 1-p) >= t) on the
    validation scenes are right at least ``precision`` of the time (and cover at least 1 %
    of them); 1.0 (no pseudo labels) when none is."""
    conf = np.maximum(p, 1.0 - p)
    right = (p >= 0.5) == (y >= 0.5)
    for t in THRESHOLDS:
        keep = conf >= t
        if keep.mean() >= 0.01 and right[keep].mean() >= precision:
            return float(t)
    return 1.0


def pseudo_labels(
    presence: np.ndarray, composition: np.ndarray, thresholds: Sequence[float]
) -> dict[str, list]:
    """Targets for the unlabeled clips that pass a column's threshold.

    ``presence`` (N, 2) probabilities, ``composition`` (N, 6) softmax. A column is labelled
    where its confidence passes its threshold; the composition target is the composition
    head's argmax where both columns are labelled, it agrees with them and is at least as
    confident as the stricter threshold, else -1 (ignored). Clips with no labelled column
    are left out. Returns lists: indices into the clips, (N', 3) targets, (N', 2) masks.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    conf = np.maximum(presence, 1.0 - presence)
    mask = conf >= t[None, :]
    labels = (presence >= 0.5).astype(np.float32)
    comp = composition.argmax(axis=1)
    agrees = (HAS_FAKE[comp] == (labels[:, 0] > 0.5)) & (HAS_REAL[comp] == (labels[:, 1] > 0.5))
    comp_ok = mask.all(axis=1) & agrees & (composition.max(axis=1) >= t.max())
    target = np.concatenate([labels, np.where(comp_ok, comp, -1)[:, None]], axis=1)
    keep = np.flatnonzero(mask.any(axis=1))
    return {
        "idx": [int(i) for i in keep],
        "target": target[keep].tolist(),
        "mask": mask[keep].astype(np.float32).tolist(),
    }


def pseudo_loss(
    model: Detector, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Masked presence cross-entropy plus the composition term where it has a target."""
    bce = nn.functional.binary_cross_entropy_with_logits(
        logits[:, :2], target[:, :2], reduction="none"
    )
    loss = (bce * mask).sum() / mask.sum().clamp_min(1.0)
    comp = target[:, 2].long()
    if model.composition_weight > 0 and bool((comp >= 0).any()):
        ce = nn.functional.cross_entropy(logits[:, 2:], comp, ignore_index=-1)
        loss = loss + model.composition_weight * ce
    return loss
