"""The trial's long-lived scoring actors, placed in the trial's own placement group.

Ray Data's ``ActorPoolStrategy`` starts its actors for one execution of one Dataset and stops them
when it ends; Ray 2.60 has no way to hand an execution existing actors. A trial makes dozens of
requests (every round: pool, labeled set, evaluation, MC passes; dynamics at every check), and
an actor start (process + torch import + model) costs 5-7 s on a small node, so per-round
requests go to these actors instead: the same :class:`BlockScorer` class, started once per
trial as Ray actors, each in its own reserved bundle (``trial_bundles``), so the trial's
reservation covers them and concurrent trials never wait on each other.

Faults: the actors restart without limit and Ray retries the block that was running
(``max_restarts`` / ``max_task_retries``); every call names the request's setup by reference, so
a restarted actor loads the model and inputs again and returns the same block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import ray
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from raysweep.scoring.actor import ActorSetup, BlockScorer

DEPTH = 2  # blocks queued per actor: the next is ready when one finishes, memory stays bounded
RemoteScorer = ray.remote(BlockScorer)


class ScoringActors:
    def __init__(self, count: int, cpus: float, gpus: float, threads: int) -> None:
        group = ray.util.get_current_placement_group()
        self.actors = [
            RemoteScorer.options(  # type: ignore[attr-defined]
                num_cpus=cpus,
                num_gpus=gpus,
                max_restarts=-1,
                max_task_retries=-1,
                **_bundle(group, i),
            ).remote(threads=threads)
            for i in range(count)
        ]
        self.nodes = set(ray.get([actor.node.remote() for actor in self.actors]))

    def on_node(self, node: str) -> bool:
        """Whether every actor runs on ``node``."""
        return self.nodes == {node}

    def map(self, setup: ActorSetup, blocks: Iterable[dict[str, np.ndarray]]) -> Iterator[Any]:
        """Each block's result, in the order they finish (at most ``DEPTH`` blocks per actor)."""
        setup_ref = ray.put(setup)  # once per request, however many blocks
        todo = iter(blocks)  # cut lazily: the trial holds only the blocks in flight
        load = [0] * len(self.actors)
        running: dict[ray.ObjectRef, int] = {}
        more = True
        while more or running:
            while more and min(load) < DEPTH:
                block = next(todo, None)
                if block is None:
                    more = False
                    break
                i = int(np.argmin(load))
                running[self.actors[i].score.remote([setup_ref], block)] = i
                load[i] += 1
            if not running:
                break
            done, _ = ray.wait(list(running), num_returns=1)
            load[running.pop(done[0])] -= 1
            yield ray.get(done[0])

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already gone (Ray shut down, node lost)
                ray.kill(actor)
        self.actors = []


def _bundle(group: Any, i: int) -> dict[str, Any]:
    """Actor ``i`` in bundle ``1 + i`` of the trial's group (bundle 0 is the trial's own)."""
    if group is None:
        return {}
    index = 1 + i if 1 + i < group.bundle_count else -1
    return {
        "scheduling_strategy": PlacementGroupSchedulingStrategy(
            group, placement_group_bundle_index=index
        )
    }
