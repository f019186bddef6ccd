"""The acquisition-strategy interface (after baal's heuristics and small-text's query strategies).

A strategy sees a :class:`PoolView` (the candidate pool in *dataset* indices, the model's outputs
aligned with it, the labeled set, a seeded RNG) and returns a :class:`Selection` of dataset
indices. Scoring strategies only compute a per-point score (higher = acquire first); ranking,
tie-breaking and the batch cut are shared in :class:`ScoringStrategy`, so wrappers (ε-greedy,
density weighting) and batch-diverse strategies of later issues plug in beside them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from raysweep.errors import EmptyPoolError


@dataclass(frozen=True)
class PoolView:
    """What a strategy may look at when choosing a batch."""

    pool_indices: np.ndarray  # (P,) dataset indices of the candidates
    labeled_indices: np.ndarray  # (L,) dataset indices already labeled
    rng: np.random.Generator  # the strategy's own stream for this round
    probs: np.ndarray | None = (
        None  # (P, C) predicted class probabilities, aligned with pool_indices
    )
    embeddings: np.ndarray | None = None  # (P, D) penultimate features, aligned with pool_indices
    labeled_embeddings: np.ndarray | None = None  # (L, D)
    labeled_labels: np.ndarray | None = None  # (L,)


@dataclass(frozen=True)
class Selection:
    """An acquired batch: dataset indices in acquisition order and the score behind each."""

    indices: np.ndarray
    scores: np.ndarray


class Strategy(ABC):
    """Chooses ``batch_size`` points from the pool."""

    #: model outputs the scorer must compute for this strategy ("probs", "embeddings", ...)
    needs: ClassVar[frozenset[str]] = frozenset({"probs"})

    @abstractmethod
    def select(self, view: PoolView, batch_size: int) -> Selection: ...


class ScoringStrategy(Strategy):
    """Score every candidate, take the top ``batch_size``; ties broken by the strategy's RNG."""

    @abstractmethod
    def score(self, view: PoolView) -> np.ndarray:
        """(P,) acquisition scores aligned with ``view.pool_indices``; higher = acquire first."""

    def select(self, view: PoolView, batch_size: int) -> Selection:
        scores = np.asarray(self.score(view), dtype=np.float64)
        order = top_k(scores, batch_size, view.rng)
        return Selection(indices=view.pool_indices[order], scores=scores[order])


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first, equal scores in random order."""
    if k <= 0:
        raise ValueError(f"batch size must be positive, got {k}")
    if k > len(scores):
        raise EmptyPoolError(f"cannot acquire {k} points from a pool of {len(scores)}")
    tie_break = rng.random(len(scores))
    # lexsort sorts by the last key first: descending score, then the random key.
    return np.lexsort((tie_break, -scores))[:k]


def check_probs(view: PoolView) -> np.ndarray:
    if view.probs is None:
        raise ValueError("this strategy needs predicted probabilities for the pool")
    return view.probs
