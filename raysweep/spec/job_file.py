"""Reading a job file: YAML with one-line errors (syntax with its line, unknown keys, bad types)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from raysweep.errors import ConfigError
from raysweep.spec.env_vars import expand_env
from raysweep.spec.fields import build, reject_unknown
from raysweep.spec.job import (
    DISTRIBUTIONS,
    DatasetChoice,
    ModelChoice,
    Objective,
    Resources,
    Search,
    SweepJob,
)
from raysweep.spec.job_checks import validate_job
from raysweep.spec.scoring import ScoringConfig

_TOP_KEYS = ({f.name for f in dataclasses.fields(SweepJob)} - {"strategy_names"}) | {
    "tracking",
    "search",
    "resources",
}
_LABEL = re.compile(r"[A-Za-z0-9_.:=+-]+")


class _JobLoader(yaml.SafeLoader):
    """Safe YAML that also reads ``1e-3`` as a number (YAML 1.1 needs a dot and a signed exponent)
    and refuses a mapping that names a key twice (plain YAML keeps the last value silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"line {line}: key {key!r} appears twice in one mapping")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_JobLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_job(path: str | Path) -> SweepJob:
    """Parse and validate a job file; every problem is a one-line :class:`ConfigError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read job file {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"job file {file} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start]:#x})"
        ) from None
    try:
        raw = yaml.load(text, Loader=_JobLoader)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}:{where} YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: a job must be a YAML mapping, got {type(raw).__name__}")
    try:  # ${RAYSWEEP_DATA:-/data}-style paths, expanded here so the workers get concrete ones
        raw = expand_env(raw)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    job = parse_job(raw, default_name=file.stem)
    validate_job(job)
    return job


def parse_job(raw: dict[str, Any], default_name: str = "sweep") -> SweepJob:
    reject_unknown(raw, _TOP_KEYS, "")
    if "datasets" not in raw or "models" not in raw or "strategies" not in raw:
        missing = [k for k in ("datasets", "models", "strategies") if k not in raw]
        raise ConfigError(f"job is missing {', '.join(missing)}")
    tracking = raw.get("tracking") or {}
    reject_unknown(tracking, {"uri", "experiment"}, "tracking.")
    labels, names, entry_args = _strategies(_as_list(raw["strategies"], "strategies"))
    strategy_args = _mapping(raw.get("strategy_args"), "strategy_args")
    both = sorted(set(entry_args) & set(strategy_args))
    if both:
        raise ConfigError(
            f"strategy {both[0]!r} has args both in its strategies entry and in strategy_args; "
            "give them in one place"
        )
    return SweepJob(
        name=str(raw.get("name", default_name)),
        datasets=[
            _dataset(item, i) for i, item in enumerate(_as_list(raw["datasets"], "datasets"))
        ],
        models=[_model(item, i) for i, item in enumerate(_as_list(raw["models"], "models"))],
        strategies=labels,
        seeds=_seeds(raw.get("seeds", 1)),
        recipe=_mapping(raw.get("recipe"), "recipe"),
        train=_mapping(raw.get("train"), "train"),
        strategy_args={**strategy_args, **entry_args},
        strategy_names=names,
        search=_search(raw.get("search")),
        resources=build(Resources, _mapping(raw.get("resources"), "resources"), "resources."),
        max_concurrent=_int(raw.get("max_concurrent", 2), "max_concurrent"),
        max_failures=_int(raw.get("max_failures", 2), "max_failures", minimum=0),
        tracking_uri=str(tracking.get("uri", raw.get("tracking_uri", "sqlite:///mlflow.db"))),
        experiment=str(tracking.get("experiment", raw.get("experiment", ""))),
        storage_path=str(raw.get("storage_path", "./ray_results")),
        reference_strategy=str(raw.get("reference_strategy", "random")),
        report_metric=str(raw.get("report_metric", "test/worst_group_accuracy")),
        target_metric=raw.get("target_metric"),
        scoring=ScoringConfig.from_dict(_mapping(raw.get("scoring"), "scoring")),
    )


def _search(raw: Any) -> Search:
    raw = _mapping(raw, "search")
    reject_unknown(raw, {"space", "n_trials", "objective"}, "search.")
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
            reject_unknown(value, {"grid"}, f"search.space.{key}.")
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
        reject_unknown(value, allowed, f"search.space.{key}.")
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
    objective = build(
        Objective, _mapping(raw.get("objective"), "search.objective"), "search.objective."
    )
    return Search(grid, distributions, _int(raw.get("n_trials", 1), "search.n_trials"), objective)


def _dataset(item: Any, i: int) -> DatasetChoice:
    if isinstance(item, str):
        return DatasetChoice(item)
    item = _mapping(item, f"datasets[{i}]")
    reject_unknown(item, {"name", "args"}, f"datasets[{i}].")
    return DatasetChoice(str(item.get("name")), _mapping(item.get("args"), f"datasets[{i}].args"))


def _model(item: Any, i: int) -> ModelChoice:
    if isinstance(item, str):
        return ModelChoice(item)
    item = _mapping(item, f"models[{i}]")
    reject_unknown(item, {"name", "pretrained", "args"}, f"models[{i}].")
    pretrained = item.get("pretrained", True)
    if not isinstance(pretrained, bool):
        raise ConfigError(f"models[{i}].pretrained must be true or false, got {pretrained!r}")
    return ModelChoice(
        str(item.get("name")), pretrained, _mapping(item.get("args"), f"models[{i}].args")
    )


def _strategies(
    items: list[Any],
) -> tuple[list[str], dict[str, str], dict[str, dict[str, Any]]]:
    """Labels in order, label -> name where they differ, and args given in the entries.

    An entry is a name (its own label) or ``{name, label, args}``: ``label`` (default: the name)
    is what the trial is tagged with and compared by, so one strategy can run as several variants.
    """
    labels: list[str] = []
    names: dict[str, str] = {}
    entry_args: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            reject_unknown(item, {"name", "label", "args"}, f"strategies[{i}].")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"strategies[{i}].name must be a strategy name, got {name!r}")
            label = item.get("label", name)
            if not isinstance(label, str) or not _LABEL.fullmatch(label):
                raise ConfigError(
                    f"strategies[{i}].label must be letters, digits and _ . - : = +, got {label!r}"
                )
            if "args" in item:
                entry_args[label] = _mapping(item["args"], f"strategies[{i}].args")
            if label != name:
                names[label] = name
        else:
            label = str(item)
        if label in labels:
            raise ConfigError(
                f"strategies[{i}]: label {label!r} appears twice; give each variant its own label"
            )
        labels.append(label)
    return labels, names, entry_args


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
