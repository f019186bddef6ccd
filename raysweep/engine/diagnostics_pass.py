"""The pass over the pool that measures an acquired batch's diversity and representativeness.

The batch is known only after the strategy chose it, so its diagnostics need a second look at
the pool: the batch's own embeddings (one small request), then one request over the pool with
``ScoreRequest.against`` = those embeddings, in which every block reduces its embeddings to
:class:`BatchStats` where it was scored. The trial merges O(|B| x K) numbers per block and never
holds the pool's P x D embeddings. Where the pool's embeddings are held anyway (a strategy that
needs them, or a scorer that cannot reduce against a batch: ``reduces_against_batch``), the same
statistics are reduced from the held matrix in the same blocks, at no extra model cost.

Every path gives the same bits: the batch's embeddings are computed in the very model batches
the pool pass uses (the model batches that hold a batch point, scored together), because a
network's float32 outputs for one example can change with the rest of its model batch.
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


def reduces_against_batch(scorer: Scorer) -> bool:
    """Whether ``scorer``'s blocks carry :class:`BatchStats` (else the pool's embeddings are held)."""
    return bool(getattr(scorer, "reduces_against_batch", False))


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
    model_batch = getattr(scorer, "batch_size", None) or batch_size  # a scorer's override wins
    if held is not None:
        blocks = block_positions(len(pool), model_batch)  # the cut a scorer would make
        return _merged(block_stats(held[positions], held[chosen]) for positions in blocks)
    batch = batch_embeddings(model, adapter, dataset, pool, chosen, scorer, model_batch)
    request = ScoreRequest(probs=False, against=batch, batch_size=batch_size)
    stats = scorer.outputs(model, adapter, dataset, pool, request).batch_stats
    if stats is None:
        raise RuntimeError(f"{type(scorer).__name__} returned no batch statistics")
    return stats


def batch_embeddings(
    model: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    pool: np.ndarray,
    chosen: np.ndarray,
    scorer: Scorer,
    model_batch: int,
) -> np.ndarray:
    """The embeddings of ``pool[chosen]`` (sorted positions), bitwise as the pool pass computes
    them: every model batch of the pool that holds a chosen point is scored whole, one block of
    such batches per request (so at most a block's embeddings are held, not |B| batches')."""
    starts = np.unique(chosen // model_batch) * model_batch
    # whole model batches, in pool order: only the pool's last (maybe partial) batch can be
    # short and it comes last, so each request is cut into exactly these batches
    rows = np.concatenate([np.arange(s, min(s + model_batch, len(pool))) for s in starts])
    wanted = np.searchsorted(rows, chosen)  # ascending: pieces come back in ``chosen`` order
    request = ScoreRequest(probs=False, embeddings=True, batch_size=model_batch)
    pieces = []
    for positions in block_positions(len(rows), model_batch):  # whole batches per block
        block = scorer.outputs(model, adapter, dataset, pool[rows[positions]], request).embeddings
        assert block is not None
        inside = wanted[(wanted >= positions[0]) & (wanted <= positions[-1])]
        pieces.append(block[inside - positions[0]])
    return np.concatenate(pieces)


def _merged(parts: Iterable[BatchStats]) -> BatchStats:
    stats = None
    for part in parts:
        stats = merge_stats(stats, part)
    assert stats is not None
    return stats
