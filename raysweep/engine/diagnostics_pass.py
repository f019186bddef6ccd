"""The pass over the pool that measures an acquired batch's diversity and representativeness.

The batch is known only after the strategy chose it, so its diagnostics need a second look at
the pool: the batch's own embeddings (|B| x D, one small request), then one request over the
pool with ``ScoreRequest.against`` = those embeddings, in which every block reduces its
embeddings to :class:`BatchStats` where it was scored. The trial merges O(|B| x K) numbers per
block and never holds the pool's P x D embeddings. When a strategy already holds them (core-set,
BADGE...), the same statistics are reduced from the held matrix, block by block as a scorer cuts
the pool, at no extra model cost.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.diagnostics import (
    BatchStats,
    block_stats,
    diversity_of,
    merge_stats,
    representativeness_of,
)
from raysweep.engine.inference import Scorer, ScoreRequest, block_positions
from raysweep.models.base import ModelAdapter


def embedding_diagnostics(
    model: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    pool: np.ndarray,
    selected: np.ndarray,
    scorer: Scorer,
    batch_size: int,
    held: np.ndarray | None = None,
) -> dict[str, float]:
    """``batch/diversity`` and ``batch/representativeness`` of ``selected`` against ``pool``.

    ``pool`` is sorted; ``held`` is the pool's (P, D) embeddings if they were computed anyway.
    """
    stats = pool_batch_stats(model, adapter, dataset, pool, selected, scorer, batch_size, held)
    return {
        "batch/diversity": diversity_of(stats),
        "batch/representativeness": representativeness_of(stats),
    }


def pool_batch_stats(
    model: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    pool: np.ndarray,
    selected: np.ndarray,
    scorer: Scorer,
    batch_size: int,
    held: np.ndarray | None = None,
) -> BatchStats:
    """The pool's statistics against the batch ``selected`` (dataset indices, all in ``pool``)."""
    chosen = np.sort(np.searchsorted(pool, selected))  # the batch's positions, in pool order
    blocks = block_positions(len(pool), batch_size)
    if held is not None:
        return _merged(block_stats(held[positions], held[chosen]) for positions in blocks)
    request = ScoreRequest(probs=False, embeddings=True, batch_size=batch_size)
    batch = scorer.outputs(model, adapter, dataset, pool[chosen], request).embeddings
    assert batch is not None
    request = ScoreRequest(probs=False, against=batch, batch_size=batch_size)
    stats = scorer.outputs(model, adapter, dataset, pool, request).batch_stats
    if stats is not None:
        return stats
    # a backend that does not reduce blocks against a batch: its embeddings one block at a
    # time (the same model batches), reduced here; still never P x D at once
    request = ScoreRequest(probs=False, embeddings=True, batch_size=batch_size)
    return _merged(
        block_stats(_embeddings(scorer, model, adapter, dataset, pool[p], request), batch)
        for p in blocks
    )


def _embeddings(
    scorer: Scorer,
    model: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    indices: np.ndarray,
    request: ScoreRequest,
) -> np.ndarray:
    embeddings = scorer.outputs(model, adapter, dataset, indices, request).embeddings
    assert embeddings is not None
    return embeddings


def _merged(parts: Iterable[BatchStats]) -> BatchStats:
    stats = None
    for part in parts:
        stats = merge_stats(stats, part)
    assert stats is not None
    return stats
