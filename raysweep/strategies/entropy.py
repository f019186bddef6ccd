"""Entropy sampling: a(x) = -sum_i p_i log p_i (0 log 0 = 0)."""

from __future__ import annotations

import numpy as np
from scipy.special import entr

from raysweep.strategies.base import PoolView, ScoringStrategy, check_probs


def entropy_scores(probs: np.ndarray) -> np.ndarray:
    return entr(probs).sum(axis=1)


class EntropySampling(ScoringStrategy):
    """Predictive entropy: points whose whole predicted distribution is most spread."""

    def score(self, view: PoolView) -> np.ndarray:
        return entropy_scores(check_probs(view))
