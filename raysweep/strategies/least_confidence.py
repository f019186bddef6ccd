"""Least-confidence sampling, the paper's "uncertainty sampling": a(x) = 1 - max_i p_i."""

from __future__ import annotations

import numpy as np

from raysweep.strategies.base import PoolView, ScoringStrategy, check_probs


def least_confidence_scores(probs: np.ndarray) -> np.ndarray:
    return 1.0 - probs.max(axis=1)


class LeastConfidence(ScoringStrategy):
    """1 - max_i p_i: points whose predicted label the model is least sure of."""

    def score(self, view: PoolView) -> np.ndarray:
        return least_confidence_scores(check_probs(view))
