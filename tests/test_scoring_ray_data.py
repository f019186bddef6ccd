"""The Ray Data scorer: the same selections and outputs as the in-process scorer, and a killed
actor changes nothing. Ray runs locally on 2 CPUs (never ``ray stop``)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import ray
from scoring_helpers import (
    STRATEGIES,
    model_and_pool,
    reference_selection,
    scoring_actor_pids,
    streamed_request,
)

from raysweep.engine import inference
from raysweep.engine.inference import LocalScorer, ScoreRequest
from raysweep.scoring import RayDataScorer
from raysweep.scoring.pool import ScoringActors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize(
    ("strategy", "zero_head"),
    [(name, False) for name in STRATEGIES] + [("margin", True)],
)
def test_ray_data_selects_what_local_selects(local_ray, strategy, zero_head, monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 96)  # several blocks, a partial last batch
    model, adapter, dataset, pool = model_and_pool(zero_head=zero_head)
    expected = reference_selection(strategy, LocalScorer(), model, adapter, dataset, pool, 25, 64)
    request = streamed_request(strategy, pool, 25, 64)
    outputs = RayDataScorer(actors=2).outputs(model, adapter, dataset, pool, request)
    assert pool[outputs.top.positions].tolist() == expected.tolist()
    local = LocalScorer().outputs(model, adapter, dataset, pool, request)
    assert outputs.top.scores.tolist() == local.top.scores.tolist()
    assert outputs.mean_entropy == local.mean_entropy


def test_full_outputs_are_bitwise_those_of_the_local_scorer(local_ray, monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 128)
    model, adapter, dataset, pool = model_and_pool()
    request = ScoreRequest(probs=True, embeddings=True, batch_size=64)
    remote = RayDataScorer(actors=1).outputs(model, adapter, dataset, pool, request)
    local = LocalScorer().outputs(model, adapter, dataset, pool, request)
    assert np.array_equal(remote.probs, local.probs)
    assert np.array_equal(remote.embeddings, local.embeddings)


def test_a_killed_actor_changes_nothing(local_ray, monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 64)  # many small blocks: the kill lands mid-round
    model, adapter, dataset, pool = model_and_pool(n=6000)
    request = streamed_request("entropy", pool, 40, 32)
    expected = LocalScorer().outputs(model, adapter, dataset, pool, request)
    killed: list[int] = []
    unsent_map = ScoringActors.map

    def map_killing_after_the_first_block(self, setup, blocks):
        # SIGKILL the actor as soon as its first block is back: the next one is already queued
        # on it (DEPTH per actor), so Ray must restart it and retry that block; a node losing a
        # worker mid-round, at a point that does not depend on the machine's speed
        for result in unsent_map(self, setup, blocks):
            if not killed:
                (pid,) = scoring_actor_pids()
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            yield result

    monkeypatch.setattr(ScoringActors, "map", map_killing_after_the_first_block)
    outputs = RayDataScorer(actors=1).outputs(model, adapter, dataset, pool, request)
    restarted = [pid for pid in scoring_actor_pids() if pid not in killed]
    assert killed, "the actor finished before it could be killed: make the pool bigger"
    assert restarted, "no actor took over the killed one's blocks"
    assert outputs.top.positions.tolist() == expected.top.positions.tolist()
    assert outputs.mean_entropy == expected.mean_entropy
