"""The engine's scorer seam, in process: streamed top-k equals the strategy's own choice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.special import entr
from scoring_helpers import STRATEGIES, model_and_pool, reference_selection, streamed_request

from raysweep.data.base import ArrayInputs
from raysweep.engine import inference
from raysweep.engine.inference import LocalScorer, ScoreRequest
from raysweep.engine.ranking import TopRows, merge_top_rows


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("zero_head", [False, True])
def test_streamed_top_k_equals_strategy_select(strategy, zero_head, monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 96)  # several blocks, a partial last batch
    model, adapter, dataset, pool = model_and_pool(zero_head=zero_head)
    scorer = LocalScorer("cpu")
    expected = reference_selection(strategy, scorer, model, adapter, dataset, pool, 25, 64)
    outputs = scorer.outputs(
        model, adapter, dataset, pool, streamed_request(strategy, pool, 25, 64)
    )
    assert pool[outputs.top.positions].tolist() == expected.tolist()
    probs = scorer.outputs(model, adapter, dataset, pool, ScoreRequest(batch_size=64)).probs
    assert outputs.mean_entropy == pytest.approx(entr(probs).sum(axis=1).mean(), rel=1e-6)


def test_full_outputs_align_with_an_unsorted_pool():
    model, adapter, dataset, pool = model_and_pool()
    outputs = LocalScorer().outputs(
        model, adapter, dataset, pool, ScoreRequest(embeddings=True, batch_size=64)
    )
    one = LocalScorer().outputs(
        model, adapter, dataset, pool[7:8], ScoreRequest(embeddings=True, batch_size=1)
    )
    np.testing.assert_allclose(outputs.probs[7], one.probs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs.embeddings[7], one.embeddings[0], rtol=1e-5, atol=1e-6)


def test_merging_block_winners_gives_the_global_top_k():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, 1000).astype(float)  # many ties
    tie = rng.random(1000)
    positions = np.arange(1000)
    brute = sorted(positions, key=lambda p: (-scores[p], tie[p], p))[:30]
    merged = None
    for block in np.array_split(rng.permutation(1000), 7):  # blocks in any order
        order = np.lexsort((block, tie[block], -scores[block]))[:30]
        rows = block[order]
        merged = merge_top_rows(merged, TopRows(rows, scores[rows], tie[rows], scores[rows]), 30)
    assert merged.positions.tolist() == brute


def test_scoring_section_is_checked_and_not_part_of_the_sweep_identity():
    from raysweep.errors import ConfigError
    from raysweep.spec.job_file import parse_job
    from raysweep.spec.plan import job_fingerprint

    base = {"datasets": ["shapes"], "models": ["tiny_cnn"], "strategies": ["random"]}
    local = parse_job(base)
    remote = parse_job({**base, "scoring": {"backend": "ray_data", "actors": 2}})
    assert remote.scoring.backend == "ray_data" and remote.scoring.actors == 2
    assert job_fingerprint(local) == job_fingerprint(remote)
    with pytest.raises(
        ConfigError, match=r"scoring\.backend must be 'auto' or 'local' or 'ray_data', got 'spark'"
    ):
        parse_job({**base, "scoring": {"backend": "spark"}})
    with pytest.raises(ConfigError, match=r"unknown key scoring\.actor .*scoring\.actors"):
        parse_job({**base, "scoring": {"actor": 2}})
    with pytest.raises(ConfigError, match=r"scoring\.cpus_per_actor must be > 0"):
        parse_job({**base, "scoring": {"cpus_per_actor": 0}})


def test_uint8_images_give_the_numbers_of_their_float_conversion():
    """uint8 stays uint8 until the adapter converts it on the device, exactly as ToTensor does."""
    model, adapter, dataset, pool = model_and_pool()
    pixels = torch.randint(0, 256, (len(dataset.labels), 3, 32, 32), dtype=torch.uint8)
    request = ScoreRequest(probs=True, embeddings=True, batch_size=64)
    as_uint8 = dataclasses.replace(dataset, inputs=ArrayInputs(pixels))
    as_float = dataclasses.replace(dataset, inputs=ArrayInputs(pixels.float().div(255)))
    got = LocalScorer().outputs(model, adapter, as_uint8, pool, request)
    want = LocalScorer().outputs(model, adapter, as_float, pool, request)
    assert np.array_equal(got.probs, want.probs)
    assert np.array_equal(got.embeddings, want.embeddings)
    assert not np.array_equal(
        got.probs, LocalScorer().outputs(model, adapter, dataset, pool, request).probs
    )
