"""Last-stage features in the shared cache: hit, miss, a content change, a corrupt part, and a
store reached by URI. Checked against the lower layers run by hand and pyarrow's own reader."""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np
import pytest
import torch
from lower_layer_helpers import stored_rows

from raysweep.data import load_dataset
from raysweep.data.base import ArrayInputs
from raysweep.engine import inference
from raysweep.engine.lower_layers import freeze_lower_layers
from raysweep.models import create_adapter
from raysweep.spec.trajectory import TrainConfig, TrajectorySpec

N = 40
SPEC = TrajectorySpec(
    dataset="shapes",
    model="tiny_cnn",
    strategy="margin",
    seed=0,
    pretrained=False,
    dataset_args={"n": N, "image_size": 16},
    train=TrainConfig(finetune="last_stage", eval_batch_size=16),  # 40 rows: a partial batch
)
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _small_parts(monkeypatch):
    monkeypatch.setattr(inference, "BLOCK_ROWS", 16)  # parts of 16, 16 and 8 rows


@pytest.fixture(scope="module")
def parts():
    torch.set_num_threads(1)
    adapter = create_adapter("tiny_cnn", pretrained=False)
    network = adapter.create(2, init_seed=3)
    dataset = load_dataset("shapes", SPEC.dataset_args)
    lower, _ = adapter.split_last_stage(network)
    with torch.no_grad():
        by_hand = lower.eval()(adapter.prepare(dataset.inputs.take(np.arange(N)), CPU)).numpy()
    return adapter, network, dataset, by_hand


def _features(parts, store, dataset=None) -> np.ndarray:
    adapter, network, original, _ = parts
    embedded, _, _ = freeze_lower_layers(
        SPEC, dataset or original, adapter, network, 3, CPU, str(store)
    )
    return embedded.inputs.data.numpy()


def _builds(store) -> list:
    return sorted(store.glob("*/build-*"))


def test_miss_builds_then_hit_reads(parts, tmp_path):
    by_hand = parts[3]
    first = _features(parts, tmp_path)
    assert np.allclose(first, by_hand, atol=1e-5) and first.shape == by_hand.shape
    (manifest,) = tmp_path.glob("*/manifest.json")
    assert np.array_equal(stored_rows(manifest, N), first.reshape(N, -1))  # parquet, as read
    assert len(_builds(tmp_path)) == 1 and len(list(tmp_path.glob("*/build-*/*.parquet"))) == 3
    again = _features(parts, tmp_path)
    assert np.array_equal(again, first) and len(_builds(tmp_path)) == 1  # a hit: no build


def test_a_content_change_is_a_new_entry(parts, tmp_path):
    _, _, dataset, by_hand = parts
    first = _features(parts, tmp_path)
    images = dataset.inputs.data.clone()
    images[7, 0, 3, 3] += 0.5  # one pixel of one image
    changed = dataclasses.replace(dataset, inputs=ArrayInputs(images))
    second = _features(parts, tmp_path, changed)
    assert len(list(tmp_path.glob("*/manifest.json"))) == 2  # a miss: its own entry
    assert not np.array_equal(second[7], first[7])  # the new pixel is in the features
    others = np.arange(N) != 7
    assert np.array_equal(second[others], first[others])
    assert np.allclose(first, by_hand, atol=1e-5)


def test_a_corrupt_part_is_rebuilt_never_used(parts, tmp_path):
    first = _features(parts, tmp_path)
    (part,) = [p for p in tmp_path.glob("*/build-*/*.parquet") if "-000000000016-" in p.name]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    again = _features(parts, tmp_path)
    assert len(_builds(tmp_path)) == 2  # rebuilt
    assert np.array_equal(again, first)


def test_a_store_reached_by_uri(parts, tmp_path):
    local = _features(parts, tmp_path)
    remote = _features(parts, f"memory://raysweep-test-{uuid.uuid4().hex}")  # not the local fs
    assert np.array_equal(remote, local)
