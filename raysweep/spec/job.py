"""The sweep job: its axes, recipe, search space and resources, and the cells it expands to.

A job names its axes (datasets x models x strategies x seeds), the AL recipe, fixed training
hyperparameters, an optional search space (grids and/or Optuna distributions), resources,
tracking and storage. ``job_file`` parses it from YAML and ``job_checks`` validates it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from raysweep.spec.scoring import ScoringConfig

DISTRIBUTIONS = ("uniform", "loguniform", "int", "categorical")
OBJECTIVE_SUMMARIES = ("auc", "final")
SEARCHABLE_PREFIXES = ("train.", "recipe.", "strategy_args.", "model_args.")


@dataclass(frozen=True)
class ModelChoice:
    name: str
    pretrained: bool = True
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name}-{'pretrained' if self.pretrained else 'random_init'}"


@dataclass(frozen=True)
class DatasetChoice:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Objective:
    """What Optuna optimises: chosen on a validation split, so the test split stays untouched."""

    metric: str = "val/worst_group_accuracy"
    summary: str = "auc"  # area under the learning curve, or the final value
    mode: str = "max"
    # choosing hyperparameters on the split the results are reported on inflates those results
    allow_test_split: bool = False


@dataclass(frozen=True)
class Search:
    grid: dict[str, list[Any]] = field(default_factory=dict)  # "train.lr" -> values
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)  # Optuna
    n_trials: int = 1  # Optuna trials per cell (each run for every seed)
    objective: Objective = field(default_factory=Objective)


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0
    gpus: float = 0.0
    # what an autoscaling cluster can grow to (default: its size when the sweep starts)
    cluster_max_cpus: float | None = None
    cluster_max_gpus: float | None = None


@dataclass(frozen=True)
class SweepJob:
    name: str
    datasets: list[DatasetChoice]
    models: list[ModelChoice]
    #: strategy labels: what trials are tagged with and compared by; a plain name is its own label
    strategies: list[str]
    seeds: list[int]
    recipe: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    strategy_args: dict[str, dict[str, Any]] = field(default_factory=dict)  # by label
    #: label -> registry name, for the entries whose label is not their name (variants)
    strategy_names: dict[str, str] = field(default_factory=dict)
    search: Search = field(default_factory=Search)
    resources: Resources = field(default_factory=Resources)
    max_concurrent: int = 2
    max_failures: int = 2
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = ""
    storage_path: str = "./ray_results"
    reference_strategy: str = "random"
    # the metric of the label-efficiency table and plots (every recorded metric: higher = better)
    report_metric: str = "test/worst_group_accuracy"
    target_metric: float | None = None  # optional fixed target for label efficiency
    # how trials compute model outputs; not in the job fingerprint (results do not depend on it)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

    def strategy_name(self, label: str) -> str:
        """The registered strategy behind ``label``."""
        return self.strategy_names.get(label, label)

    def cells(self) -> list[Cell]:
        """Every (dataset, model, strategy, grid point): the units Optuna searches within."""
        grid_keys = sorted(self.search.grid)
        grid_points = [
            dict(zip(grid_keys, values, strict=True))
            for values in itertools.product(*(self.search.grid[k] for k in grid_keys))
        ]
        cells = []
        for dataset, model, strategy, point in itertools.product(
            self.datasets, self.models, self.strategies, grid_points
        ):
            cells.append(Cell(self, dataset, model, strategy, point))
        return cells

    def base_spec(
        self, dataset: DatasetChoice, model: ModelChoice, strategy: str, seed: int
    ) -> dict[str, Any]:
        """The spec of one trial; ``strategy`` is a label (plain names are their own)."""
        spec = {
            "dataset": dataset.name,
            "dataset_args": dict(dataset.args),
            "model": model.name,
            "pretrained": model.pretrained,
            "model_args": dict(model.args),
            "strategy": self.strategy_name(strategy),
            "strategy_args": dict(self.strategy_args.get(strategy, {})),
            "seed": seed,
            "recipe": dict(self.recipe),
            "train": dict(self.train),
        }
        if strategy != spec["strategy"]:  # plain names keep the spec they always had
            spec["strategy_label"] = strategy
        return spec

    def n_trials(self) -> int:
        per_cell = self.search.n_trials if self.search.distributions else 1
        return len(self.cells()) * per_cell * len(self.seeds)

    def with_overrides(self, **overrides: Any) -> SweepJob:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class Cell:
    """One (dataset, model, strategy, grid point) combination; its trials differ by seed (and Optuna).

    ``strategy`` is the label, which tells two variants of one registered strategy apart."""

    job: SweepJob
    dataset: DatasetChoice
    model: ModelChoice
    strategy: str
    grid_point: dict[str, Any]

    @property
    def group(self) -> str:
        """The comparison group: strategies are compared within (dataset, model, grid point)."""
        point = ",".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(self.grid_point.items()))
        dataset = _disambiguated(
            self.dataset.name, self.dataset.args, [d.name for d in self.job.datasets]
        )
        model = _disambiguated(
            self.model.label, self.model.args, [m.label for m in self.job.models]
        )
        return f"{dataset}/{model}" + (f"/{point}" if point else "")

    @property
    def cell_id(self) -> str:
        readable = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{self.group}/{self.strategy}")
        digest = hashlib.sha1(
            json.dumps([self.dataset.args, self.model.args], sort_keys=True, default=str).encode()
        ).hexdigest()[:6]
        return f"{readable}-{digest}"

    def spec(
        self,
        seed: int,
        sampled: dict[str, Any] | None = None,
        train_defaults: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The trajectory spec of this cell for ``seed`` with grid and sampled values applied.

        ``train_defaults`` (what the model family brings, e.g. AdamW 2e-5 for text models) sit
        under the job's own ``train`` settings, which win.
        """
        spec = self.job.base_spec(self.dataset, self.model, self.strategy, seed)
        spec["train"] = {**(train_defaults or {}), **spec["train"]}
        for dotted, value in {**self.grid_point, **(sampled or {})}.items():
            section, key = dotted.split(".", 1)
            spec[section][key] = value
        return spec


def _disambiguated(label: str, args: dict[str, Any], labels: list[str]) -> str:
    """``label``, plus its args when the job lists the same name twice (e.g. two correlation
    strengths of one dataset, Fig. 8), so their trials are never compared as one group."""
    if labels.count(label) < 2:
        return label
    return label + "[" + ",".join(f"{k}={v}" for k, v in sorted(args.items())) + "]"
