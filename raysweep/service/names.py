"""Every name a job uses (datasets, models, strategies) checked against the registries.

Listing and checking names imports no torch (the registries build their entries lazily), so
``--dry-run`` can run this in a fraction of a second.
"""

from __future__ import annotations

from raysweep.data import DATASETS
from raysweep.models import MODELS
from raysweep.spec.job import SweepJob
from raysweep.strategies import STRATEGIES


def check_names(job: SweepJob) -> None:
    """One-line :class:`UnknownNameError` for the first unknown name, with the nearest valid one."""
    for dataset in job.datasets:
        DATASETS.check(dataset.name)
    for model in job.models:
        MODELS.check(model.name)
    for label in job.strategies:
        STRATEGIES.check(job.strategy_name(label))
