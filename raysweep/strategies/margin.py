"""Margin sampling: a(x) = -(p_(1) - p_(2)), the negated gap between the two top classes."""

from __future__ import annotations

import numpy as np

from raysweep.strategies.base import PoolView, ScoringStrategy, check_probs


def margin_scores(probs: np.ndarray) -> np.ndarray:
    # partition puts the two largest in the last two columns without a full sort
    top_two = np.partition(probs, probs.shape[1] - 2, axis=1)[:, -2:]
    return -(top_two[:, 1] - top_two[:, 0])


class MarginSampling(ScoringStrategy):
    """-(p_(1) - p_(2)): points whose two most likely classes are closest."""

    def score(self, view: PoolView) -> np.ndarray:
        return margin_scores(check_probs(view))
