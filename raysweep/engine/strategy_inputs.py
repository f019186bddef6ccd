"""What the round's strategy declared it needs (``strategies.needs.Need``), computed for its
:class:`PoolView`: probabilities and embeddings of the pool and the labeled set, MC-dropout
passes, a bootstrap committee of heads, the training dynamics of the labeled set, and the
classifier's last linear layer. Nothing is computed that the strategy (or the batch diagnostics)
does not use."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.inference import Outputs, Scorer, ScoreRequest, score_block
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
    probabilities, and embeddings too with ``diagnostics_embeddings``)."""
    needs = set(strategy.needs)
    batch = spec.train.eval_batch_size
    fields: dict[str, Any] = {}
    # the batch diagnostics need the pool's probabilities (entropy); its embeddings only where
    # the scorer cannot reduce them against the batch later (engine.diagnostics_pass)
    wanted = bool(needs & {Need.EMBEDDINGS, Need.COMMITTEE_PROBS})
    pool_embeddings = diagnostics_embeddings or wanted
    outputs = None
    if diagnostics or needs & {Need.PROBS, Need.EMBEDDINGS, Need.COMMITTEE_PROBS}:
        request = ScoreRequest(probs=True, embeddings=pool_embeddings, batch_size=batch)
        outputs = scorer.outputs(model, adapter, dataset, pool, request)
        fields.update(probs=outputs.probs, embeddings=outputs.embeddings)
    if needs & {Need.LABELED_PROBS, Need.LABELED_EMBEDDINGS, Need.COMMITTEE_PROBS}:
        labeled_embeddings = bool(needs & {Need.LABELED_EMBEDDINGS, Need.COMMITTEE_PROBS})
        request = ScoreRequest(probs=True, embeddings=labeled_embeddings, batch_size=batch)
        mine = scorer.outputs(model, adapter, dataset, labeled, request)
        fields.update(labeled_probs=mine.probs, labeled_embeddings=mine.embeddings)
    if Need.MC_PROBS in needs:
        check_dropout(model, spec.model, spec.strategy)
        seed = torch_seed(spec.seed, Stream.STRATEGY, r)
        fields["mc_probs"] = mc_dropout_probs(
            model, adapter, dataset, pool, strategy.mc_samples, batch, _device(model), seed
        )
    if Need.COMMITTEE_PROBS in needs:
        fields["committee_probs"] = committee_probs(
            fields["labeled_embeddings"],
            dataset.labels[labeled],
            fields["embeddings"],
            strategy.committee_size,
            dataset.num_classes,
            numpy_rng(spec.seed, Stream.STRATEGY, r),
        )
    if Need.TRAINING_DYNAMICS in needs:
        fields["training_dynamics"] = dynamics
    if Need.HEAD in needs:
        fields["head"] = LinearHead(*last_linear_layer(model, dataset.num_classes))
    return fields, outputs


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


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
    """(T, P, C) probabilities of ``samples`` passes with dropout active (batch norm in eval).

    The module is left in eval mode.

    The masks come from torch's generator seeded with ``seed`` inside a forked RNG state, so a
    round resumed after an interruption draws the same masks and acquires the same batch.
    """
    # training mode switches every dropout on, functional ones included; batch norm stays in
    # eval mode, so the passes use (and never update) the fine-tuned statistics
    module.to(device).train()
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.eval()
    request = ScoreRequest(probs=True, batch_size=batch_size)
    positions = np.arange(len(indices))
    devices = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            passes = [
                score_block(module, adapter, dataset.inputs, positions, indices, request, device)
                for _ in range(samples)
            ]
    finally:
        module.eval()
    return np.stack([block.probs for block in passes])


def committee_probs(
    labeled_embeddings: np.ndarray,
    labeled_labels: np.ndarray,
    pool_embeddings: np.ndarray,
    size: int,
    num_classes: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(M, P, C) probabilities of ``size`` logistic-regression heads, each trained on a bootstrap
    resample of the labeled embeddings (a class missing from a resample gets probability 0)."""
    members = np.zeros((size, len(pool_embeddings), num_classes), dtype=np.float64)
    for m in range(size):
        sample = rng.integers(0, len(labeled_labels), size=len(labeled_labels))
        classes = np.unique(labeled_labels[sample])
        if len(classes) == 1:  # one class drawn: that member votes for it everywhere
            members[m, :, classes[0]] = 1.0
            continue
        head = LogisticRegression(max_iter=1000)
        head.fit(labeled_embeddings[sample], labeled_labels[sample])
        members[m][:, head.classes_] = head.predict_proba(pool_embeddings)
    return members


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
