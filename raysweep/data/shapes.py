"""Procedurally generated shapes: the paper's Figure 1 (red squares vs blue circles) in miniature.

The intended task is the shape (square vs circle); colour (red vs blue) is a spurious attribute that
agrees with the shape on ``train_agreement`` of the pool and on 50% of the evaluation splits. Fast
enough to build in milliseconds, so tests and smoke sweeps use it.
"""

from __future__ import annotations

import numpy as np
import torch

from raysweep.data.base import ALDataset, ArrayInputs
from raysweep.data.spurious import group_ids, spurious_splits

COLOURS = np.array([[0.85, 0.15, 0.15], [0.15, 0.25, 0.9]], dtype=np.float32)  # red, blue


def _draw(shape: int, colour: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((3, size, size), 0.2, dtype=np.float32) + rng.normal(0, 0.03, (3, size, size))
    radius = rng.uniform(0.18, 0.32) * size
    cy, cx = rng.uniform(radius + 1, size - radius - 1, size=2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if shape == 0:  # square
        mask = (np.abs(yy - cy) <= radius * 0.85) & (np.abs(xx - cx) <= radius * 0.85)
    else:  # circle
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    tint = np.clip(colour + rng.normal(0, 0.05, 3), 0, 1).astype(np.float32)
    image[:, mask] = tint[:, None]
    return np.clip(image, 0, 1).astype(np.float32)  # the noise above made it float64


def build_shapes(
    n: int = 1200,
    image_size: int = 32,
    train_agreement: float = 0.95,
    eval_agreement: float = 0.5,
    data_seed: int = 0,
) -> ALDataset:
    """Squares (label 0) and circles (label 1), coloured red/blue with a controlled correlation."""
    rng = np.random.default_rng(data_seed)
    labels = np.repeat([0, 1], [n // 2, n - n // 2]).astype(np.int64)
    fractions = {"train": 0.5, "val": 0.25, "test": 0.25}
    splits, colour = spurious_splits(labels, fractions, train_agreement, eval_agreement, rng)
    images = np.stack(
        [_draw(int(labels[i]), COLOURS[colour[i]], image_size, rng) for i in range(n)]
    )
    return ALDataset(
        name="shapes",
        modality="image",
        inputs=ArrayInputs(torch.from_numpy(images)),
        labels=labels,
        groups=group_ids(labels, colour),
        class_names=("square", "circle"),
        group_names=("square/red", "square/blue", "circle/red", "circle/blue"),
        splits=splits,
    )
