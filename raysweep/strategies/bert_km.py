"""BERT-KM (Yuan et al. 2020): k-means on the pool's embeddings, the point nearest each centre.

As in the paper (and small-text's ``EmbeddingKMeans``), embeddings are L2-normalised first by
default. The k-means is fitted on a seeded subsample and finished by one Lloyd step on the whole
pool (:mod:`raysweep.strategies.clustering`). A purely representative batch: it ignores the
model's uncertainty. Picks come largest cluster first; the score of a pick is the fraction of the
pool in its cluster.
"""

from __future__ import annotations

import numpy as np

from raysweep.strategies.base import PoolView, Selection, Strategy, positive_int
from raysweep.strategies.clustering import (
    MAX_ITER,
    fill_at_random,
    kmeans_representatives,
    l2_normalise,
)
from raysweep.strategies.needs import Need


class BertKm(Strategy):
    """k-means with ``batch_size`` clusters on (normalised) pool embeddings; nearest to each centre."""

    needs = frozenset({Need.EMBEDDINGS})

    def __init__(self, normalize: bool = True, max_iter: int = MAX_ITER) -> None:
        self.normalize = bool(normalize)
        self.max_iter = positive_int(max_iter, "max_iter", "bert_km")

    def choose(self, view: PoolView, batch_size: int) -> Selection:
        points = l2_normalise(view.embeddings) if self.normalize else view.embeddings
        picks, sizes = kmeans_representatives(points, batch_size, view.rng, max_iter=self.max_iter)
        scores = sizes / len(points)
        if len(picks) < batch_size:  # fewer distinct embeddings than the batch: fill at random
            extra = fill_at_random(picks, len(points), batch_size, view.rng)
            picks = np.concatenate([picks, extra])
            scores = np.concatenate([scores, np.zeros(len(extra))])
        return Selection(indices=view.pool_indices[picks], scores=scores)
