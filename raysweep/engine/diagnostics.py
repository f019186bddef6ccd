"""Batch diagnostics of an acquired batch (ALVIN, Table 3; Ein-Dor et al. 2020).

- uncertainty: mean predictive entropy of the batch;
- diversity: D(B) = (mean over pool points x of min_{b in B} ||x - b||)^-1, higher = the batch
  covers the pool better;
- representativeness: mean over b in B of the average cosine similarity between b and its K most
  similar pool points, higher = fewer outliers.

Both embedding diagnostics are functions of small, mergeable sufficient statistics
(:class:`BatchStats`): per pool block, the sum of each row's distance to its nearest batch point,
and each batch point's K + 1 most similar rows of the block. :func:`block_stats` computes them
for one block (wherever the block's embeddings are: a scorer, a Ray Data actor, or a held
matrix) and :func:`merge_stats` joins blocks in any order, so nobody holds the pool's P x D
embeddings and memory stays O(block x batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import entr

CHUNK = 65_536  # pool rows per block of a held matrix: ~CHUNK x |B| distances at once
NEIGHBOURS = 10  # K of the representativeness


@dataclass
class BatchStats:
    """The pool seen so far against one batch: O(blocks + |B| x K) numbers, whatever the pool."""

    rows: int  # pool rows seen
    nearest_sums: list[float]  # per block: sum of its rows' distances to their nearest batch point
    top_similarity: np.ndarray  # (|B|, K + 1) best cosine similarities to pool rows, descending


def mean_entropy(probs: np.ndarray) -> float:
    """Mean predictive entropy -sum_i p_i log p_i of the rows of ``probs`` (0 log 0 = 0)."""
    return float(entr(probs).sum(axis=1).mean())


def block_stats(
    block_embeddings: np.ndarray, batch_embeddings: np.ndarray, k: int = NEIGHBOURS
) -> BatchStats:
    """The statistics of one block of pool rows against the batch (float64 throughout)."""
    block = block_embeddings.astype(np.float64)
    batch = batch_embeddings.astype(np.float64)
    # ||x - b||^2 = ||x||^2 - 2 x.b + ||b||^2, clipped at 0 against round-off
    squared = (
        (block**2).sum(axis=1)[:, None] - 2 * block @ batch.T + (batch**2).sum(axis=1)[None, :]
    )
    nearest = np.sqrt(np.clip(squared, 0, None).min(axis=1)) if len(batch) else np.zeros(0)
    similarity = _unit(batch) @ _unit(block).T  # (|B|, rows)
    return BatchStats(
        rows=len(block),
        nearest_sums=[float(nearest.sum())],
        top_similarity=_best(similarity, k + 1),
    )


def merge_stats(current: BatchStats | None, other: BatchStats) -> BatchStats:
    """Both together; the order of merging changes no result (sums are added exactly)."""
    if current is None:
        return other
    joined = np.concatenate([current.top_similarity, other.top_similarity], axis=1)
    return BatchStats(
        rows=current.rows + other.rows,
        nearest_sums=current.nearest_sums + other.nearest_sums,
        top_similarity=_best(joined, current.top_similarity.shape[1]),
    )


def diversity_of(stats: BatchStats) -> float:
    """Inverse of the mean distance from each pool point to its nearest batch point."""
    if stats.rows == 0:
        return float("nan")
    # fsum: exactly rounded, so blocks merged in any order (e.g. as actors finish) agree bitwise
    mean = math.fsum(stats.nearest_sums) / stats.rows
    return float("inf") if mean == 0 else float(1.0 / mean)


def representativeness_of(stats: BatchStats, k: int = NEIGHBOURS) -> float:
    """Mean over the batch of the average cosine similarity to its ``k`` most similar pool points.

    A batch point is itself in the pool; it is left out of its own neighbours.
    """
    k = min(k, stats.rows - 1, stats.top_similarity.shape[1] - 1)
    if k < 1:
        return float("nan")
    # the most similar pool point of a batch point is the point itself (similarity 1)
    return float(stats.top_similarity[:, 1 : k + 1].mean())


def held_stats(
    pool_embeddings: np.ndarray,
    batch_embeddings: np.ndarray,
    k: int = NEIGHBOURS,
    block_rows: int = CHUNK,
) -> BatchStats:
    """The statistics of a held (P, D) matrix, reduced ``block_rows`` rows at a time."""
    stats = None
    for start in range(0, max(len(pool_embeddings), 1), block_rows):
        block = pool_embeddings[start : start + block_rows]
        stats = merge_stats(stats, block_stats(block, batch_embeddings, k))
    assert stats is not None
    return stats


def diversity(pool_embeddings: np.ndarray, batch_embeddings: np.ndarray) -> float:
    """Inverse of the mean distance from each pool point to its nearest batch point."""
    return diversity_of(held_stats(pool_embeddings, batch_embeddings, k=0, block_rows=CHUNK))


def representativeness(
    pool_embeddings: np.ndarray, batch_embeddings: np.ndarray, k: int = NEIGHBOURS
) -> float:
    """Mean over the batch of the average cosine similarity to its ``k`` most similar pool points
    (the batch point itself left out)."""
    return representativeness_of(held_stats(pool_embeddings, batch_embeddings, k, CHUNK), k)


def _best(similarity: np.ndarray, keep: int) -> np.ndarray:
    """Each row's ``keep`` largest values, descending, padded with -inf if the row is shorter."""
    rows, columns = similarity.shape
    if columns > keep:
        similarity = np.partition(similarity, columns - keep, axis=1)[:, columns - keep :]
    best = -np.sort(-similarity, axis=1)
    if best.shape[1] < keep:
        best = np.concatenate([best, np.full((rows, keep - best.shape[1]), -np.inf)], axis=1)
    return best


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
