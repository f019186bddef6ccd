"""Sweep jobs: the YAML schema, its validation, and the plan of cells and trials it expands to.

A job names its axes (datasets x models x strategies x seeds), the AL recipe, fixed training
hyperparameters, an optional search space (grids and/or Optuna distributions), resources,
tracking and storage. Every problem is reported as one line naming the field, before Ray starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from raysweep.config import Recipe, TrainConfig, TrajectorySpec
from raysweep.errors import ConfigError

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
    metric: str = "test/worst_group_accuracy"
    summary: str = "auc"  # area under the learning curve, or the final value
    mode: str = "max"


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
    strategies: list[str]
    seeds: list[int]
    recipe: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    strategy_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: Search = field(default_factory=Search)
    resources: Resources = field(default_factory=Resources)
    max_concurrent: int = 2
    max_failures: int = 2
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = ""
    storage_path: str = "./ray_results"
    reference_strategy: str = "random"
    target_metric: float | None = None  # optional fixed target for label efficiency

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

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
        return {
            "dataset": dataset.name,
            "dataset_args": dict(dataset.args),
            "model": model.name,
            "pretrained": model.pretrained,
            "model_args": dict(model.args),
            "strategy": strategy,
            "strategy_args": dict(self.strategy_args.get(strategy, {})),
            "seed": seed,
            "recipe": dict(self.recipe),
            "train": dict(self.train),
        }

    def n_trials(self) -> int:
        per_cell = self.search.n_trials if self.search.distributions else 1
        return len(self.cells()) * per_cell * len(self.seeds)

    def with_overrides(self, **overrides: Any) -> SweepJob:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class Cell:
    """One (dataset, model, strategy, grid point) combination; its trials differ by seed (and Optuna)."""

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

    def spec(self, seed: int, sampled: dict[str, Any] | None = None) -> dict[str, Any]:
        """The trajectory spec of this cell for ``seed`` with grid and sampled values applied."""
        spec = self.job.base_spec(self.dataset, self.model, self.strategy, seed)
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


# --------------------------------------------------------------------------------------- parsing
_TOP_KEYS = {f.name for f in dataclasses.fields(SweepJob)} | {"tracking", "search", "resources"}


class _JobLoader(yaml.SafeLoader):
    """Safe YAML that also reads ``1e-3`` as a number (YAML 1.1 needs a dot and a signed exponent)."""


_JobLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_job(path: str | Path) -> SweepJob:
    """Parse and validate a job file; every problem is a one-line :class:`ConfigError`."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read job file {file}: {exc.strerror or exc}") from None
    try:
        raw = yaml.load(text, Loader=_JobLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}:{where} YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: a job must be a YAML mapping, got {type(raw).__name__}")
    job = parse_job(raw, default_name=file.stem)
    validate_job(job)
    return job


def parse_job(raw: dict[str, Any], default_name: str = "sweep") -> SweepJob:
    _reject_unknown(raw, _TOP_KEYS, "")
    if "datasets" not in raw or "models" not in raw or "strategies" not in raw:
        missing = [k for k in ("datasets", "models", "strategies") if k not in raw]
        raise ConfigError(f"job is missing {', '.join(missing)}")
    tracking = raw.get("tracking") or {}
    _reject_unknown(tracking, {"uri", "experiment"}, "tracking.")
    return SweepJob(
        name=str(raw.get("name", default_name)),
        datasets=[
            _dataset(item, i) for i, item in enumerate(_as_list(raw["datasets"], "datasets"))
        ],
        models=[_model(item, i) for i, item in enumerate(_as_list(raw["models"], "models"))],
        strategies=[str(s) for s in _as_list(raw["strategies"], "strategies")],
        seeds=_seeds(raw.get("seeds", 1)),
        recipe=_mapping(raw.get("recipe"), "recipe"),
        train=_mapping(raw.get("train"), "train"),
        strategy_args=_mapping(raw.get("strategy_args"), "strategy_args"),
        search=_search(raw.get("search")),
        resources=_build(Resources, _mapping(raw.get("resources"), "resources"), "resources."),
        max_concurrent=_int(raw.get("max_concurrent", 2), "max_concurrent"),
        max_failures=_int(raw.get("max_failures", 2), "max_failures", minimum=0),
        tracking_uri=str(tracking.get("uri", raw.get("tracking_uri", "sqlite:///mlflow.db"))),
        experiment=str(tracking.get("experiment", raw.get("experiment", ""))),
        storage_path=str(raw.get("storage_path", "./ray_results")),
        reference_strategy=str(raw.get("reference_strategy", "random")),
        target_metric=raw.get("target_metric"),
    )


def validate_job(job: SweepJob) -> None:
    """Everything checkable without data: names, sizes, the search space, a sample spec per cell."""
    if not job.seeds:
        raise ConfigError("seeds must name at least one seed")
    if len(set(job.seeds)) != len(job.seeds):
        raise ConfigError(f"seeds repeat a value: {job.seeds}")
    for name in ("cpus", "gpus"):
        value = getattr(job.resources, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"resources.{name} must be a number, got {value!r}")
    if job.target_metric is not None and (
        isinstance(job.target_metric, bool) or not isinstance(job.target_metric, int | float)
    ):
        raise ConfigError(f"target_metric must be a number, got {job.target_metric!r}")
    if job.resources.cpus < 0 or job.resources.gpus < 0:
        raise ConfigError("resources.cpus and resources.gpus must be >= 0")
    if job.resources.cpus == 0 and job.resources.gpus == 0:
        raise ConfigError("resources: a trial needs some cpus or gpus")
    if job.search.objective.summary not in OBJECTIVE_SUMMARIES:
        raise ConfigError(
            f"search.objective.summary must be one of {', '.join(OBJECTIVE_SUMMARIES)}"
        )
    if job.search.objective.mode not in ("max", "min"):
        raise ConfigError("search.objective.mode must be 'max' or 'min'")
    if job.reference_strategy not in job.strategies:
        raise ConfigError(
            f"reference_strategy {job.reference_strategy!r} is not among the strategies; "
            "label efficiency is measured against it"
        )
    for dotted in [*job.search.grid, *job.search.distributions]:
        if not dotted.startswith(SEARCHABLE_PREFIXES):
            raise ConfigError(
                f"search key {dotted!r} must start with one of {', '.join(SEARCHABLE_PREFIXES)}"
            )
    unknown_args = sorted(set(job.strategy_args) - set(job.strategies))
    if unknown_args:
        raise ConfigError(
            f"strategy_args.{unknown_args[0]} names a strategy that is not in strategies"
        )
    # every cell must give a valid spec at both ends of every searched range
    samples = [
        {k: _representative(v, end) for k, v in job.search.distributions.items()} for end in (0, -1)
    ]
    for cell in job.cells():
        for sample in samples:
            try:
                TrajectorySpec.from_dict(cell.spec(job.seeds[0], sample)).validate()
            except TypeError as exc:
                raise ConfigError(f"cell {cell.cell_id}: {exc}") from None


def _representative(distribution: dict[str, Any], end: int) -> Any:
    """The low (``end=0``) or high (``end=-1``) end of a search distribution."""
    if distribution["distribution"] == "categorical":
        return distribution["values"][end]
    return distribution["low"] if end == 0 else distribution["high"]


def _search(raw: Any) -> Search:
    raw = _mapping(raw, "search")
    _reject_unknown(raw, {"space", "n_trials", "objective"}, "search.")
    grid: dict[str, list[Any]] = {}
    distributions: dict[str, dict[str, Any]] = {}
    for key, value in _mapping(raw.get("space"), "search.space").items():
        if isinstance(value, list):
            value = {"grid": value}
        if not isinstance(value, dict):
            raise ConfigError(
                f"search.space.{key} must be a list (grid) or a mapping, got {value!r}"
            )
        if "grid" in value:
            _reject_unknown(value, {"grid"}, f"search.space.{key}.")
            if not isinstance(value["grid"], list) or not value["grid"]:
                raise ConfigError(f"search.space.{key}.grid must be a non-empty list")
            grid[key] = value["grid"]
            continue
        kind = value.get("distribution")
        if kind not in DISTRIBUTIONS:
            raise ConfigError(
                f"search.space.{key}.distribution must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}"
            )
        allowed = (
            {"distribution", "values"} if kind == "categorical" else {"distribution", "low", "high"}
        )
        _reject_unknown(value, allowed, f"search.space.{key}.")
        if kind == "categorical":
            if not value.get("values"):
                raise ConfigError(f"search.space.{key}.values must be a non-empty list")
        else:
            low, high = value.get("low"), value.get("high")
            if (
                not isinstance(low, int | float)
                or not isinstance(high, int | float)
                or not low < high
            ):
                raise ConfigError(
                    f"search.space.{key} needs numeric low < high, got low={low!r} high={high!r}"
                )
            if kind == "loguniform" and low <= 0:
                raise ConfigError(f"search.space.{key}: loguniform needs low > 0")
        distributions[key] = dict(value)
    objective = _build(
        Objective, _mapping(raw.get("objective"), "search.objective"), "search.objective."
    )
    return Search(grid, distributions, _int(raw.get("n_trials", 1), "search.n_trials"), objective)


def _dataset(item: Any, i: int) -> DatasetChoice:
    if isinstance(item, str):
        return DatasetChoice(item)
    item = _mapping(item, f"datasets[{i}]")
    _reject_unknown(item, {"name", "args"}, f"datasets[{i}].")
    return DatasetChoice(str(item.get("name")), _mapping(item.get("args"), f"datasets[{i}].args"))


def _model(item: Any, i: int) -> ModelChoice:
    if isinstance(item, str):
        return ModelChoice(item)
    item = _mapping(item, f"models[{i}]")
    _reject_unknown(item, {"name", "pretrained", "args"}, f"models[{i}].")
    pretrained = item.get("pretrained", True)
    if not isinstance(pretrained, bool):
        raise ConfigError(f"models[{i}].pretrained must be true or false, got {pretrained!r}")
    return ModelChoice(
        str(item.get("name")), pretrained, _mapping(item.get("args"), f"models[{i}].args")
    )


def _seeds(raw: Any) -> list[int]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw <= 0:
            raise ConfigError(f"seeds must be a positive count or a list of seeds, got {raw}")
        return list(range(raw))
    if isinstance(raw, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in raw):
        return list(raw)
    raise ConfigError(f"seeds must be a positive count or a list of integers, got {raw!r}")


def _as_list(raw: Any, where: str) -> list[Any]:
    items = raw if isinstance(raw, list) else [raw]
    if not items or any(i is None for i in items):
        raise ConfigError(f"{where} must be a non-empty list")
    return items


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping, got {raw!r}")
    return dict(raw)


def _int(raw: Any, where: str, minimum: int = 1) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise ConfigError(f"{where} must be an integer >= {minimum}, got {raw!r}")
    return raw


def _reject_unknown(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = (
                f" (did you mean {where}{close[0]}?)"
                if close
                else f" (valid: {', '.join(sorted(allowed))})"
            )
            raise ConfigError(f"unknown key {where}{key}{hint}")


def _build(kind: type, raw: dict[str, Any], where: str) -> Any:
    _reject_unknown(raw, {f.name for f in dataclasses.fields(kind)}, where)
    return kind(**raw)


__all__ = [
    "Cell",
    "DatasetChoice",
    "ModelChoice",
    "Objective",
    "Recipe",
    "Resources",
    "Search",
    "SweepJob",
    "TrainConfig",
    "load_job",
]
