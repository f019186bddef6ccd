"""The typed description of one active-learning trajectory, with validation.

A :class:`TrajectorySpec` fully determines a trajectory: dataset, model, strategy, seed, the AL
recipe and the fine-tuning hyperparameters. Validation raises :class:`ConfigError` with one line
naming the bad field, before any data is loaded or any network is built.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from raysweep.errors import ConfigError


@dataclass(frozen=True)
class Recipe:
    """The active-learning schedule (paper defaults for Waterbirds)."""

    seed_size: int = 40
    seed_set: Literal["balanced", "random"] = "balanced"
    first_batch: int = 5
    batch_multiplier: float = 1.0
    budget: int = 320  # total labels, seed set included (paper: 8 x seed size)
    pool_subsample: int | None = None  # random down-sampling of the pool each round
    eval_every: int = 2  # evaluate every k acquisition rounds (round 0 and the last always)
    warm_start: bool = False  # paper: restart from the original weights every round
    # score the pool every round even for strategies that need no model outputs (random), so
    # every batch gets comparable entropy / diversity / representativeness diagnostics
    batch_diagnostics: bool = True

    def validate(self) -> None:
        _check_types(self, "recipe")
        _positive("recipe.seed_size", self.seed_size)
        _positive("recipe.first_batch", self.first_batch)
        _positive("recipe.budget", self.budget)
        _positive("recipe.eval_every", self.eval_every)
        if self.seed_set not in ("balanced", "random"):
            raise ConfigError(
                f"recipe.seed_set must be 'balanced' or 'random', got {self.seed_set!r}"
            )
        if not self.batch_multiplier > 0:
            raise ConfigError(f"recipe.batch_multiplier must be > 0, got {self.batch_multiplier}")
        if self.budget < self.seed_size:
            raise ConfigError(
                f"recipe.budget ({self.budget}) is smaller than recipe.seed_size ({self.seed_size})"
            )
        if self.pool_subsample is not None:
            _positive("recipe.pool_subsample", self.pool_subsample)


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning hyperparameters: BiT-HyperRule-style schedule, validation-free stopping."""

    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = 0.003
    momentum: float = 0.9
    weight_decay: float = 0.0
    adam_eps: float = 1e-8
    batch_size: int = 32
    grad_accum: int = 1
    warmup_steps: int = 10
    lr_milestones: tuple[int, ...] = (100, 200, 300, 400)
    stop_ratio: float = 0.001  # stop when train loss <= stop_ratio * loss at the start
    check_every: int = 10  # optimizer steps between two checks of the stopping rule
    max_steps: int = 500
    eval_batch_size: int = 256
    # "full": fine-tune the whole network (paper); "head": frozen backbone, embeddings cached once,
    # only a linear head is trained (CPU quickstarts, pools of millions)
    finetune: Literal["full", "head"] = "full"

    def validate(self) -> None:
        _check_types(self, "train")
        if self.finetune not in ("full", "head"):
            raise ConfigError(f"train.finetune must be 'full' or 'head', got {self.finetune!r}")
        if self.optimizer not in ("sgd", "adamw"):
            raise ConfigError(f"train.optimizer must be 'sgd' or 'adamw', got {self.optimizer!r}")
        if not self.lr > 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        if not 0 < self.stop_ratio < 1:
            raise ConfigError(f"train.stop_ratio must be in (0, 1), got {self.stop_ratio}")
        for name in ("batch_size", "grad_accum", "check_every", "max_steps", "eval_batch_size"):
            _positive(f"train.{name}", getattr(self, name))
        if self.warmup_steps < 0:
            raise ConfigError(f"train.warmup_steps must be >= 0, got {self.warmup_steps}")
        if list(self.lr_milestones) != sorted(self.lr_milestones):
            raise ConfigError(
                f"train.lr_milestones must be increasing, got {list(self.lr_milestones)}"
            )


@dataclass(frozen=True)
class TrajectorySpec:
    """Everything that determines one AL trajectory."""

    dataset: str
    model: str
    strategy: str
    seed: int = 0
    pretrained: bool = True
    dataset_args: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)
    strategy_args: dict[str, Any] = field(default_factory=dict)
    recipe: Recipe = field(default_factory=Recipe)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        """Check names and sizes that need no data; dataset-dependent checks run at load time."""
        from raysweep.data import DATASETS
        from raysweep.models import MODELS
        from raysweep.strategies import STRATEGIES

        DATASETS.check(self.dataset)
        MODELS.check(self.model)
        STRATEGIES.check(self.strategy)
        self.recipe.validate()
        self.train.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrajectorySpec:
        """Build a spec from plain data (YAML, Tune configs); unknown keys are errors."""
        raw = dict(raw)
        recipe = _build(Recipe, raw.pop("recipe", {}) or {}, "recipe")
        train_raw = dict(raw.pop("train", {}) or {})
        if "lr_milestones" in train_raw:
            train_raw["lr_milestones"] = tuple(train_raw["lr_milestones"])
        train = _build(TrainConfig, train_raw, "train")
        return _build(cls, {**raw, "recipe": recipe, "train": train}, "trajectory")


def _build(kind: type, raw: dict[str, Any], where: str) -> Any:
    import difflib

    names = {f.name for f in dataclasses.fields(kind)}
    for key in raw:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown key {where}.{key}{hint}")
    return kind(**raw)


def _check_types(config: Any, where: str) -> None:
    """One line naming a field whose value has the wrong type (e.g. ``lr: fast``), before use."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not _matches(value, hints[f.name]):
            raise ConfigError(f"{where}.{f.name} must be {_describe(hints[f.name])}, got {value!r}")


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        return isinstance(value, tuple | list) and all(
            _matches(v, typing.get_args(hint)[0]) for v in value
        )
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is tuple:
        return "a list of numbers" if typing.get_args(hint)[0] is float else "a list of integers"
    return {float: "a number", int: "an integer", bool: "true or false", type(None): "null"}.get(
        hint, str(hint)
    )


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
