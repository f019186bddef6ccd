"""Shared pieces of the scoring tests: a small real model and pool, and the reference selection."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from raysweep.data import load_dataset
from raysweep.data.base import ALDataset
from raysweep.engine.inference import Scorer, ScoreRequest, TopKRequest
from raysweep.engine.seeding import Stream, numpy_rng
from raysweep.engine.streaming import row_score
from raysweep.models import create_adapter
from raysweep.models.base import ModelAdapter
from raysweep.strategies import PoolView, create_strategy

STRATEGIES = ["least_confidence", "margin", "entropy", "random"]


def model_and_pool(
    n: int = 600, zero_head: bool = False
) -> tuple[nn.Module, ModelAdapter, ALDataset, np.ndarray]:
    """timm's tiny ResNet (random init) and an *unsorted* shapes pool of n / 2 points."""
    torch.set_num_threads(1)  # the actors score with one thread: same kernels, same bits
    dataset = load_dataset("shapes", {"n": n})
    adapter = create_adapter("tiny_cnn", False, {})
    model = adapter.create(dataset.num_classes, 0).eval()
    if zero_head:  # every point gets the same probabilities: every score ties
        with torch.no_grad():
            model.get_classifier().weight.zero_()
            model.get_classifier().bias.zero_()
    pool = np.random.default_rng(1).permutation(dataset.pool_indices)
    return model, adapter, dataset, pool


def reference_selection(
    strategy_name: str, scorer: Scorer, model, adapter, dataset, pool, k: int, batch: int
) -> np.ndarray:
    """What the strategy itself picks from the full probabilities (``strategies.top_k``)."""
    probs = scorer.outputs(model, adapter, dataset, pool, ScoreRequest(batch_size=batch)).probs
    view = PoolView(pool, pool[:0], numpy_rng(0, Stream.STRATEGY, 0), probs=probs)
    return create_strategy(strategy_name).select(view, k).indices


def streamed_request(strategy_name: str, pool: np.ndarray, k: int, batch: int) -> ScoreRequest:
    """The top-k request acquisition makes for ``strategy_name`` (same RNG draws)."""
    strategy = create_strategy(strategy_name)
    rng = numpy_rng(0, Stream.STRATEGY, 0)
    score = row_score(strategy)
    if score is None:  # random: scores drawn from the strategy's stream first
        score = strategy.score(PoolView(pool, pool[:0], rng))
    tie_break = rng.random(len(pool))
    return ScoreRequest(
        probs=False,
        top_k=TopKRequest(k=k, tie_break=tie_break, score=score),
        pool_entropy=True,
        batch_size=batch,
    )


def descendants(root: int) -> list[int]:
    """Process ids under ``root`` (from /proc: no process outside this test is touched)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def scoring_actor_pids() -> set[int]:
    """The scoring actors of *this* test's Ray (descendants of this process, from /proc)."""
    found = set()
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            if b"BlockScorer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
    return found
