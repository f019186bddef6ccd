"""Last-stage mode: cache the lower layers' outputs once, fine-tune the last stage, neck and head.

Between the frozen-backbone mode (a linear probe) and full fine-tuning: both a pretrained and a
randomly initialised network train the same upper part of themselves over their own frozen lower
layers, so the two arms of a pretraining comparison are trained the same way at a CPU's cost.

The lower layers' feature maps are an entry of the same shared cache as the frozen-backbone
embeddings (:func:`raysweep.engine.embedding_cache.cached_embeddings`): content-keyed parquet
parts with a manifest and checksums under the sweep's storage, one builder under a lock, a
corrupt entry rebuilt. Each row is a feature map flattened; its shape comes from the network.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import nn

from raysweep.data.base import ALDataset, ArrayInputs
from raysweep.engine.embedding_cache import backbone_key, cached_embeddings, default_store
from raysweep.engine.embedding_parts import write_part
from raysweep.engine.inference import block_positions
from raysweep.models.base import ModelAdapter
from raysweep.models.upper_layers import UpperLayersAdapter
from raysweep.spec.trajectory import TrajectorySpec


def freeze_lower_layers(
    spec: TrajectorySpec,
    dataset: ALDataset,
    adapter: ModelAdapter,
    network: nn.Module,
    init_seed: int,
    device: torch.device,
    store: str | None = None,
) -> tuple[ALDataset, ModelAdapter, nn.Module]:
    """The dataset as lower-layer outputs, their adapter, and the original upper layers.

    ``store`` (a path or URI, default: the local raysweep cache) holds the shared entries.
    """
    lower, upper = adapter.split_last_stage(network)
    lower.to(device).eval()
    key = {**backbone_key(spec, dataset, adapter, init_seed), "layers": "below the last stage"}
    n_rows, batch_size = len(dataset.inputs), spec.train.eval_batch_size

    def build(sink: str) -> list[dict[str, Any]]:
        return write_lower_outputs(lower, adapter, dataset, batch_size, device, sink)

    flat = cached_embeddings(store or default_store(), key, n_rows, build)
    features = flat.reshape(n_rows, *row_shape(lower, adapter, dataset, device))
    embedded = dataclasses.replace(dataset, inputs=ArrayInputs(torch.from_numpy(features)))
    return embedded, UpperLayersAdapter(adapter), upper


def write_lower_outputs(
    lower: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    batch_size: int,
    device: torch.device,
    sink: str,
) -> list[dict[str, Any]]:
    """``lower`` (in eval mode) over every example, written block by block as parquet parts
    under ``sink`` (each row a flattened float32 feature map); the parts' records."""
    parts = []
    for positions in block_positions(len(dataset.inputs), batch_size):
        outputs = lower_outputs(lower, adapter, dataset, positions, batch_size, device)
        parts.append(write_part(sink, positions, outputs.reshape(len(positions), -1)))
    return parts


def lower_outputs(
    lower: nn.Module,
    adapter: ModelAdapter,
    dataset: ALDataset,
    indices: np.ndarray,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """``lower`` over ``dataset[indices]`` in model batches of ``batch_size``, as float32."""
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(indices), batch_size):
            inputs = adapter.prepare(
                dataset.inputs.take(indices[start : start + batch_size]), device
            )
            outputs.append(lower(inputs).float().cpu().numpy())
    return np.concatenate(outputs)


def row_shape(
    lower: nn.Module, adapter: ModelAdapter, dataset: ALDataset, device: torch.device
) -> tuple[int, ...]:
    """The shape of one example's feature map (the cache stores rows flattened)."""
    return tuple(lower_outputs(lower, adapter, dataset, np.arange(1), 1, device).shape[1:])
