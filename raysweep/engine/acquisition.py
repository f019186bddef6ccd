"""One acquisition step: the round's candidate pool, the model outputs the strategy needs, the
strategy's choice (checked), and what the batch looks like against the pool.

Strategies that rank a row-wise score of the probabilities (least confidence, margin, entropy) or
need no model outputs (random) are *streamed*: the scorer keeps only the best ``k`` rows of each
block, ties broken by the strategy's own seeded draw, so the choice equals ``strategy.select``
and the pool's P x C probabilities are never held. Other strategies get full outputs.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from torch import nn

from raysweep.engine.diagnostics import mean_entropy
from raysweep.engine.diagnostics_pass import embedding_diagnostics, reduces_against_batch
from raysweep.engine.inference import Outputs, Scorer, ScoreRequest, TopKRequest
from raysweep.engine.metrics import acquisition_summary
from raysweep.engine.parts import TrajectoryParts
from raysweep.engine.ranking import best_rows
from raysweep.engine.seeding import Stream, numpy_rng
from raysweep.engine.state import Acquisition
from raysweep.engine.strategy_inputs import strategy_inputs
from raysweep.engine.streaming import need_names, row_score
from raysweep.spec.trajectory import TrajectorySpec
from raysweep.strategies import PoolView, ScoringStrategy, Selection
from raysweep.strategies.validation import check_selection


def candidate_pool(
    parts: TrajectoryParts, labeled: np.ndarray, spec: TrajectorySpec, r: int
) -> np.ndarray:
    """Unlabeled pool indices for round ``r``, randomly down-sampled if the recipe asks."""
    pool = np.setdiff1d(parts.dataset.pool_indices, labeled, assume_unique=True)
    limit = spec.recipe.pool_subsample
    if limit is not None and limit < len(pool):
        rng = numpy_rng(spec.seed, Stream.POOL, r + 1)
        pool = np.sort(rng.choice(pool, size=limit, replace=False))
    return pool


def acquire(
    model: nn.Module,
    parts: TrajectoryParts,
    labeled: np.ndarray,
    spec: TrajectorySpec,
    r: int,
    scorer: Scorer,
    dynamics: np.ndarray | None = None,
) -> Acquisition:
    """Score the round's pool as the strategy needs and acquire ``parts.batch_sizes[r]`` points.

    ``dynamics`` is the (L, K) correctness of the labeled set during this round's fine-tuning,
    for strategies that need training dynamics (ALVIN).
    """
    ds = parts.dataset
    pool = candidate_pool(parts, labeled, spec, r)
    batch_size = parts.batch_sizes[r]
    diagnostics = spec.recipe.batch_diagnostics  # entropy, diversity, representativeness
    view = PoolView(
        pool_indices=pool,
        labeled_indices=labeled,
        rng=numpy_rng(spec.seed, Stream.STRATEGY, r),
        num_classes=ds.num_classes,
        labeled_labels=ds.labels[labeled],
    )
    # diversity and representativeness: reduced against the batch after the choice, or, with a
    # scorer that cannot reduce against a batch, from the pool's embeddings held as before
    hold = diagnostics and not reduces_against_batch(scorer)
    started = time.perf_counter()
    streamed = _streamed_request(
        parts, view, batch_size, diagnostics, hold, spec.train.eval_batch_size, r
    )
    outputs: Outputs | None = None
    if streamed is not None:
        if (
            streamed.top_k is not None
            and isinstance(streamed.top_k.score, np.ndarray)
            and not diagnostics
        ):  # e.g. random without diagnostics: no model outputs at all
            order = best_rows(
                streamed.top_k.score, streamed.top_k.tie_break, np.arange(len(pool)), batch_size
            )
            selected, scores = pool[order], streamed.top_k.score[order]
        else:
            outputs = scorer.outputs(model, parts.adapter, ds, pool, streamed)
            assert outputs.top is not None
            selected, scores = pool[outputs.top.positions], outputs.top.scores
        scored = time.perf_counter()
    else:
        fields, outputs = strategy_inputs(
            model,
            parts.adapter,
            ds,
            parts.strategy,
            pool,
            labeled,
            spec,
            r,
            scorer,
            dynamics,
            diagnostics,
            hold,
        )
        scored = time.perf_counter()
        view = dataclasses.replace(view, **fields)
        selection = parts.strategy.select(view, batch_size, round_index=r)
        selected, scores = selection.indices, selection.scores
    selected = np.asarray(selected, dtype=np.int64)
    # the streamed path never went through select(): the same check guards the labeled set
    check_selection(Selection(selected, np.asarray(scores)), pool, batch_size)
    acquisition = Acquisition(
        indices=selected.tolist(),
        scores=np.asarray(scores, dtype=np.float64).tolist(),
        labels=ds.labels[selected].tolist(),
        groups=ds.groups[selected].tolist(),
        pool_size=len(pool),
        score_seconds=scored - started,
        select_seconds=time.perf_counter() - scored,
        summary=batch_summary(parts, selected, pool, outputs if diagnostics else None),
    )
    if diagnostics:  # a second look at the pool, against the chosen batch
        acquisition.summary.update(
            embedding_diagnostics(
                model,
                parts.adapter,
                ds,
                pool,
                selected,
                scorer,
                spec.train.eval_batch_size,
                held=None if outputs is None else outputs.embeddings,
            )
        )
    return acquisition


def _streamed_request(
    parts: TrajectoryParts,
    view: PoolView,
    k: int,
    diagnostics: bool,
    hold_embeddings: bool,
    batch_size: int,
    round_index: int,
) -> ScoreRequest | None:
    """The top-k request of a streamable strategy (drawing its RNG as ``select`` would), or None."""
    strategy = parts.strategy
    if not isinstance(strategy, ScoringStrategy):
        return None
    needs = need_names(strategy.needs)
    score = row_score(strategy, round_index)
    if needs and score is None:
        return None
    if not needs:  # e.g. random: the scores come from the strategy's RNG, not the model
        score = np.asarray(strategy.score(view), dtype=np.float64)
    tie_break = view.rng.random(len(view.pool_indices))  # the draw strategies.top_k makes
    assert score is not None
    return ScoreRequest(
        probs=False,
        embeddings=hold_embeddings,
        top_k=TopKRequest(k=k, tie_break=tie_break, score=score),
        pool_entropy=diagnostics,
        batch_size=batch_size,
    )


def batch_summary(
    parts: TrajectoryParts, selected: np.ndarray, pool: np.ndarray, outputs: Outputs | None
) -> dict[str, float]:
    """Group and class counts vs the pool's base rates; the batch's and the pool's mean
    entropy when the pool's outputs were computed (diversity and representativeness: see
    :mod:`raysweep.engine.diagnostics_pass`)."""
    ds = parts.dataset
    summary: dict[str, float] = {}
    if ds.log_each_group:  # hundreds of camera traps or reviewers: not one metric each
        summary = acquisition_summary(ds.groups[selected], ds.groups[pool], ds.group_names)
    if ds.log_each_class:
        by_class = acquisition_summary(ds.labels[selected], ds.labels[pool], ds.class_names)
        summary.update({f"class/{key}": value for key, value in by_class.items()})
    else:  # 182 species x (count, upsampling) each round would swamp the tracking store
        summary["distinct_classes"] = float(len(np.unique(ds.labels[selected])))
    if outputs is None:
        return summary
    chosen = np.searchsorted(pool, selected)  # pool is sorted: positions of the batch in it
    if outputs.top is not None:  # streamed: the batch's rows came back with the top k
        summary["batch/mean_entropy"] = float(outputs.top.entropy.mean())
        summary["pool/mean_entropy"] = float(outputs.mean_entropy)  # type: ignore[arg-type]
    elif outputs.probs is not None:
        summary["batch/mean_entropy"] = mean_entropy(outputs.probs[chosen])
        summary["pool/mean_entropy"] = mean_entropy(outputs.probs)
    return summary
