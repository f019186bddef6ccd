"""One active-learning trajectory: seed set, then rounds of train -> evaluate -> score -> acquire.

A :class:`Trajectory` is what one Ray Tune trial runs. It is fully determined by its
:class:`TrajectorySpec`; it can be saved after any round and resumed to the identical result.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.acquisition import acquire, candidate_pool
from raysweep.engine.device import cuda_devices, make_deterministic, pick_device
from raysweep.engine.dynamics import DynamicsRecorder
from raysweep.engine.embedding_cache import freeze_backbone
from raysweep.engine.evaluation import evaluate
from raysweep.engine.inference import LocalScorer, Scorer, ScoreRequest
from raysweep.engine.lower_layers import freeze_lower_layers
from raysweep.engine.parts import TrajectoryParts, resolve_parts
from raysweep.engine.schedule import seed_set
from raysweep.engine.seeding import Stream, numpy_rng, torch_generator, torch_seed
from raysweep.engine.state import WEIGHTS_FILE, RoundRecord, RoundState, load_state, save_state
from raysweep.engine.training import fine_tune
from raysweep.spec.trajectory import TrajectorySpec
from raysweep.strategies import Need, cluster_seed_set


class Trajectory:
    """The paper's AL loop for one (dataset, model, strategy, seed, hyperparameters)."""

    def __init__(
        self,
        spec: TrajectorySpec,
        device: str | None = None,
        scorer: Scorer | None = None,
        embedding_store: str | None = None,
    ) -> None:
        """``scorer`` computes model outputs (default: in this process on ``device``); it never
        changes the results. ``embedding_store`` (a path or URI) holds the frozen-backbone
        embeddings and last-stage features shared between trials (default: the local raysweep
        cache)."""
        parts = resolve_parts(spec)  # names and sizes: fails before any network is built
        make_deterministic()
        self.spec = spec
        self.device = pick_device(device)
        self.scorer: Scorer = scorer if scorer is not None else LocalScorer(self.device)
        init_seed = torch_seed(spec.seed, Stream.MODEL, 0)
        original = parts.adapter.create(parts.dataset.num_classes, init_seed)
        if spec.train.finetune == "head":
            dataset, adapter, original = freeze_backbone(
                spec,
                parts.dataset,
                parts.adapter,
                original,
                init_seed,
                self.scorer,
                embedding_store,
            )
            parts = TrajectoryParts(dataset, adapter, parts.strategy, parts.batch_sizes)
        elif spec.train.finetune == "last_stage":  # lower layers' outputs cached once
            dataset, adapter, original = freeze_lower_layers(
                spec,
                parts.dataset,
                parts.adapter,
                original,
                init_seed,
                self.device,
                embedding_store,
            )
            parts = TrajectoryParts(dataset, adapter, parts.strategy, parts.batch_sizes)
        self.parts = parts
        self._original = original.cpu()
        self._warm_model: nn.Module | None = None
        self.state = RoundState(next_round=0, labeled=self._seed_set())

    def _seed_set(self) -> np.ndarray:
        ds, recipe, rng = self.dataset, self.spec.recipe, numpy_rng(self.spec.seed, Stream.POOL, 0)
        if recipe.seed_set == "cluster":
            request = ScoreRequest(probs=False, embeddings=True, batch_size=256)
            pool = ds.pool_indices
            outputs = self.scorer.outputs(self._original, self.parts.adapter, ds, pool, request)
            return np.sort(cluster_seed_set(outputs.embeddings, pool, recipe.seed_size, rng))
        balanced = recipe.seed_set == "balanced"
        return seed_set(ds.pool_indices, ds.labels, recipe.seed_size, balanced, ds.num_classes, rng)

    @property
    def dataset(self) -> ALDataset:
        return self.parts.dataset

    @property
    def n_rounds(self) -> int:
        """Training rounds: one per labeled-set size, i.e. acquisitions + 1."""
        return len(self.parts.batch_sizes) + 1

    @property
    def done(self) -> bool:
        return self.state.next_round >= self.n_rounds

    @property
    def records(self) -> list[RoundRecord]:
        return self.state.records

    def run(self) -> list[RoundRecord]:
        """Every remaining round; the records of the whole trajectory."""
        for _ in self.rounds():
            pass
        return self.records

    def candidate_pool(self, r: int) -> np.ndarray:
        """The unlabeled candidates round ``r`` scores (with the current labeled set)."""
        return candidate_pool(self.parts, self.state.labeled, self.spec, r)

    def rounds(self) -> Iterator[RoundRecord]:
        while not self.done:
            yield self.run_round()

    def run_round(self) -> RoundRecord:
        """Train on the labeled set, evaluate if due, acquire the next batch if budget is left."""
        spec, r = self.spec, self.state.next_round
        labeled = self.state.labeled
        model = copy.deepcopy(self._warm_model if self._warm_model is not None else self._original)
        acquiring = r < len(self.parts.batch_sizes)
        dynamics = (
            DynamicsRecorder(
                self.parts.adapter,
                self.dataset,
                labeled,
                self.scorer,
                spec.train.eval_batch_size,
            )
            if acquiring and Need.TRAINING_DYNAMICS in self.parts.strategy.needs
            else None
        )
        with torch.random.fork_rng(devices=cuda_devices(self.device)):
            # dropout and other in-model randomness draw from torch's global generator
            torch.manual_seed(torch_seed(spec.seed, Stream.MODEL, r))
            report = fine_tune(
                model,
                self.parts.adapter,
                self.dataset,
                labeled,
                spec.train,
                torch_generator(spec.seed, Stream.MODEL, r),
                self.device,
                on_check=dynamics,
            )
        metrics = None
        if r % spec.recipe.eval_every == 0 or r == self.n_rounds - 1:
            metrics = evaluate(
                model, self.parts.adapter, self.dataset, spec.train.eval_batch_size, self.scorer
            )
        acquisition = None
        if acquiring:
            acquisition = acquire(
                model,
                self.parts,
                labeled,
                spec,
                r,
                self.scorer,
                dynamics=None if dynamics is None else dynamics.matrix(),
            )
            labeled = np.concatenate([labeled, np.asarray(acquisition.indices, dtype=np.int64)])
        if spec.recipe.warm_start:
            self._warm_model = model.cpu()
        record = RoundRecord(r, len(self.state.labeled), asdict(report), metrics, acquisition)
        self.state = RoundState(r + 1, labeled, [*self.state.records, record])
        return record

    # -- checkpoint / resume -------------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the round state (and warm-start weights) so :meth:`restore` continues exactly here."""
        file = save_state(directory, self.spec.to_dict(), self.state)
        if self._warm_model is not None:
            torch.save(self._warm_model.state_dict(), Path(directory) / WEIGHTS_FILE)
        return file

    def restore(self, directory: str | os.PathLike[str]) -> None:
        self.state = load_state(directory, self.spec.to_dict())
        weights = Path(directory) / WEIGHTS_FILE
        if self.spec.recipe.warm_start and self.state.next_round > 0:
            model = copy.deepcopy(self._original)
            model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            self._warm_model = model
