"""Which scorer a trial uses, from the job's ``scoring`` section."""

from __future__ import annotations

import numpy as np
import ray
import torch
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.inference import LocalScorer, Outputs, Scorer, ScoreRequest
from raysweep.models.base import ModelAdapter
from raysweep.scoring.ray_data import RayDataScorer
from raysweep.spec.scoring import ScoringConfig


class AutoScorer:
    """Ray Data for requests of at least ``min_rows`` rows while Ray is running, else local."""

    def __init__(self, local: LocalScorer, distributed: RayDataScorer, min_rows: int) -> None:
        self.local, self.distributed, self.min_rows = local, distributed, min_rows

    def outputs(
        self,
        model: nn.Module,
        adapter: ModelAdapter,
        dataset: ALDataset,
        indices: np.ndarray,
        request: ScoreRequest,
    ) -> Outputs:
        big = len(indices) >= self.min_rows and ray.is_initialized()
        scorer: Scorer = self.distributed if big else self.local
        return scorer.outputs(model, adapter, dataset, indices, request)


def build_scorer(config: ScoringConfig, device: torch.device | str) -> Scorer:
    """The scorer of ``config``; ``device`` is where the local path computes."""
    local = LocalScorer(device, config.batch_size)
    if config.backend == "local":
        return local
    distributed = RayDataScorer(
        actors=config.actors,
        cpus_per_actor=config.cpus_per_actor,
        gpus_per_actor=config.gpus_per_actor,
        batch_size=config.batch_size,
    )
    if config.backend == "ray_data":
        return distributed
    return AutoScorer(local, distributed, config.min_rows)


def close_scorer(scorer: Scorer) -> None:
    """Stop a scorer's actors and free what it shared (the trajectory is over)."""
    if isinstance(scorer, AutoScorer):
        scorer.distributed.close()
    elif isinstance(scorer, RayDataScorer):
        scorer.close()
