"""Batch diagnostics from per-block sufficient statistics, against the full P x |B| matrices.

The reference computes every pool-to-batch distance and cosine similarity at once (scipy's
``cdist``), an independent route to the same definitions; the statistics are computed block by
block (uneven blocks, a partial last one, blocks smaller than K + 1) and merged in any order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scoring_helpers import model_and_pool

from raysweep.engine import inference
from raysweep.engine.acquisition import acquire
from raysweep.engine.diagnostics import (
    BatchStats,
    block_stats,
    diversity,
    diversity_of,
    merge_stats,
    representativeness,
    representativeness_of,
)
from raysweep.engine.diagnostics_pass import batch_embeddings, pool_batch_stats
from raysweep.engine.inference import LocalScorer, ScoreRequest
from raysweep.engine.parts import TrajectoryParts
from raysweep.models import create_adapter
from raysweep.spec.trajectory import Recipe, TrainConfig, TrajectorySpec
from raysweep.strategies import create_strategy


def _reference(pool: np.ndarray, batch: np.ndarray, k: int) -> tuple[float, float]:
    """(diversity, representativeness) from the whole distance and similarity matrices."""
    pool, batch = pool.astype(np.float64), batch.astype(np.float64)
    nearest = cdist(pool, batch).min(axis=1)
    similarity = 1 - cdist(batch, pool, metric="cosine")  # (|B|, P)
    best = -np.sort(-similarity, axis=1)[:, 1 : k + 1]  # the batch point itself left out
    return 1 / nearest.mean(), best.mean()


def _merged(pool: np.ndarray, batch: np.ndarray, cuts: list[int], order: list[int]) -> BatchStats:
    blocks = np.split(np.arange(len(pool)), cuts)
    stats = None
    for b in order:
        stats = merge_stats(stats, block_stats(pool[blocks[b]], batch))
    assert stats is not None
    return stats


@pytest.mark.parametrize("cuts", [[64, 128, 192], [3, 103, 108], []])
def test_merged_blocks_equal_the_full_matrix_computation(cuts):
    rng = np.random.default_rng(7)
    pool = rng.normal(size=(203, 7)).astype(np.float32)  # 203: the last block is partial
    batch = pool[rng.choice(len(pool), size=9, replace=False)]
    in_order = _merged(pool, batch, cuts, list(range(len(cuts) + 1)))
    shuffled = _merged(pool, batch, cuts, list(rng.permutation(len(cuts) + 1)))
    want_diversity, want_representativeness = _reference(pool, batch, k=10)
    assert diversity_of(in_order) == pytest.approx(want_diversity, rel=1e-12)
    assert representativeness_of(in_order) == pytest.approx(want_representativeness, rel=1e-12)
    # the order in which blocks arrive (e.g. from several actors) changes no bit
    assert diversity_of(shuffled) == diversity_of(in_order)
    assert representativeness_of(shuffled) == representativeness_of(in_order)
    # and the held-matrix functions are the same statistics
    assert diversity(pool, batch) == pytest.approx(want_diversity, rel=1e-12)
    assert representativeness(pool, batch) == pytest.approx(want_representativeness, rel=1e-12)
    assert in_order.rows == 203 and in_order.top_similarity.shape == (9, 11)


def test_hand_worked_blocks():
    # 1-d pool 0, 1, 2 | 4 in two blocks; batch {0, 4}: nearest distances 0, 1, 2 | 0
    pool = np.array([[0.0], [1.0], [2.0], [4.0]])
    batch = np.array([[0.0], [4.0]])
    stats = merge_stats(block_stats(pool[:3], batch), block_stats(pool[3:], batch))
    assert stats.nearest_sums == [3.0, 0.0] and stats.rows == 4
    assert diversity_of(stats) == 4 / 3  # 1 / (3 / 4)
    # unit vectors at 0, 10, 20, 90 degrees in blocks {0, 10} | {20, 90}; batch: 0 and 90
    angles = np.radians([0.0, 10.0, 20.0, 90.0])
    pool = np.stack([np.cos(angles), np.sin(angles)], axis=1) * np.array([[1], [2], [3], [4]])
    batch = pool[[0, 3]]
    stats = merge_stats(block_stats(pool[:2], batch, k=2), block_stats(pool[2:], batch, k=2))
    first = (math.cos(np.radians(10)) + math.cos(np.radians(20))) / 2
    last = (math.cos(np.radians(70)) + math.cos(np.radians(80))) / 2
    assert representativeness_of(stats, k=2) == pytest.approx((first + last) / 2, rel=1e-12)
    # K = 10 > the 3 other points: as many neighbours as there are
    stats = merge_stats(block_stats(pool[:2], batch), block_stats(pool[2:], batch))
    assert representativeness_of(stats) == pytest.approx(
        np.mean([np.mean(np.cos(np.radians(d))) for d in ([10, 20, 90], [70, 80, 90])]),
        rel=1e-12,
    )


def test_scorer_reduces_each_block_against_the_batch(monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 96)  # blocks of 64 rows, the last one partial
    model, adapter, dataset, pool = model_and_pool()
    pool = np.sort(pool)
    scorer = LocalScorer()
    full = scorer.outputs(
        model, adapter, dataset, pool, ScoreRequest(probs=False, embeddings=True, batch_size=64)
    ).embeddings
    chosen = np.array([3, 77, 150, 299])
    request = ScoreRequest(probs=False, against=full[chosen], batch_size=64)
    outputs = scorer.outputs(model, adapter, dataset, pool, request)
    assert outputs.embeddings is None and outputs.probs is None  # nothing P-sized came back
    stats = outputs.batch_stats
    assert stats is not None and len(stats.nearest_sums) == 5  # 300 rows = 4 x 64 + 44
    want_diversity, want_representativeness = _reference(full, full[chosen], k=10)
    # the definition's ||x||^2 - 2 x.b + ||b||^2 leaves ~sqrt(round-off) where x is b itself
    assert diversity_of(stats) == pytest.approx(want_diversity, rel=1e-7)
    assert representativeness_of(stats) == pytest.approx(want_representativeness, rel=1e-12)
    # the acquisition's pass (the batch embedded by a request of its own) gives the bits of the
    # held matrix: the batch's rows are scored in the pool pass's own model batches
    streamed = pool_batch_stats(model, adapter, dataset, pool, pool[chosen], scorer, 64)
    held = pool_batch_stats(model, adapter, dataset, pool, pool[chosen], scorer, 64, held=full)
    assert streamed.nearest_sums == held.nearest_sums == stats.nearest_sums
    assert np.array_equal(streamed.top_similarity, held.top_similarity)
    assert torch.get_num_threads() == 1  # model_and_pool: the kernels the comparison assumes


def test_the_batch_is_embedded_in_the_pool_passes_model_batches(monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 96)
    model, adapter, dataset, pool = model_and_pool()
    pool = np.sort(pool)
    request = ScoreRequest(probs=False, embeddings=True, batch_size=64)
    full = LocalScorer().outputs(model, adapter, dataset, pool, request).embeddings
    chosen = np.array([0, 1, 130, 290, 299])  # batches 0, 2 and the partial last one (4)
    batch = batch_embeddings(model, adapter, dataset, pool, chosen, LocalScorer(), 64)
    assert np.array_equal(batch, full[chosen])
    alone = LocalScorer().outputs(model, adapter, dataset, pool[chosen], request).embeddings
    assert np.allclose(alone, full[chosen], atol=1e-4)  # the same function, other model batches


class HoldingScorer(LocalScorer):
    """The in-process scorer declining to reduce against a batch, as a backend without
    ``BlockResult.stats`` does (ray_data today): the acquisition then holds the embeddings."""

    reduces_against_batch = False


@pytest.mark.parametrize("strategy", ["margin", "random", "bald"])
def test_acquisition_diagnostics_are_the_same_bits_streamed_or_held(strategy, monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 96)
    model, adapter, dataset, _ = model_and_pool()
    spec = TrajectorySpec(
        dataset="shapes",
        model="tiny_cnn",
        strategy=strategy,
        seed=0,
        pretrained=False,
        recipe=Recipe(seed_size=10, first_batch=12, budget=22),
        train=TrainConfig(eval_batch_size=64),
    )
    args = {"mc_samples": 2} if strategy == "bald" else {}  # BALD: not streamed, MC passes
    parts = TrajectoryParts(dataset, adapter, create_strategy(strategy, args), [12])
    labeled = np.sort(dataset.pool_indices[:10])
    if strategy == "bald":  # MC dropout needs dropout: a network with it
        model = create_adapter("tiny_cnn", False, {"drop_rate": 0.3}).create(2, 0).eval()
    streamed = acquire(model, parts, labeled, spec, 0, LocalScorer())
    held = acquire(model, parts, labeled, spec, 0, HoldingScorer())
    assert streamed.indices == held.indices
    keys = (
        "batch/mean_entropy",
        "pool/mean_entropy",
        "batch/diversity",
        "batch/representativeness",
    )
    assert [streamed.summary[k] for k in keys] == [held.summary[k] for k in keys]
