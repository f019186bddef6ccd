"""Frozen-backbone mode: embed the dataset once with the backbone, fine-tune only a linear head.

The trajectory engine is unchanged: the dataset's inputs become the cached embeddings and the
network becomes a linear layer over them. Embeddings are cached on disk (keyed by dataset, model,
weights and, for random init, the init seed), so every trial of a sweep on one machine shares
one forward pass over the data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from raysweep.data.base import ALDataset, ArrayInputs
from raysweep.models.base import ModelAdapter
from raysweep.models.weights import cache_dir


class LinearHeadAdapter(ModelAdapter):
    """A linear classifier over precomputed embeddings (the inputs are the embeddings)."""

    def __init__(self, embedding_dim: int, modality: str) -> None:
        self.embedding_dim = embedding_dim
        self.modality = modality

    def create(self, num_classes: int, init_seed: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            return nn.Linear(self.embedding_dim, num_classes)

    def prepare(self, raw: torch.Tensor, device: torch.device) -> torch.Tensor:
        return raw.to(device, non_blocking=True)

    def logits(self, module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        return module(inputs)

    def logits_and_embeddings(
        self, module: nn.Module, inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return module(inputs), inputs


def embed_dataset(
    dataset: ALDataset,
    adapter: ModelAdapter,
    backbone: nn.Module,
    cache_key: dict[str, Any],
    device: torch.device,
    batch_size: int = 256,
) -> ALDataset:
    """``dataset`` with its inputs replaced by ``backbone`` embeddings (from the cache if present)."""
    from raysweep.scoring import predict

    digest = hashlib.sha256(
        json.dumps(cache_key, sort_keys=True, default=str).encode()
    ).hexdigest()[:20]
    file = cache_dir() / "embeddings" / f"{dataset.name}-{digest}.npy"
    if file.exists():
        embeddings = np.load(file)
    else:
        everything = np.arange(len(dataset.inputs))
        embeddings = predict(
            backbone, adapter, dataset, everything, batch_size, device, with_embeddings=True
        ).embeddings
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(partial, embeddings)
        partial.replace(file)  # atomic, so concurrent trials never read a partial file
    return dataclasses.replace(dataset, inputs=ArrayInputs(torch.from_numpy(embeddings)))
