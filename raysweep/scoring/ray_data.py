"""The Ray Data scorer: the pool cut into index blocks, scored by the trial's scoring actors.

Per request: the indices are cut into the engine's blocks (whole model batches each, so every
model batch equals the in-process scorer's), each with its request positions, dataset indices
and, for top-k, the strategy's tie-break key (and precomputed scores). The round's model goes to
the object store once per request; the dataset's inputs once per trial (an in-memory array as a
``/dev/shm`` file the actors map, or through the object store: :mod:`.shared_inputs`). For top-k
only each block's best rows come back, merged as they stream in, so the trial never holds the
pool's outputs.

Why two execution paths: Ray Data's actor pool lives for one Dataset execution, and an actor
start (process, torch import, model) costs 5-7 s on a small node, which made every request 1.4x
the in-process scorer. Per-round requests therefore go to long-lived actors of the same class,
started on the first request and kept for the trajectory (:mod:`.pool`); the one-off embedding
pass written as parquet (many rows, once per cache entry) stays a Ray Data ``map_batches`` with
the callable class, which streams parts across the cluster. The long-lived actors are stopped
before that pass, so both never hold the trial's actor bundles at once.

Placement: inside a Tune trial every actor runs in the trial's own placement group (extra
bundles reserved by :func:`raysweep.scoring.placement.trial_bundles`). ``from_blocks`` launches no
metadata tasks, so nothing waits for CPUs outside the reservation: concurrent trials on a full
cluster never wait on each other. :meth:`RayDataScorer.close` (or garbage collection) stops the
actors and deletes the shared inputs when the trajectory ends.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import ray
from torch import nn

from raysweep.data.base import ALDataset
from raysweep.engine.inference import (
    BlockResult,
    Outputs,
    ScoreRequest,
    TopKRequest,
    assemble,
    block_positions,
    full_outputs_requested,
)
from raysweep.engine.ranking import merge_top_rows
from raysweep.models.base import ModelAdapter
from raysweep.scoring.actor import ActorSetup, BlockScorer
from raysweep.scoring.placement import scheduling_options
from raysweep.scoring.pool import ScoringActors
from raysweep.scoring.shared_inputs import SharedInputs, release_inputs, share_inputs

log = logging.getLogger(__name__)


def quiet_ray_data() -> None:
    """No progress bars or per-dataset plans in a trial's log (one line per round is enough)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


@dataclasses.dataclass
class _Held:
    """What a scorer holds outside its process; released by ``close`` or garbage collection."""

    actors: ScoringActors | None = None
    inputs: tuple[Any, SharedInputs] | None = None  # (the dataset's inputs object, its handle)

    def stop_actors(self) -> None:
        if self.actors is not None:
            self.actors.close()
            self.actors = None

    def release(self) -> None:
        self.stop_actors()
        release_inputs(self.inputs[1] if self.inputs else None)
        self.inputs = None


class RayDataScorer:
    # the actors reduce each block against ScoreRequest.against (BlockResult.stats, a few numbers
    # per block): the batch diagnostics never bring the pool's embeddings back to the trial
    reduces_against_batch = True

    def __init__(
        self,
        actors: int = 1,
        cpus_per_actor: float = 0.5,
        gpus_per_actor: float = 0.0,
        batch_size: int | None = None,
        bf16: bool = False,
    ) -> None:
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.gpus_per_actor = gpus_per_actor
        self.batch_size = batch_size  # overrides the request's model batch when set
        self.bf16 = bf16  # throughput runs only: changes the numbers, so not a job option
        self._held = _Held()
        self._finalizer = weakref.finalize(self, self._held.release)
        quiet_ray_data()

    @property
    def threads(self) -> int:
        return max(1, int(self.cpus_per_actor))

    def close(self) -> None:
        """Stop the actors and delete the shared inputs (the trajectory is over)."""
        self._finalizer()

    def outputs(
        self,
        model: nn.Module,
        adapter: ModelAdapter,
        dataset: ALDataset,
        indices: np.ndarray,
        request: ScoreRequest,
    ) -> Outputs:
        indices = np.asarray(indices, dtype=np.int64)
        if self.batch_size is not None:
            request = dataclasses.replace(request, batch_size=self.batch_size)
        blocks = block_positions(len(indices), request.batch_size)
        if request.sink is not None:
            return self._write_parts(model, adapter, dataset, indices, request, blocks)
        if self._held.actors is None:
            self._held.actors = ScoringActors(
                self.actors, self.cpus_per_actor, self.gpus_per_actor, self.threads
            )
        node = ray.get_runtime_context().get_node_id()
        setup = self._setup(model, adapter, dataset, request, self._held.actors.on_node(node))
        results = self._held.actors.map(
            setup, (_index_block(indices, p, request.top_k) for p in blocks)
        )
        streaming = request.top_k is not None and not full_outputs_requested(request)
        collected: list[BlockResult] = []
        top = None
        for block in results:
            if streaming and request.top_k is not None:
                # merged as they arrive: only k rows (and DEPTH blocks per actor) are ever held
                top = merge_top_rows(top, block.top(request.top_k.k), request.top_k.k)
                block = BlockResult(
                    block.positions[:0],
                    None,
                    None,
                    entropy_sum=block.entropy_sum,
                    start=block.start,
                )
            collected.append(block)
        outputs = assemble(collected, len(indices), request, dataset.num_classes)
        return dataclasses.replace(outputs, top=top) if streaming else outputs

    def _write_parts(
        self,
        model: nn.Module,
        adapter: ModelAdapter,
        dataset: ALDataset,
        indices: np.ndarray,
        request: ScoreRequest,
        blocks: list[np.ndarray],
    ) -> Outputs:
        """The embedding pass as a Ray Data ``map_batches`` (parts written by the actors)."""
        self._held.stop_actors()  # their bundles are the ones this pass's actors need
        single_node = len([n for n in ray.nodes() if n["Alive"]]) == 1
        setup = self._setup(model, adapter, dataset, request, single_node)
        pool = ray.data.from_blocks(
            [pa.table(_index_block(indices, p, request.top_k)) for p in blocks]
        )
        written = pool.map_batches(
            BlockScorer,
            fn_constructor_args=(setup,),
            batch_size=len(blocks[0]) if blocks else 1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.actors),
            num_cpus=self.cpus_per_actor,
            num_gpus=self.gpus_per_actor,
            **scheduling_options(),
        )
        parts = []
        for batch in written.iter_batches(batch_size=None, batch_format="numpy"):
            keys = list(batch)
            parts += [{k: _plain(batch[k][i]) for k in keys} for i in range(len(batch[keys[0]]))]
        return Outputs(parts=parts)

    def _setup(
        self,
        model: nn.Module,
        adapter: ModelAdapter,
        dataset: ALDataset,
        request: ScoreRequest,
        local_only: bool,
    ) -> ActorSetup:
        return ActorSetup(
            model=[ray.put(_on_cpu(model))],
            inputs=self._shared_inputs(dataset, local_only),
            adapter=adapter,
            request=_without_row_arrays(request),
            device="cuda" if self.gpus_per_actor > 0 else "cpu",
            threads=self.threads,
            bf16=self.bf16,
        )

    def _shared_inputs(self, dataset: ALDataset, local_only: bool) -> SharedInputs:
        """The dataset's inputs for the actors, shared once per trial (per inputs object)."""
        held = self._held.inputs
        # a /dev/shm file serves only actors on this node; an object-store copy serves any
        if held is not None and held[0] is dataset.inputs and (local_only or held[1].path is None):
            return held[1]
        release_inputs(held[1] if held else None)
        shared = share_inputs(dataset.inputs, local_only)
        self._held.inputs = (dataset.inputs, shared)
        return shared


def _index_block(
    indices: np.ndarray, positions: np.ndarray, top_k: TopKRequest | None
) -> dict[str, np.ndarray]:
    columns = {"position": positions, "index": indices[positions]}
    if top_k is not None:
        columns["tie"] = np.asarray(top_k.tie_break, dtype=np.float64)[positions]
        if not callable(top_k.score):
            columns["given"] = np.asarray(top_k.score, dtype=np.float64)[positions]
    return columns


def _without_row_arrays(request: ScoreRequest) -> ScoreRequest:
    """The request as the actors need it: per-row arrays travel with each block instead."""
    if request.top_k is None:
        return request
    score = request.top_k.score if callable(request.top_k.score) else np.empty(0)
    return dataclasses.replace(
        request, top_k=TopKRequest(request.top_k.k, tie_break=np.empty(0), score=score)
    )


def _on_cpu(model: nn.Module) -> nn.Module:
    """The model as actors on any node can load it (a CUDA module is copied to the CPU)."""
    if all(p.device.type == "cpu" for p in model.parameters()):
        return model
    return copy.deepcopy(model).cpu()


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
