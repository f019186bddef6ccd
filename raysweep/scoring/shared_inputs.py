"""How scoring actors read the trial's dataset inputs without a second copy in the trial.

In-memory arrays (the trial built them; their bytes are in its heap) used to go to the object
store with one ``ray.put``: the trial itself writes every page of that copy, so its resident set
grew by the whole dataset on the first Ray Data request (BENCHMARKS.md: +290 MiB for 1M rows).
When every actor runs on the trial's own node, the array is written once to a file in
``/dev/shm`` instead: ``write`` puts the bytes in the shared-memory file system, not in the
trial's address space, and actors map the file read-only (zero-copy, shared between actors and
restarts). Actors on other nodes, and inputs that are not one array (text, file-backed images:
small objects that open their own storage), still go through the object store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import ray
import torch

from raysweep.data.base import ArrayInputs, Inputs

SHM = "/dev/shm"
SHM_HEADROOM = 1.25  # leave the object store (also in /dev/shm by default) room to work


@dataclass(frozen=True)
class SharedInputs:
    """A handle actors open: an ``.npy`` file in ``/dev/shm`` of ``node``, or an object ref."""

    key: str  # changes when the inputs do: an actor re-opens only then
    node: str | None = None
    path: str | None = None
    ref: list[ray.ObjectRef] | None = None  # [ref]: nested, so Ray hands the actor the reference


def share_inputs(inputs: Inputs, local_only: bool) -> SharedInputs:
    """``inputs`` as actors can open them; ``local_only``: every actor runs on this node."""
    key = uuid.uuid4().hex
    array = _array_of(inputs)
    if array is not None and local_only and _fits_in_shm(array.nbytes):
        path = os.path.join(SHM, f"raysweep-inputs-{os.getpid()}-{key}.npy")
        np.save(path, array, allow_pickle=False)
        return SharedInputs(key, ray.get_runtime_context().get_node_id(), path)
    value: Any = array if array is not None else inputs  # numpy is read zero-copy from the store
    return SharedInputs(key, ref=[ray.put(value)])


def open_inputs(shared: SharedInputs) -> Inputs:
    """The inputs in an actor: the trial's array mapped read-only, or the object-store copy."""
    if shared.path is not None:
        if shared.node != ray.get_runtime_context().get_node_id():
            raise RuntimeError(
                f"scoring inputs are in {shared.path} on node {shared.node}, not on this node"
            )
        return _as_inputs(np.load(shared.path, mmap_mode="r"))
    assert shared.ref is not None
    value = ray.get(shared.ref[0])
    return _as_inputs(value) if isinstance(value, np.ndarray) else value


def release_inputs(shared: SharedInputs | None) -> None:
    """Delete the ``/dev/shm`` file (the object-store copy goes with its last reference)."""
    if shared is not None and shared.path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(shared.path)


def _array_of(inputs: Inputs) -> np.ndarray | None:
    if isinstance(inputs, ArrayInputs) and isinstance(inputs.data, torch.Tensor):
        return inputs.data.numpy()
    return None


def _as_inputs(array: np.ndarray) -> ArrayInputs:
    with warnings.catch_warnings():  # read-only buffers: nothing writes them (take() copies)
        warnings.simplefilter("ignore", UserWarning)
        return ArrayInputs(torch.from_numpy(array))


def _fits_in_shm(nbytes: int) -> bool:
    try:
        return shutil.disk_usage(SHM).free > SHM_HEADROOM * nbytes
    except OSError:  # no /dev/shm (not Linux): the object store it is
        return False
