"""The dataset interface every registered dataset implements.

A dataset is a fixed, indexable set of examples with labels, group ids and named splits. One split
is the unlabeled pool that acquisition draws from (labels revealed only when acquired: a simulated
oracle); the others are held-out evaluation splits that never enter the pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from raysweep.errors import ConfigError


class Inputs(Protocol):
    """Random access to raw model inputs: images (N, 3, H, W), uint8 pixels or floats in [0, 1]
    (image adapters take both), or lists of strings."""

    def __len__(self) -> int: ...

    def take(self, indices: np.ndarray) -> Any: ...


@dataclass(frozen=True)
class ArrayInputs:
    """In-memory inputs: a float tensor of images or a list of texts, indexed by dataset index."""

    data: Any  # torch.Tensor (N, C, H, W) or Sequence[str]

    def __len__(self) -> int:
        return len(self.data)

    def take(self, indices: np.ndarray) -> Any:
        if isinstance(self.data, Sequence) and not hasattr(self.data, "shape"):
            return [self.data[int(i)] for i in indices]
        return self.data[np.asarray(indices, dtype=np.int64)]


@dataclass(frozen=True)
class ALDataset:
    """Examples, labels and groups indexed 0..N-1, with named splits of those indices."""

    name: str
    modality: str  # "image" or "text": which models can consume it
    inputs: Inputs
    labels: np.ndarray  # (N,) int64 class ids
    groups: np.ndarray  # (N,) int64 group ids (e.g. label x background)
    class_names: tuple[str, ...]
    group_names: tuple[str, ...]
    splits: dict[str, np.ndarray]  # split name -> sorted dataset indices
    pool_split: str = "train"
    # benchmark metrics reported on every evaluation split beyond accuracy and group accuracies
    # (names in raysweep.engine.benchmark_metrics, e.g. "macro_f1" for iWildCam)
    metrics: tuple[str, ...] = ()
    # False for datasets with hundreds of groups (camera locations, reviewers): their per-group
    # accuracies and acquisition counts are summarised (worst group, percentiles), not each logged
    log_each_group: bool = True
    # the same for classes (iWildCam's 182 species): each round's per-class counts and
    # upsampling ratios are left out, the number of distinct classes acquired is kept; every
    # acquired point's class is still in the trial's acquisitions table
    log_each_class: bool = True

    def __post_init__(self) -> None:
        n = len(self.inputs)
        if self.labels.shape != (n,) or self.groups.shape != (n,):
            raise ValueError(f"dataset {self.name}: inputs, labels and groups differ in length")
        if n and (self.labels.min() < 0 or self.labels.max() >= self.num_classes):
            raise ConfigError(
                f"dataset {self.name}: labels must be class ids 0..{self.num_classes - 1}, "
                f"found {int(self.labels.min())}..{int(self.labels.max())}"
            )
        if n and (self.groups.min() < 0 or self.groups.max() >= len(self.group_names)):
            raise ConfigError(
                f"dataset {self.name}: group ids must be 0..{len(self.group_names) - 1}, "
                f"found {int(self.groups.min())}..{int(self.groups.max())}"
            )
        if self.pool_split not in self.splits:
            raise ValueError(f"dataset {self.name}: pool split {self.pool_split!r} missing")
        pool = set(self.splits[self.pool_split].tolist())
        for split, indices in self.eval_splits.items():
            if pool.intersection(indices.tolist()):
                raise ValueError(f"dataset {self.name}: split {split!r} overlaps the pool")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def pool_indices(self) -> np.ndarray:
        return self.splits[self.pool_split]

    @property
    def eval_splits(self) -> dict[str, np.ndarray]:
        return {name: idx for name, idx in self.splits.items() if name != self.pool_split}

    def check_sizes(self, seed_size: int, budget: int, balanced: bool) -> None:
        """One-line errors for a recipe this dataset cannot satisfy."""
        pool = len(self.pool_indices)
        if seed_size > pool:
            raise ConfigError(
                f"recipe.seed_size ({seed_size}) is larger than the pool of {self.name} ({pool})"
            )
        if budget > pool:
            raise ConfigError(
                f"recipe.budget ({budget}) is larger than the pool of {self.name} ({pool})"
            )
        if balanced:
            counts = np.bincount(self.labels[self.pool_indices], minlength=self.num_classes)
            per_class = -(-seed_size // self.num_classes)
            short = [self.class_names[c] for c in range(self.num_classes) if counts[c] < per_class]
            if short:
                raise ConfigError(
                    f"balanced seed set of {seed_size} needs {per_class} per class; "
                    f"{self.name} pool has fewer for {', '.join(short)}"
                )
