"""Training dynamics of the labeled set: was each example predicted correctly at each check of
the stopping rule during a round's fine-tuning (ALVIN infers minority examples from them)."""

from __future__ import annotations

import numpy as np
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.inference import Scorer, ScoreRequest
from raysweep.models.base import ModelAdapter


class DynamicsRecorder:
    """Called by ``fine_tune`` at every check: one column of correctness per call.

    It scores through the round's scorer (a forward pass of the labeled set, no gradients, the
    module in eval mode so batch-norm statistics are untouched): on Ray Data that is the trial's
    long-lived actors, so a check costs one small request, not an actor start.
    """

    def __init__(
        self,
        adapter: ModelAdapter,
        dataset: ALDataset,
        labeled: np.ndarray,
        scorer: Scorer,
        batch_size: int,
    ) -> None:
        self._adapter, self._dataset, self._labeled = adapter, dataset, labeled
        self._scorer = scorer
        self._batch_size = batch_size
        self._columns: list[np.ndarray] = []

    def __call__(self, module: nn.Module) -> None:
        request = ScoreRequest(probs=True, batch_size=self._batch_size)
        probs = self._scorer.outputs(module, self._adapter, self._dataset, self._labeled, request)
        assert probs.probs is not None
        predicted = probs.probs.argmax(axis=1)
        self._columns.append(predicted == self._dataset.labels[self._labeled])

    def matrix(self) -> np.ndarray:
        """(L, K) bool, one column per check in training order."""
        if not self._columns:
            return np.zeros((len(self._labeled), 0), dtype=bool)
        return np.stack(self._columns, axis=1)
