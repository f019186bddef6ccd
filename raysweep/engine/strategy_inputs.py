"""What the round's strategy declared it needs (``strategies.needs.Need``), computed for its
:class:`PoolView`: probabilities and embeddings of the pool and the labeled set, MC-dropout
passes, a bootstrap committee of heads, the training dynamics of the labeled set, and the
classifier's last linear layer. Nothing is computed that the strategy (or the batch diagnostics)
does not use."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.committee import fit_committee
from raysweep.engine.inference import LocalScorer, MCRequest, Outputs, Scorer, ScoreRequest
from raysweep.engine.seeding import Stream, numpy_rng, torch_seed
from raysweep.errors import ConfigError
from raysweep.models.base import ModelAdapter
from raysweep.spec.trajectory import TrajectorySpec
from raysweep.strategies import LinearHead, Need, Strategy


def strategy_inputs(
    model: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    strategy: Strategy,
    pool: np.ndarray,
    labeled: np.ndarray,
    spec: TrajectorySpec,
    r: int,
    scorer: Scorer,
    dynamics: np.ndarray | None,
    diagnostics: bool,
    diagnostics_embeddings: bool = False,
) -> tuple[dict[str, Any], Outputs | None]:
    """PoolView fields for ``strategy.needs`` and the pool's outputs (for the batch diagnostics:
    probabilities, and embeddings too with ``diagnostics_embeddings``).

    Every model output goes through ``scorer`` (MC passes and the committee's pool probabilities
    too), so a Ray Data scorer computes them where the pool is scored.
    """
    needs = set(strategy.needs)
    batch = spec.train.eval_batch_size
    fields: dict[str, Any] = {}
    committee = None
    if needs & {Need.LABELED_PROBS, Need.LABELED_EMBEDDINGS, Need.COMMITTEE_PROBS}:
        labeled_embeddings = bool(needs & {Need.LABELED_EMBEDDINGS, Need.COMMITTEE_PROBS})
        request = ScoreRequest(probs=True, embeddings=labeled_embeddings, batch_size=batch)
        mine = scorer.outputs(model, adapter, dataset, labeled, request)
        fields.update(labeled_probs=mine.probs, labeled_embeddings=mine.embeddings)
    if Need.COMMITTEE_PROBS in needs:
        # fitted here on the (small) labeled set; the pool's probabilities come with the pool's
        # outputs, so the pool's P x D embeddings need not reach this process for them
        committee = fit_committee(
            fields["labeled_embeddings"],
            dataset.labels[labeled],
            strategy.committee_size,
            dataset.num_classes,
            numpy_rng(spec.seed, Stream.STRATEGY, r),
        )
    outputs = None
    if diagnostics or needs & {Need.PROBS, Need.EMBEDDINGS, Need.COMMITTEE_PROBS}:
        request = ScoreRequest(
            probs=True,
            # the diagnostics need the pool's embeddings only where the scorer cannot reduce
            # them against the chosen batch later (engine.diagnostics_pass)
            embeddings=diagnostics_embeddings or Need.EMBEDDINGS in needs,
            batch_size=batch,
            committee=committee,
        )
        outputs = scorer.outputs(model, adapter, dataset, pool, request)
        fields.update(probs=outputs.probs, embeddings=outputs.embeddings)
        if committee is not None:
            fields["committee_probs"] = outputs.committee_probs
    if Need.MC_PROBS in needs:
        check_dropout(model, spec.model, spec.strategy)
        seed = torch_seed(spec.seed, Stream.STRATEGY, r)
        mc = MCRequest(strategy.mc_samples, seed)
        request = ScoreRequest(probs=False, mc=mc, batch_size=batch)
        fields["mc_probs"] = scorer.outputs(model, adapter, dataset, pool, request).mc_probs
    if Need.TRAINING_DYNAMICS in needs:
        fields["training_dynamics"] = dynamics
    if Need.HEAD in needs:
        fields["head"] = LinearHead(*last_linear_layer(model, dataset.num_classes))
    return fields, outputs


def has_dropout(module: nn.Module) -> bool:
    """Whether ``module`` drops anything: a dropout layer with p > 0, or a module applying
    functional dropout through a ``drop_rate`` > 0 (timm's classifier heads do)."""
    return any(
        (isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0)
        or float(getattr(m, "drop_rate", 0.0) or 0.0) > 0
        for m in module.modules()
    )


def check_dropout(module: nn.Module, model_name: str, strategy: str) -> None:
    """MC dropout on a network without dropout gives T identical passes: a silently zero BALD."""
    if not has_dropout(module):
        raise ConfigError(
            f"strategy {strategy} needs MC-dropout passes but model {model_name} has no dropout "
            "(set model_args.drop_rate > 0 for timm models)"
        )


def mc_dropout_probs(
    module: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    indices: np.ndarray,
    samples: int,
    batch_size: int,
    device: torch.device,
    seed: int,
) -> np.ndarray:
    """(T, P, C) probabilities of ``samples`` passes with dropout active, computed in this process
    (the masks are :class:`MCRequest`'s: the same on every backend). The module is left in eval
    mode."""
    request = ScoreRequest(probs=False, mc=MCRequest(samples, seed), batch_size=batch_size)
    outputs = LocalScorer(device).outputs(module, adapter, dataset, indices, request)
    assert outputs.mc_probs is not None
    return outputs.mc_probs


def last_linear_layer(module: nn.Module, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(weight (C, D), bias (C,)) of the layer that maps embeddings to the ``num_classes`` logits:
    the last Linear (or 1x1 Conv2d, as BiT's head is) of ``module`` with ``num_classes`` outputs."""
    head: nn.Module | None = None
    for layer in module.modules():
        if (isinstance(layer, nn.Linear) and layer.out_features == num_classes) or (
            isinstance(layer, nn.Conv2d)
            and layer.out_channels == num_classes
            and layer.kernel_size == (1, 1)
        ):
            head = layer
    if head is None:
        raise ConfigError(f"the model has no linear layer with {num_classes} outputs to expose")
    weight = head.weight.detach().float().cpu().numpy().reshape(num_classes, -1)
    bias = head.bias
    return weight, (
        bias.detach().float().cpu().numpy()
        if bias is not None
        else np.zeros(num_classes, dtype=np.float32)
    )
