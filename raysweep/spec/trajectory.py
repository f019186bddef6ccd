"""The typed description of one active-learning trajectory, with validation.

A :class:`TrajectorySpec` fully determines a trajectory: dataset, model, strategy, seed, the AL
recipe and the fine-tuning hyperparameters. Validation raises :class:`ConfigError` with one line
naming the bad field, before any data is loaded or any network is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from raysweep.errors import ConfigError
from raysweep.spec.fields import build, check_types, positive


@dataclass(frozen=True)
class Recipe:
    """The active-learning schedule (paper defaults for Waterbirds)."""

    seed_size: int = 40
    # balanced per class, uniformly random, or "cluster": the pool point nearest each k-means centre
    # of the original model's embeddings (a cold start that needs no labels to choose)
    seed_set: Literal["balanced", "random", "cluster"] = "balanced"
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
        check_types(self, "recipe")
        positive("recipe.seed_size", self.seed_size)
        positive("recipe.first_batch", self.first_batch)
        positive("recipe.budget", self.budget)
        positive("recipe.eval_every", self.eval_every)
        if self.seed_set not in ("balanced", "random", "cluster"):
            raise ConfigError(
                f"recipe.seed_set must be 'balanced', 'random' or 'cluster', got {self.seed_set!r}"
            )
        if not self.batch_multiplier > 0:
            raise ConfigError(f"recipe.batch_multiplier must be > 0, got {self.batch_multiplier}")
        if self.budget < self.seed_size:
            raise ConfigError(
                f"recipe.budget ({self.budget}) is smaller than recipe.seed_size ({self.seed_size})"
            )
        if self.pool_subsample is not None:
            positive("recipe.pool_subsample", self.pool_subsample)


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
    # only a linear head is trained (a linear probe; pools of millions); "last_stage": the layers
    # below the last stage frozen and cached once, the last stage, neck and head fine-tuned (CPU)
    finetune: Literal["full", "head", "last_stage"] = "full"

    def validate(self) -> None:
        check_types(self, "train")
        if self.finetune not in ("full", "head", "last_stage"):
            raise ConfigError(
                f"train.finetune must be 'full', 'head' or 'last_stage', got {self.finetune!r}"
            )
        if self.optimizer not in ("sgd", "adamw"):
            raise ConfigError(f"train.optimizer must be 'sgd' or 'adamw', got {self.optimizer!r}")
        if not self.lr > 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        if not 0 < self.stop_ratio < 1:
            raise ConfigError(f"train.stop_ratio must be in (0, 1), got {self.stop_ratio}")
        for name in ("batch_size", "grad_accum", "check_every", "max_steps", "eval_batch_size"):
            positive(f"train.{name}", getattr(self, name))
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
    #: the job's label for this strategy variant ("" = the strategy's name)
    strategy_label: str = ""

    @property
    def label(self) -> str:
        """What the trial is tagged with and compared by: the label, else the strategy's name."""
        return self.strategy_label or self.strategy

    def validate(self) -> None:
        """Check types and sizes that need no data. Names are resolved where the registries live:
        the engine when it builds the trajectory, the service's preflight before a sweep starts."""
        self.recipe.validate()
        self.train.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrajectorySpec:
        """Build a spec from plain data (YAML, Tune configs); unknown keys are errors."""
        raw = dict(raw)
        recipe = build(Recipe, raw.pop("recipe", {}) or {}, "recipe.")
        train_raw = dict(raw.pop("train", {}) or {})
        if "lr_milestones" in train_raw:
            train_raw["lr_milestones"] = tuple(train_raw["lr_milestones"])
        train = build(TrainConfig, train_raw, "train.")
        return build(cls, {**raw, "recipe": recipe, "train": train}, "trajectory.")
