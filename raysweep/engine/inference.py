"""Model outputs over sets of dataset indices: the scorer seam and its in-process implementation.

Acquisition, evaluation and the frozen-backbone embedding pass all ask a :class:`Scorer` for
:class:`Outputs` through one :class:`ScoreRequest`: full probabilities / embeddings, the ``k`` best
points by a per-row score (streamed: only ``k`` rows are ever kept), or embeddings written as
parquet parts. :class:`LocalScorer` computes in the trial process; ``raysweep.scoring`` runs the
same per-block computation (:func:`score_block`) on a Ray Data actor pool. Both cut the indices
into the same model batches, so both see bitwise-identical model outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from scipy.special import entr
from torch import nn

from raysweep.data.base import ALDataset, Inputs
from raysweep.engine.committee import Committee
from raysweep.engine.diagnostics import BatchStats, block_stats, merge_stats
from raysweep.engine.embedding_parts import write_part
from raysweep.engine.ranking import TopRows, best_rows, merge_top_rows
from raysweep.models.base import ModelAdapter

BLOCK_ROWS = 16_384  # rows per block: top-k is kept per block, outputs merged per block
RowScore = Callable[[np.ndarray], np.ndarray]  # (B, C) probabilities -> (B,) scores, row-wise


@dataclass(frozen=True)
class TopKRequest:
    """Keep only the ``k`` best rows: descending score, then ascending ``tie_break``, then position.

    ``score`` is either a row-wise function of the probabilities (computed where the model runs) or
    precomputed scores aligned with the indices. ``tie_break`` is the strategy's seeded draw, so every
    backend breaks ties exactly as :func:`raysweep.strategies.top_k` does.
    """

    k: int
    tie_break: np.ndarray
    score: RowScore | np.ndarray


@dataclass(frozen=True)
class MCRequest:
    """``samples`` forward passes with dropout active (batch norm in eval mode).

    The masks of pass ``t`` over the model batch that starts at request position ``p`` come from
    torch's generator seeded with (``seed``, ``t``, ``p``): every backend, block cut and actor
    draws the same masks, and a resumed round draws them again.
    """

    samples: int
    seed: int


@dataclass(frozen=True)
class ScoreRequest:
    probs: bool = True  # (N, C) for every index
    embeddings: bool = False  # (N, D) for every index (or, with ``sink``, written as parquet)
    top_k: TopKRequest | None = None  # the k best rows, with their probs and embeddings
    pool_entropy: bool = False  # the mean predictive entropy over all indices (diagnostics)
    sink: str | None = None  # a directory (path or URI): embeddings go there as parquet parts
    batch_size: int = 256
    # a batch's (|B|, D) embeddings: each block reduces its own embeddings to diagnostics'
    # BatchStats against them, so the batch diagnostics never need the pool's P x D
    against: np.ndarray | None = None
    mc: MCRequest | None = None  # (T, N, C) MC-dropout probabilities for every index
    committee: Committee | None = None  # (M, N, C) probabilities of the committee's heads


@dataclass(frozen=True)
class Outputs:
    probs: np.ndarray | None = None  # (N, C) float32, aligned with the requested indices
    embeddings: np.ndarray | None = None  # (N, D) float32
    top: TopRows | None = None  # the k best rows when top_k was requested
    mean_entropy: float | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)  # parquet parts written to ``sink``
    batch_stats: BatchStats | None = None  # with ``against``; None if a block came back without
    mc_probs: np.ndarray | None = None  # (T, N, C) float32
    committee_probs: np.ndarray | None = None  # (M, N, C) float64


class Scorer(Protocol):
    """Computes what a :class:`ScoreRequest` asks for ``model`` over ``dataset[indices]``.

    Optional: a true ``reduces_against_batch`` attribute says the scorer's blocks carry
    ``BlockResult.stats`` for ``ScoreRequest.against``; without it the batch diagnostics hold
    the pool's embeddings instead (``engine.diagnostics_pass``).
    """

    def outputs(
        self,
        model: nn.Module,
        adapter: ModelAdapter,
        dataset: ALDataset,
        indices: np.ndarray,
        request: ScoreRequest,
    ) -> Outputs: ...


@dataclass
class BlockResult:
    """Row-aligned outputs of one contiguous block of the request (rows keyed by position)."""

    positions: np.ndarray
    probs: np.ndarray | None  # (B, C) when requested
    embeddings: np.ndarray | None  # (B, D) when requested or written
    scores: np.ndarray | None = None  # (B,) float64 acquisition scores, with top_k
    tie_break: np.ndarray | None = None  # (B,)
    entropy: np.ndarray | None = None  # (B,) predictive entropy per row, with top_k
    entropy_sum: float = 0.0  # over the block, with pool_entropy
    start: int = 0  # the block's first position (its place in the entropy sum)
    stats: BatchStats | None = None  # the block against ``request.against``
    mc_probs: np.ndarray | None = None  # (T, B, C) with ``mc``
    committee_probs: np.ndarray | None = None  # (M, B, C) with ``committee``

    def top(self, k: int) -> TopRows:
        """The block's best ``k`` rows."""
        assert self.scores is not None and self.tie_break is not None and self.entropy is not None
        keep = best_rows(self.scores, self.tie_break, self.positions, k)
        return TopRows(
            self.positions[keep], self.scores[keep], self.tie_break[keep], self.entropy[keep]
        )


def score_block(
    module: nn.Module,
    adapter: ModelAdapter,
    inputs: Inputs,
    positions: np.ndarray,
    indices: np.ndarray,
    request: ScoreRequest,
    device: torch.device,
    tie_break: np.ndarray | None = None,
    given_scores: np.ndarray | None = None,
) -> BlockResult:
    """Outputs of one block, in model batches of ``request.batch_size`` from the block's start."""
    give_embeddings = request.embeddings or request.sink is not None
    want_embeddings = (
        give_embeddings or request.committee is not None or request.against is not None
    )
    # an MC-only request (BALD) needs no deterministic pass: T passes, not T + 1
    eval_pass = want_embeddings or not (
        request.mc is not None
        and not request.probs
        and request.top_k is None
        and not request.pool_entropy
    )
    probs, embeddings, mc = [], [], []
    with torch.inference_mode():
        for start in range(0, len(indices), request.batch_size):
            raw = to_host_for(inputs.take(indices[start : start + request.batch_size]), device)
            batch = adapter.prepare(raw, device)
            if want_embeddings:
                logits, features = adapter.logits_and_embeddings(module, batch)
                embeddings.append(features.float().cpu().numpy())
            elif eval_pass:
                logits = adapter.logits(module, batch)
            if eval_pass:
                probs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
            if request.mc is not None:
                mc.append(
                    mc_passes(module, adapter, batch, request.mc, int(positions[start]), device)
                )
    all_probs = np.concatenate(probs) if probs else np.zeros((len(indices), 0), np.float32)
    all_embeddings = np.concatenate(embeddings) if embeddings else None
    result = BlockResult(
        positions=positions,
        probs=all_probs if request.probs else None,
        embeddings=all_embeddings if give_embeddings else None,
        start=int(positions[0]),
        mc_probs=np.concatenate(mc, axis=1) if mc else None,
    )
    if request.against is not None and all_embeddings is not None:
        result.stats = block_stats(all_embeddings, request.against)
    if request.committee is not None and all_embeddings is not None:
        result.committee_probs = request.committee.probs(all_embeddings)
    row_entropy = entr(all_probs).sum(axis=1)  # as diagnostics.mean_entropy computes it
    if request.pool_entropy:
        result.entropy_sum = float(row_entropy.sum(dtype=np.float64))
    if request.top_k is not None:
        if given_scores is None:
            given_scores = request.top_k.score(all_probs)  # type: ignore[operator]
        result.scores = np.asarray(given_scores, dtype=np.float64)
        result.tie_break = np.asarray(tie_break, dtype=np.float64)
        result.entropy = row_entropy
    return result


def to_host_for(raw: Any, device: torch.device) -> Any:
    """A batch as it should leave host memory: pinned for a CUDA device (the copy then runs
    asynchronously), as it is otherwise. uint8 images stay uint8 until the adapter converts them
    on the device (a quarter of float32's bytes)."""
    if device.type == "cuda" and isinstance(raw, torch.Tensor) and not raw.is_cuda:
        return raw.pin_memory()
    return raw


@contextlib.contextmanager
def dropout_active(module: nn.Module) -> Iterator[None]:
    """Training mode switches every dropout on, functional ones included; batch norm stays in
    eval mode, so the passes use (and never update) the fine-tuned statistics. Leaves eval mode."""
    module.train()
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.eval()
    try:
        yield
    finally:
        module.eval()


def mask_seed(seed: int, sample: int, position: int) -> int:
    return int(np.random.SeedSequence([seed, sample, position]).generate_state(1)[0])


def mc_passes(
    module: nn.Module,
    adapter: ModelAdapter,
    batch: Any,
    mc: MCRequest,
    position: int,
    device: torch.device,
) -> np.ndarray:
    """(T, B, C) probabilities of one model batch (first request position ``position``)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    passes = []
    # a forked RNG state: the trial's own torch stream is untouched by the masks drawn here
    with dropout_active(module), torch.random.fork_rng(devices=devices):
        for sample in range(mc.samples):
            torch.manual_seed(mask_seed(mc.seed, sample, position))
            logits = adapter.logits(module, batch)
            passes.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.stack(passes)


def full_outputs_requested(request: ScoreRequest) -> bool:
    """Whether every row's outputs come back (no top-k reduction in the block)."""
    return (
        request.probs
        or request.embeddings
        or request.mc is not None
        or request.committee is not None
    )


def assemble(blocks: list[BlockResult], n: int, request: ScoreRequest, n_classes: int) -> Outputs:
    """Blocks (in any order) -> :class:`Outputs` aligned with the request's indices."""
    probs = embeddings = top = mc = committee = None
    if request.probs:
        probs = np.zeros((n, n_classes), np.float32)
    if request.mc is not None:
        mc = np.zeros((request.mc.samples, n, n_classes), np.float32)
    if request.committee is not None:
        committee = np.zeros((len(request.committee.members), n, n_classes), np.float64)
    for block in blocks:
        if mc is not None and block.mc_probs is not None:
            mc[:, block.positions] = block.mc_probs
        if committee is not None and block.committee_probs is not None:
            committee[:, block.positions] = block.committee_probs
        if probs is not None and block.probs is not None:
            probs[block.positions] = block.probs
        if request.embeddings and block.embeddings is not None:
            if embeddings is None:
                embeddings = np.zeros((n, block.embeddings.shape[1]), np.float32)
            embeddings[block.positions] = block.embeddings
        if request.top_k is not None and block.scores is not None:
            top = merge_top_rows(top, block.top(request.top_k.k), request.top_k.k)
    stats = None
    if request.against is not None:
        for block in blocks:
            if block.stats is None:  # a backend that does not carry them (reduces_against_batch)
                stats = None
                break
            stats = merge_stats(stats, block.stats)
    mean_entropy = None
    if request.pool_entropy and n:
        # summed in block order, so every backend adds the same numbers in the same order
        ordered = sorted(blocks, key=lambda b: b.start)
        mean_entropy = float(sum(b.entropy_sum for b in ordered) / n)
    return Outputs(
        probs=probs,
        embeddings=embeddings,
        top=top,
        mean_entropy=mean_entropy,
        batch_stats=stats,
        mc_probs=mc,
        committee_probs=committee,
    )


class LocalScorer:
    """Today's path: batches in the trial process on the trial's device."""

    # its blocks carry BatchStats for ScoreRequest.against (engine.diagnostics_pass asks)
    reduces_against_batch = True

    def __init__(self, device: torch.device | str = "cpu", batch_size: int | None = None) -> None:
        self.device = torch.device(device)
        self.batch_size = batch_size  # overrides the request's model batch when set

    def outputs(
        self,
        model: nn.Module,
        adapter: ModelAdapter,
        dataset: ALDataset,
        indices: np.ndarray,
        request: ScoreRequest,
    ) -> Outputs:
        model.to(self.device).eval()
        indices = np.asarray(indices, dtype=np.int64)
        if self.batch_size is not None:
            request = dataclasses.replace(request, batch_size=self.batch_size)
        blocks, parts = [], []
        for positions in block_positions(len(indices), request.batch_size):
            block = score_block(
                model,
                adapter,
                dataset.inputs,
                positions,
                indices[positions],
                request,
                self.device,
                tie_break=None if request.top_k is None else request.top_k.tie_break[positions],
                given_scores=block_given_scores(request, positions),
            )
            if request.sink is not None:  # written as it comes: the trial never holds N x D
                parts.append(write_part(request.sink, indices[positions], block.embeddings))
                continue
            if request.top_k is not None and not full_outputs_requested(request):
                block = reduced(block, request.top_k.k)  # memory stays O(k + block)
            blocks.append(block)
        if request.sink is not None:
            return Outputs(parts=parts)
        return assemble(blocks, len(indices), request, dataset.num_classes)


def reduced(block: BlockResult, k: int) -> BlockResult:
    """Only the block's best ``k`` rows (and its entropy sum)."""
    top = block.top(k)
    return BlockResult(
        positions=top.positions,
        probs=None,
        embeddings=None,
        scores=top.scores,
        tie_break=top.tie_break,
        entropy=top.entropy,
        entropy_sum=block.entropy_sum,
        start=block.start,
    )


def block_positions(n: int, batch_size: int, block_rows: int | None = None) -> list[np.ndarray]:
    """The request's blocks: whole model batches each, the same cut for every backend."""
    step = max(1, (block_rows or BLOCK_ROWS) // batch_size) * batch_size
    return [np.arange(start, min(start + step, n)) for start in range(0, n, step)]


def block_given_scores(request: ScoreRequest, positions: np.ndarray) -> np.ndarray | None:
    if request.top_k is None or callable(request.top_k.score):
        return None
    return np.asarray(request.top_k.score)[positions]
