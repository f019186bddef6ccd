"""Amazon-WILDS (text) from a local ``root_dir``: star ratings, groups = reviewers.

Loaded through the ``wilds`` package (``amazon_v2.1/`` with ``reviews.csv`` and
``splits/user.csv``, the official reviewer-shift split), checked first so that nothing is
downloaded. Label = star rating - 1 (five classes). The benchmark reports accuracy and the 10th
percentile of per-reviewer accuracy on the OOD test split (reviewers unseen in training).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raysweep.data.base import ALDataset, ArrayInputs
from raysweep.data.wilds_layout import (
    WildsLayout,
    check_pool_split,
    metadata_column,
    open_wilds,
    wilds_splits,
)

AMAZON = WildsLayout(
    "amazon",
    "2.1",
    {
        "reviews.csv": ("reviewerID", "asin", "overall", "reviewText", "category", "reviewYear"),
        "splits/user.csv": ("split",),
    },
)
AMAZON_CLASSES = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")


def build_amazon(root_dir: str, pool_split: str = "train") -> ALDataset:
    """Amazon-WILDS reviews as raw strings; groups are reviewer ids (thousands: not each logged)."""
    dataset = open_wilds(root_dir, AMAZON)
    splits = wilds_splits(dataset)
    check_pool_split("amazon", splits, pool_split)
    labels = dataset.y_array.numpy().astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(AMAZON_CLASSES)):
        _explain_stars(Path(dataset.data_dir) / "reviews.csv")
    reviewers = metadata_column(dataset, "user")
    return ALDataset(
        name="amazon",
        modality="text",
        inputs=ArrayInputs([dataset.get_input(i) for i in range(len(dataset))]),
        labels=labels,
        groups=reviewers,
        class_names=AMAZON_CLASSES,
        group_names=tuple(str(r) for r in dataset.metadata_map["user"]),
        splits=splits,
        pool_split=pool_split,
        metrics=("group_p10_accuracy",),
        log_each_group=False,
    )


def _explain_stars(table: Path) -> None:
    """wilds maps a rating outside 1..5 to the id -1: name the file's value and row instead."""
    import pandas as pd

    stars = pd.read_csv(table, usecols=["overall"])["overall"]
    bad = np.flatnonzero(~stars.isin([1, 2, 3, 4, 5]).to_numpy())
    first = f"{stars.tolist()[bad[0]]!r} in row {bad[0] + 1}" if len(bad) else "a value"
    raise AMAZON.error(
        table,
        f"reviews.csv column 'overall' has {first} ({len(bad)} such); star ratings are 1..5",
    )


__all__ = ["AMAZON", "build_amazon"]
