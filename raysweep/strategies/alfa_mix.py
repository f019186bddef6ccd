"""ALFA-Mix (Parvaneh et al. 2022): points whose prediction flips when mixed towards anchors.

For each unlabeled embedding z and each class anchor a_c (the mean labeled embedding of class c;
the mean of all labeled embeddings for a class with none), the paper's closed-form mixing
coefficient alpha = ε ||a_c - z|| / ||g|| · g ⊘ (a_c - z), with g the gradient of the cross-entropy
at the predicted label ŷ with respect to z, moves z by alpha ⊙ (a_c - z) = ε ||a_c - z|| g / ||g||
(up to the 1e-8 the authors add to the denominator). With the linear head (logits l = W z + b)
the gradient is g = Wᵀ(softmax(l) - onehot(ŷ)) and the mixed logits are l + τ m, m = W g, so the
prediction flips exactly when τ exceeds τ* = min_{j: m_j > m_ŷ} (l_ŷ - l_j) / (m_j - m_ŷ).
Each point therefore has a critical ε (smallest over anchors), and the authors' loop over growing
caps ε = step/√D, 2·step/√D, ... up to 1/√D, stopping once more than b points flip, is one
threshold on it: no (P x D) mixed embeddings are built per anchor and cap.

Candidates are then clustered (k-means with b clusters on L2-normalised embeddings, fitted on a
seeded subsample of them, :mod:`raysweep.strategies.clustering`) and the member nearest each
centre is taken; if fewer than b points flip, the rest of the batch is
uniformly random, as in the authors' code. Score of a pick: 1 / (1 + its critical cap), in (0, 1],
0 for a point no mix flips.
"""

from __future__ import annotations

import math

import numpy as np

from raysweep.errors import ConfigError
from raysweep.strategies.base import PoolView, Selection, Strategy, positive_int
from raysweep.strategies.clustering import (
    MAX_ITER,
    fill_at_random,
    kmeans_representatives,
    l2_normalise,
)
from raysweep.strategies.distances import squared_norms
from raysweep.strategies.needs import Need
from raysweep.strategies.view import LinearHead

CHUNK = 16_384  # pool points per block of the (P x C) logit algebra


def class_anchors(
    labeled_embeddings: np.ndarray, labeled_labels: np.ndarray, classes: int
) -> np.ndarray:
    """(C, D) mean labeled embedding per class; the overall labeled mean for an absent class."""
    sums = np.zeros((classes, labeled_embeddings.shape[1]))
    np.add.at(sums, labeled_labels, labeled_embeddings)
    counts = np.bincount(labeled_labels, minlength=classes)
    anchors = labeled_embeddings.mean(axis=0, dtype=np.float64)[None, :].repeat(classes, axis=0)
    present = counts > 0
    anchors[present] = sums[present] / counts[present, None]
    return anchors


def critical_caps(embeddings: np.ndarray, head: LinearHead, anchors: np.ndarray) -> np.ndarray:
    """(P,) the smallest cap ε at which mixing towards some anchor flips the prediction (inf: none)."""
    weight = np.asarray(head.weight, dtype=np.float64)
    gram = weight @ weight.T  # (C, C): m = W Wᵀ f without the (P x D) gradient matrix
    anchor_norms = squared_norms(anchors)
    caps = np.empty(len(embeddings))
    for start in range(0, len(embeddings), CHUNK):
        block = embeddings[start : start + CHUNK]
        logits = head.logits(block).astype(np.float64)
        predicted = logits.argmax(axis=1)
        rows = np.arange(len(block))
        softmax = np.exp(logits - logits[rows, predicted][:, None])
        softmax /= softmax.sum(axis=1, keepdims=True)
        factors = softmax
        factors[rows, predicted] -= 1.0  # f = softmax - onehot(ŷ), the CE gradient in logit space
        slope = factors @ gram  # m = W g: how fast each logit moves along the gradient
        gradient_norm = np.sqrt(np.maximum(np.einsum("ij,ij->i", factors, slope), 0.0))
        gain = slope - slope[rows, predicted][:, None]  # m_j - m_ŷ
        gap = logits[rows, predicted][:, None] - logits  # l_ŷ - l_j >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = np.where(gain > 0, gap / gain, np.inf)
        crossing[rows, predicted] = np.inf
        flip_step = crossing.min(axis=1)  # τ*
        to_anchors = (
            squared_norms(block)[:, None]
            - 2.0 * (block @ anchors.T.astype(block.dtype)).astype(np.float64)
            + anchor_norms[None, :]
        )
        farthest = np.sqrt(np.maximum(to_anchors.max(axis=1), 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = flip_step * gradient_norm / farthest
        cap[~np.isfinite(cap) | (gradient_norm == 0) | (farthest == 0)] = np.inf
        caps[start : start + CHUNK] = cap
    return caps


def cap_schedule(step: float, dimensions: int) -> np.ndarray:
    """The authors' caps: step, 2·step, ... until the cap reaches 1, each divided by √D."""
    count = math.ceil(1.0 / step - 1e-9)
    return np.arange(1, count + 1) * step / math.sqrt(dimensions)


class AlfaMix(Strategy):
    """Prediction flips under closed-form feature mixing with class anchors, k-means for diversity."""

    needs = frozenset({Need.EMBEDDINGS, Need.LABELED_EMBEDDINGS, Need.HEAD})

    def __init__(self, cap_step: float = 1 / 32, max_iter: int = MAX_ITER) -> None:
        if (
            isinstance(cap_step, bool)
            or not isinstance(cap_step, int | float)
            or not 0 < cap_step <= 1
        ):
            raise ConfigError(f"strategy alfa_mix: cap_step must be in (0, 1], got {cap_step!r}")
        self.cap_step = float(cap_step)
        self.max_iter = positive_int(max_iter, "max_iter", "alfa_mix")

    def candidates(self, view: PoolView, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Pool positions whose prediction flips at the authors' final cap, and every point's
        critical cap (inf where no mix flips it)."""
        if len(view.labeled_indices) == 0 or view.labeled_labels is None:
            raise ConfigError(
                "strategy alfa_mix mixes with labeled anchors: the labeled set is empty"
            )
        anchors = class_anchors(view.labeled_embeddings, view.labeled_labels, view.classes)
        caps = critical_caps(view.embeddings, view.head, anchors)
        schedule = cap_schedule(self.cap_step, view.embeddings.shape[1])
        flipped = np.searchsorted(np.sort(caps), schedule, side="left")  # count of caps < ε
        over = np.flatnonzero(flipped > batch_size)  # the authors stop at the first such cap
        final_cap = schedule[over[0]] if len(over) else schedule[-1]
        return np.flatnonzero(caps < final_cap), caps

    def choose(self, view: PoolView, batch_size: int) -> Selection:
        embeddings = view.embeddings
        candidates, caps = self.candidates(view, batch_size)
        if len(candidates) > batch_size:
            positions, _ = kmeans_representatives(
                l2_normalise(embeddings[candidates]), batch_size, view.rng, max_iter=self.max_iter
            )
            picks = candidates[positions]
            if len(picks) < batch_size:  # a cluster came out empty: the most fragile of the rest
                rest = np.setdiff1d(candidates, picks)
                rest = rest[np.argsort(caps[rest], kind="stable")]
                picks = np.concatenate([picks, rest[: batch_size - len(picks)]])
        else:
            picks = candidates
        # most fragile first, then (if too few flip) uniformly random points, as the authors do
        picks = picks[np.argsort(caps[picks], kind="stable")]
        if len(picks) < batch_size:
            picks = np.concatenate([picks, fill_at_random(picks, len(caps), batch_size, view.rng)])
        scale = math.sqrt(embeddings.shape[1])  # critical cap in the authors' units (cap <= 1)
        scores = 1.0 / (1.0 + caps[picks] * scale)
        return Selection(indices=view.pool_indices[picks], scores=scores)
