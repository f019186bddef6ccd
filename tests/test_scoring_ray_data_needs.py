"""The Ray Data scorer beyond streamed top-k: its actors live for the trial, and MC-dropout
passes, committee probabilities, training dynamics, uint8 images and the parquet embedding pass
give exactly the in-process scorer's numbers (an unsorted pool, several blocks, a partial last
batch). One scorer is shared by the module's tests, as one trial shares it across its rounds."""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import pytest
import ray
import torch
from scoring_helpers import model_and_pool, scoring_actor_pids

from raysweep.data.base import ArrayInputs
from raysweep.engine import inference
from raysweep.engine.committee import fit_committee
from raysweep.engine.diagnostics import diversity_of, held_stats, representativeness_of
from raysweep.engine.diagnostics_pass import pool_batch_stats, reduces_against_batch
from raysweep.engine.embedding_parts import read_parts
from raysweep.engine.inference import LocalScorer, MCRequest, ScoreRequest
from raysweep.engine.seeding import Stream, numpy_rng
from raysweep.engine.trajectory import Trajectory
from raysweep.models import create_adapter
from raysweep.scoring import RayDataScorer
from raysweep.spec.trajectory import Recipe, TrainConfig, TrajectorySpec
from raysweep.strategies import PoolView, create_strategy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer():
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    shared = RayDataScorer(actors=2, cpus_per_actor=0.5)
    yield shared
    shared.close()
    ray.shutdown()


@pytest.fixture
def blocks(monkeypatch):
    # 300 rows, batch 64: blocks of one batch (step 64), a 44-row partial last batch
    monkeypatch.setattr(inference, "BLOCK_ROWS", 96)


def test_actors_live_across_requests(scorer, blocks):
    model, adapter, dataset, pool = model_and_pool()
    request = ScoreRequest(probs=True, batch_size=64)
    first = scorer.outputs(model, adapter, dataset, pool, request)
    pids = scoring_actor_pids()
    assert len(pids) == 2
    again = scorer.outputs(model, adapter, dataset, pool[::-1], request)
    assert scoring_actor_pids() == pids, "a second request started new actors"
    assert np.array_equal(again.probs, first.probs[::-1])
    assert np.array_equal(
        first.probs, LocalScorer().outputs(model, adapter, dataset, pool, request).probs
    )


def _dropout_model():
    torch.set_num_threads(1)
    _, _, dataset, pool = model_and_pool()
    adapter = create_adapter("tiny_cnn", False, {"drop_rate": 0.3})
    return adapter.create(dataset.num_classes, 0).eval(), adapter, dataset, pool


def test_mc_passes_equal_local_whatever_the_block_cut(scorer, blocks):
    model, adapter, dataset, pool = _dropout_model()
    request = ScoreRequest(probs=False, mc=MCRequest(samples=3, seed=11), batch_size=64)
    remote = scorer.outputs(model, adapter, dataset, pool, request).mc_probs
    # local with one block: masks are keyed by batch position, not by block or actor
    local = LocalScorer().outputs(model, adapter, dataset, pool, request).mc_probs
    assert remote.shape == (3, len(pool), dataset.num_classes)
    assert np.array_equal(remote, local)
    assert not np.allclose(remote[0], remote[1]), "dropout was not active"
    assert not model.training
    bald = create_strategy("bald", {"mc_samples": 3})
    rng = numpy_rng(0, Stream.STRATEGY, 0)
    pick = bald.select(PoolView(pool, pool[:0], rng, mc_probs=remote), 20).indices
    rng = numpy_rng(0, Stream.STRATEGY, 0)
    assert np.array_equal(
        pick, bald.select(PoolView(pool, pool[:0], rng, mc_probs=local), 20).indices
    )


def test_committee_probs_equal_the_heads_on_local_embeddings(scorer, blocks):
    model, adapter, dataset, pool = model_and_pool()
    labeled = np.setdiff1d(np.arange(len(dataset.labels)), pool)[:40]
    embed = ScoreRequest(probs=False, embeddings=True, batch_size=64)
    mine = LocalScorer().outputs(model, adapter, dataset, labeled, embed).embeddings
    committee = fit_committee(
        mine, dataset.labels[labeled], 4, dataset.num_classes, np.random.default_rng(3)
    )
    request = ScoreRequest(probs=True, committee=committee, batch_size=64)
    remote = scorer.outputs(model, adapter, dataset, pool, request)
    local = LocalScorer().outputs(model, adapter, dataset, pool, request)
    assert remote.embeddings is None  # the pool's embeddings stayed in the actors
    assert np.array_equal(remote.committee_probs, local.committee_probs)
    # independently: the heads applied to the pool's embeddings computed in one piece
    everything = LocalScorer().outputs(model, adapter, dataset, pool, embed).embeddings
    np.testing.assert_allclose(remote.committee_probs, committee.probs(everything), rtol=1e-10)


def test_batch_statistics_are_reduced_in_the_actors_and_equal_local(scorer, blocks):
    model, adapter, dataset, pool = model_and_pool()
    pool = np.sort(pool)  # as acquisition passes it
    chosen = np.array([3, 50, 51, 130, 299])  # positions; 299 is in the partial last batch
    assert reduces_against_batch(scorer), "else the diagnostics hold the pool's embeddings"
    remote = pool_batch_stats(model, adapter, dataset, pool, pool[chosen], scorer, 64)
    local = pool_batch_stats(model, adapter, dataset, pool, pool[chosen], LocalScorer(), 64)
    assert remote.rows == local.rows == len(pool)
    assert diversity_of(remote) == diversity_of(local)  # blocks merged in any order: same bits
    assert representativeness_of(remote) == representativeness_of(local)
    assert np.array_equal(remote.top_similarity, local.top_similarity)
    # independently: the statistics of the pool's whole (P, D) matrix, held at once (float32
    # embeddings of another request: equal to float32 precision, not to the bit)
    embed = ScoreRequest(probs=False, embeddings=True, batch_size=64)
    everything = LocalScorer().outputs(model, adapter, dataset, pool, embed).embeddings
    whole = held_stats(everything, everything[chosen])
    assert diversity_of(remote) == pytest.approx(diversity_of(whole), rel=1e-6)
    assert representativeness_of(remote) == pytest.approx(representativeness_of(whole), rel=1e-6)
    # and what came back from the actors was the statistics, not the embeddings
    against = ScoreRequest(probs=False, against=everything[chosen], batch_size=64)
    outputs = scorer.outputs(model, adapter, dataset, pool, against)
    assert outputs.embeddings is None and outputs.probs is None
    assert outputs.batch_stats is not None and outputs.batch_stats.rows == len(pool)


def test_uint8_images_score_as_their_float_conversion(scorer, blocks):
    model, adapter, dataset, pool = model_and_pool()
    pixels = torch.randint(0, 256, (len(dataset.labels), 3, 32, 32), dtype=torch.uint8)
    as_uint8 = dataclasses.replace(dataset, inputs=ArrayInputs(pixels))
    # today's path: torchvision's ToTensor conversion in the trial, float32 into the model
    as_float = dataclasses.replace(dataset, inputs=ArrayInputs(pixels.float().div(255)))
    request = ScoreRequest(probs=True, batch_size=64)
    expected = LocalScorer().outputs(model, adapter, as_float, pool, request).probs
    assert np.array_equal(
        LocalScorer().outputs(model, adapter, as_uint8, pool, request).probs, expected
    )
    assert np.array_equal(scorer.outputs(model, adapter, as_uint8, pool, request).probs, expected)


def _spec(strategy: str, args: dict) -> TrajectorySpec:
    return TrajectorySpec(
        dataset="shapes",
        model="tiny_cnn",
        strategy=strategy,
        seed=1,
        pretrained=False,
        dataset_args={"n": 240, "image_size": 32},
        model_args={"drop_rate": 0.3},
        strategy_args=args,
        recipe=Recipe(seed_size=10, first_batch=6, budget=22, eval_every=1),
        train=TrainConfig(lr=0.01, max_steps=6, check_every=2, warmup_steps=1, eval_batch_size=24),
    )


@pytest.mark.parametrize(
    ("strategy", "args"),
    [
        ("bald", {"mc_samples": 4}),
        ("qbc_vote_entropy", {"committee_size": 3}),
        ("alvin", {"neighbours": 5}),
    ],
)
def test_trajectory_acquires_what_local_acquires(scorer, monkeypatch, strategy, args):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 64)  # 48-row blocks, a partial last batch
    spec = _spec(strategy, args)
    runs = {}
    for name, backend in (("local", LocalScorer()), ("ray_data", scorer)):
        runs[name] = [
            (r.acquisition.indices, repr(r.metrics))
            for r in Trajectory(spec, device="cpu", scorer=backend).run()
            if r.acquisition is not None
        ]
    assert len(runs["local"]) == 2
    assert runs["ray_data"] == runs["local"]


def test_embedding_pass_writes_the_local_embeddings_then_close_cleans_up(scorer, blocks, tmp_path):
    """Last in the module: the pass stops the long-lived actors (their bundles are the pass's),
    and ``close`` deletes the inputs shared in /dev/shm."""
    model, adapter, dataset, pool = model_and_pool()
    scorer.outputs(model, adapter, dataset, pool[:10], ScoreRequest(batch_size=64))
    pids, shm = scoring_actor_pids(), scorer._held.inputs[1].path
    assert pids and shm is not None and os.path.exists(shm)
    every = np.random.default_rng(2).permutation(len(dataset.labels))  # unsorted, as the pool
    request = ScoreRequest(probs=False, sink=str(tmp_path / "remote"), batch_size=64)
    parts = scorer.outputs(model, adapter, dataset, every, request).parts
    assert len(parts) == 10  # blocks of one 64-row batch each, a 24-row tail
    written = read_parts(str(tmp_path / "remote"), parts, len(dataset.labels))
    local = ScoreRequest(probs=False, embeddings=True, batch_size=64)
    expected = LocalScorer().outputs(model, adapter, dataset, every, local).embeddings
    assert np.array_equal(written[every], expected)
    scorer.close()
    deadline = time.monotonic() + 20
    while scoring_actor_pids() & pids and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not scoring_actor_pids() & pids, "the long-lived actors outlived the scorer"
    assert not os.path.exists(shm), "close() left the shared inputs in /dev/shm"
