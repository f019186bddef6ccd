"""Frozen-backbone mode: embed the dataset once with the backbone, then train only a linear head.

The trajectory is otherwise unchanged: the dataset's inputs become the cached embeddings and the
network becomes a linear layer over them. One embedding pass per (data content, backbone, weights,
library versions) is shared by every trial that can reach the store (a local folder or the
sweep's storage URI): it is written as parquet parts plus a manifest (rows, checksums); concurrent
trials wait for one builder (:class:`BuildLock`); an entry that fails its checks is rebuilt.
The last_stage mode's lower-layer features are entries of the same cache (``lower_layers``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow.fs
import timm
import torch
from torch import nn

from raysweep.data.base import ALDataset, ArrayInputs
from raysweep.engine.build_lock import BuildLock
from raysweep.engine.content_key import inputs_digest
from raysweep.engine.embedding_parts import CorruptEntry, filesystem, read_parts
from raysweep.engine.inference import Scorer, ScoreRequest
from raysweep.models.base import ModelAdapter
from raysweep.models.linear_head import LinearHeadAdapter
from raysweep.models.weights import cache_dir
from raysweep.spec.trajectory import TrajectorySpec

EMBEDDING_FORMAT = 2  # bump when the frozen-backbone embedding procedure changes
MANIFEST = "manifest.json"
log = logging.getLogger(__name__)


def default_store() -> str:
    return str(cache_dir() / "embeddings")


def freeze_backbone(
    spec: TrajectorySpec,
    dataset: ALDataset,
    adapter: ModelAdapter,
    backbone: nn.Module,
    init_seed: int,
    scorer: Scorer,
    store: str | None = None,
) -> tuple[ALDataset, ModelAdapter, nn.Module]:
    """The dataset as backbone embeddings, a linear-head adapter, and the seeded original head."""
    key = backbone_key(spec, dataset, adapter, init_seed)
    everything = np.arange(len(dataset.inputs))

    def build(sink: str) -> list[dict[str, Any]]:
        request = ScoreRequest(probs=False, sink=sink, batch_size=spec.train.eval_batch_size)
        return scorer.outputs(backbone, adapter, dataset, everything, request).parts

    embeddings = cached_embeddings(store or default_store(), key, len(everything), build)
    embedded = dataclasses.replace(dataset, inputs=ArrayInputs(torch.from_numpy(embeddings)))
    head = LinearHeadAdapter(embeddings.shape[1], dataset.modality)
    return embedded, head, head.create(dataset.num_classes, init_seed)


def backbone_key(
    spec: TrajectorySpec, dataset: ALDataset, adapter: ModelAdapter, init_seed: int
) -> dict[str, Any]:
    """What a frozen network's outputs over the dataset depend on: the cache key."""
    return {
        "content": inputs_digest(dataset.inputs),
        "dataset": spec.dataset,
        "dataset_args": spec.dataset_args,
        "model": spec.model,
        "model_args": spec.model_args,
        "backbone": adapter.describe(),
        "pretrained": spec.pretrained,
        # a random backbone differs per init seed; a pretrained one is shared by all seeds
        "init_seed": None if spec.pretrained else init_seed,
        # embeddings computed by another library version may differ: never reuse them
        "versions": [EMBEDDING_FORMAT, torch.__version__, timm.__version__],
    }


def cached_embeddings(
    store: str,
    key: dict[str, Any],
    n_rows: int,
    build: Callable[[str], list[dict[str, Any]]],
    poll: float = 1.0,
    stale_after: float = 300.0,
) -> np.ndarray:
    """The entry of ``key`` under ``store``: read if whole, else built by exactly one caller."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]
    fs, root = filesystem(store)
    entry = f"{root}/{digest}"
    fs.create_dir(entry, recursive=True)
    lock = BuildLock(fs, f"{root}/{digest}.lock", stale_after=stale_after)
    while True:
        found = _read_entry(fs, entry, store, digest, n_rows)
        if found is not None:
            return found
        if lock.try_acquire():
            try:
                found = _read_entry(fs, entry, store, digest, n_rows)  # built while we checked
                if found is not None:
                    return found
                build_dir = f"build-{lock.token}"
                started = time.perf_counter()
                parts = build(_join(store, digest, build_dir))
                manifest = {"key": digest, "fields": key, "rows": n_rows, "directory": build_dir}
                manifest["parts"] = sorted(parts, key=lambda p: p["name"])
                _write_json(fs, f"{entry}/{MANIFEST}", manifest)
                log.info(
                    "embedded %d rows in %.1f s into %s",
                    n_rows,
                    time.perf_counter() - started,
                    entry,
                )
            finally:
                lock.release()
            continue  # read it back through the same checks as everyone else
        time.sleep(poll)


def _read_entry(
    fs: pyarrow.fs.FileSystem, entry: str, store: str, digest: str, n_rows: int
) -> np.ndarray | None:
    """The entry's embeddings, or None if absent; a corrupt entry is removed (and so rebuilt)."""
    try:
        with fs.open_input_stream(f"{entry}/{MANIFEST}") as handle:
            manifest = json.loads(handle.readall())
    except (FileNotFoundError, OSError):
        return None
    except ValueError:
        manifest = {}
    try:
        if manifest.get("key") != digest or manifest.get("rows") != n_rows:
            raise CorruptEntry("the manifest does not describe this entry")
        return read_parts(_join(store, digest, manifest["directory"]), manifest["parts"], n_rows)
    except (CorruptEntry, KeyError, TypeError) as exc:
        log.warning("embedding cache entry %s is unusable (%s): rebuilding it", entry, exc)
        with contextlib.suppress(OSError, FileNotFoundError):
            fs.delete_file(f"{entry}/{MANIFEST}")
        return None


def _join(store: str, *names: str) -> str:
    return "/".join([store.rstrip("/"), *names])


def _write_json(fs: pyarrow.fs.FileSystem, path: str, value: dict[str, Any]) -> None:
    """Write then move into place, so a reader never sees half a manifest."""
    partial = f"{path}.partial"
    with fs.open_output_stream(partial) as out:
        out.write(json.dumps(value, sort_keys=True, default=str).encode())
    fs.move(partial, path)
