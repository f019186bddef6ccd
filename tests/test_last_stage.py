"""``train.finetune: last_stage``: the split network, its trainable part and the trajectory over it.

Checked against independent computations: the unsplit network's own outputs, timm's parameter
names (which tensors belong to the last stage, neck and head), and the lower layers run by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lower_layer_helpers import stored_rows

from raysweep.data import load_dataset
from raysweep.engine.seeding import Stream, torch_seed
from raysweep.engine.trajectory import Trajectory
from raysweep.errors import ConfigError
from raysweep.models import create_adapter
from raysweep.models.linear_head import LinearHeadAdapter
from raysweep.models.upper_layers import UpperLayersAdapter
from raysweep.spec.trajectory import Recipe, TrainConfig, TrajectorySpec

# (model, the parameter-name prefixes of its last stage, neck and head in the unsplit timm model)
UPPER_PREFIXES = {
    "tiny_cnn": ("layer4.", "fc."),  # timm ResNet: layer4 is the last stage
    "efficientnet_lite0": ("blocks.6.", "conv_head.", "bn2.", "classifier."),
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("model", sorted(UPPER_PREFIXES))
def test_split_computes_the_same_function(model):
    adapter = create_adapter(model, pretrained=False)
    network = adapter.create(num_classes=3, init_seed=0).eval()
    lower, upper = adapter.split_last_stage(network)
    images = adapter.prepare(torch.rand(4, 3, 48, 48), torch.device("cpu"))
    with torch.no_grad():
        split = upper.eval()(lower.eval()(images))
        assert torch.allclose(split, network(images), atol=1e-5)


@pytest.mark.parametrize("model", sorted(UPPER_PREFIXES))
def test_upper_part_holds_exactly_the_last_stage_neck_and_head(model):
    adapter = create_adapter(model, pretrained=False)
    network = adapter.create(num_classes=3, init_seed=0)
    _, upper = adapter.split_last_stage(network)
    expected = [
        p for name, p in network.named_parameters() if name.startswith(UPPER_PREFIXES[model])
    ]
    trainable = [p for p in upper.parameters() if p.requires_grad]
    assert sum(p.numel() for p in trainable) == sum(p.numel() for p in expected)
    assert [tuple(p.shape) for p in trainable] == [tuple(p.shape) for p in expected]
    assert all(torch.equal(a, b) for a, b in zip(trainable, expected, strict=True))
    # a copy: training the upper part leaves the original network untouched
    assert all(a.data_ptr() != b.data_ptr() for a, b in zip(trainable, expected, strict=True))


def test_pretrained_split_keeps_the_pretrained_last_stage():
    adapter = create_adapter("efficientnet_lite0", pretrained=True)
    network = adapter.create(num_classes=10, init_seed=0)
    _, upper = adapter.split_last_stage(network)
    assert torch.equal(upper.conv_head.weight, network.conv_head.weight)
    assert torch.equal(upper.blocks[0][0].conv_pwl.weight, network.blocks[6][0].conv_pwl.weight)


def test_models_that_cannot_split_say_so():
    with pytest.raises(ConfigError, match="last_stage is not supported"):
        LinearHeadAdapter(8, "image").split_last_stage(torch.nn.Linear(8, 2))


def test_last_stage_is_a_valid_finetune_mode_and_others_are_not():
    TrainConfig(finetune="last_stage").validate()
    with pytest.raises(ConfigError, match=r"train\.finetune must be .*'last_stage', got 'neck'"):
        TrainConfig(finetune="neck").validate()


def _spec() -> TrajectorySpec:
    return TrajectorySpec(
        dataset="shapes",
        model="tiny_cnn",
        strategy="margin",
        seed=0,
        pretrained=False,
        dataset_args={"n": 160, "image_size": 32},
        recipe=Recipe(seed_size=10, first_batch=10, budget=30, eval_every=1),
        train=TrainConfig(finetune="last_stage", max_steps=10, check_every=5, batch_size=8),
    )


def test_trajectory_trains_the_upper_part_over_cached_lower_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYSWEEP_CACHE", str(tmp_path))
    spec = _spec()
    t = Trajectory(spec)
    assert isinstance(t.parts.adapter, UpperLayersAdapter)
    (manifest,) = (tmp_path / "embeddings").glob("*/manifest.json")  # one shared cache entry
    # the cache holds the lower layers' outputs, computed here by hand from the raw images
    adapter = create_adapter("tiny_cnn", pretrained=False)
    network = adapter.create(2, torch_seed(0, Stream.MODEL, 0)).eval()
    lower, _ = adapter.split_last_stage(network)
    raw = load_dataset("shapes", spec.dataset_args)
    with torch.no_grad():
        by_hand = lower(adapter.prepare(raw.inputs.take(np.arange(160)), torch.device("cpu")))
    assert np.allclose(stored_rows(manifest, 160), by_hand.flatten(1).numpy(), atol=1e-5)
    assert t.dataset.inputs.data.shape == by_hand.shape  # rows are feature maps again
    records = t.run()
    assert len(t.state.labeled) == 30 == len(set(t.state.labeled.tolist()))
    assert all(r.train["steps"] > 0 for r in records)
    assert records[-1].metrics is not None
    again = Trajectory(spec)
    again.run()
    assert again.state.labeled.tolist() == t.state.labeled.tolist()  # deterministic, cache reused
    assert len(list(manifest.parent.glob("build-*"))) == 1  # built once
