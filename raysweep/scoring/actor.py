"""The scoring actor class: one per actor, scoring whole blocks of the pool.

Two ways to run it, one class: as Ray Data's callable class (``map_batches(BlockScorer,
fn_constructor_args=(setup,))``, for the one-off embedding pass written as parquet), and as the
trial's long-lived Ray actors (:mod:`raysweep.scoring.pool`), which get a new setup per request by
reference and load the model again only when it changes. Either way each block runs the engine's
own :func:`score_block`, so the numbers are those of the in-process scorer. Long-lived actors
return :class:`BlockResult` objects (numpy arrays, pickled out of band: no Python lists).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import numpy as np
import ray
import torch

from raysweep.engine.device import make_deterministic
from raysweep.engine.embedding_parts import write_part
from raysweep.engine.inference import (
    BlockResult,
    ScoreRequest,
    full_outputs_requested,
    reduced,
    score_block,
)
from raysweep.scoring.shared_inputs import SharedInputs, open_inputs


@dataclasses.dataclass(frozen=True)
class ActorSetup:
    model: list[ray.ObjectRef]  # [ref]: nested, so Ray hands the actor the reference itself
    inputs: SharedInputs
    adapter: Any
    request: ScoreRequest  # without the per-row arrays, which travel with each block
    device: str
    threads: int
    bf16: bool = False


class BlockScorer:
    def __init__(self, setup: ActorSetup | None = None, threads: int = 1) -> None:
        make_deterministic()
        # what the actor reserved, not the node's cores
        torch.set_num_threads(setup.threads if setup is not None else threads)
        self._setup_id: str | None = None
        self._inputs_key: str | None = None
        if setup is not None:
            self._use(setup)

    def _use(self, setup: ActorSetup) -> None:
        self.setup = setup
        self.device = torch.device(setup.device)
        self.model = ray.get(setup.model[0]).to(self.device).eval()
        if setup.inputs.key != self._inputs_key:  # the dataset's inputs: opened once per trial
            self.inputs = open_inputs(setup.inputs)
            self._inputs_key = setup.inputs.key

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def score(
        self, setup: list[ray.ObjectRef], batch: dict[str, np.ndarray]
    ) -> BlockResult | dict[str, Any]:
        """One block of a request (long-lived actors): loads the request's setup if it is new."""
        if setup[0].hex() != self._setup_id:
            self._use(ray.get(setup[0]))
            self._setup_id = setup[0].hex()
        return self.block(batch)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Ray Data's ``map_batches`` (the embedding pass): one row per parquet part written."""
        part = self.block(batch)
        if isinstance(part, BlockResult):
            raise TypeError("map_batches runs only requests with a sink (parquet parts)")
        return {key: np.asarray([value]) for key, value in part.items()}

    def block(self, batch: dict[str, np.ndarray]) -> BlockResult | dict[str, Any]:
        """The block's outputs, its best rows only for streamed top-k, or its parquet part."""
        request = self.setup.request
        indices = batch["index"]
        autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.setup.bf16
            else contextlib.nullcontext()
        )
        with autocast:
            block = score_block(
                self.model,
                self.setup.adapter,
                self.inputs,
                batch["position"],
                indices,
                request,
                self.device,
                tie_break=batch.get("tie"),
                given_scores=batch.get("given"),
            )
        if request.sink is not None:
            return write_part(request.sink, indices, block.embeddings)
        if request.top_k is not None and not full_outputs_requested(request):
            block = reduced(block, request.top_k.k)  # only the block's best rows leave the actor
        return block
