"""One short trajectory per modality, end to end, on the new datasets and text models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers_engine import Trajectory, TrajectorySpec
from helpers_text_models import save_tiny_bert
from helpers_wilds import make_tiny_iwildcam

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run(spec: dict) -> Trajectory:
    trajectory = Trajectory(TrajectorySpec.from_dict(spec), device="cpu")
    trajectory.run()
    return trajectory


def test_image_trajectory_on_wilds_iwildcam(tmp_path: Path) -> None:
    tiny = make_tiny_iwildcam(tmp_path)
    spec = {
        "dataset": "iwildcam",
        "dataset_args": {"root_dir": str(tmp_path), "image_size": 16},
        "model": "tiny_cnn",
        "pretrained": False,
        "strategy": "margin",
        "recipe": {"seed_size": 4, "first_batch": 2, "budget": 8, "eval_every": 1},
        "train": {
            "lr": 0.01,
            "max_steps": 6,
            "check_every": 3,
            "warmup_steps": 0,
            "lr_milestones": [],
            "batch_size": 4,
        },
    }
    trajectory = _run(spec)
    records = trajectory.records
    assert [r.n_labels for r in records] == [4, 6, 8]
    labeled = trajectory.state.labeled
    assert (
        len(set(labeled.tolist())) == 8
        and np.isin(labeled, np.flatnonzero(np.array(tiny.split) == "train")).all()
    )
    test = records[-1].metrics["test"]
    assert {"accuracy", "macro_f1", "worst_group_accuracy"} <= set(test)
    assert not any(key.startswith("group/") for key in test)  # 323 locations: summarised only
    for record in records[:-1]:  # 182 species, 323 traps: no metric per class or group
        acquired = record.acquisition
        assert not any(
            key.startswith(("class/", "count/", "upsampling/")) for key in acquired.summary
        )
        assert acquired.summary["distinct_classes"] == len(set(acquired.labels))
    assert 0.0 <= test["macro_f1"] <= 1.0
    again = _run(spec)
    np.testing.assert_array_equal(again.state.labeled, labeled)  # same seed, same labeled set


def test_text_trajectory_on_a_user_table_with_a_local_bert(tmp_path: Path) -> None:
    weights = save_tiny_bert(tmp_path / "bert")
    positive = [
        "good film",
        "great movie",
        "the acting was fine",
        "a great plot",
        "good acting",
        "this film is great",
    ]
    negative = [
        "bad film",
        "awful movie",
        "the acting was dull",
        "a dull plot",
        "awful acting",
        "this movie is bad",
    ]
    frame = pd.DataFrame(
        {
            "text": positive + negative,
            "label": ["pos"] * 6 + ["neg"] * 6,
            "split": ["train"] * 4 + ["test"] * 2 + ["train"] * 4 + ["test"] * 2,
        }
    )
    frame.to_parquet(tmp_path / "reviews.parquet")
    spec = {
        "dataset": "text_table",
        "dataset_args": {"path": str(tmp_path / "reviews.parquet")},
        "model": "hf_text",
        "model_args": {"weights": str(weights), "max_length": 16},
        "strategy": "entropy",
        "recipe": {"seed_size": 2, "first_batch": 2, "budget": 6, "eval_every": 1},
        "train": {
            "optimizer": "adamw",
            "lr": 1e-3,
            "batch_size": 4,
            "max_steps": 6,
            "check_every": 3,
            "warmup_steps": 0,
            "lr_milestones": [],
        },
    }
    trajectory = _run(spec)
    assert [r.n_labels for r in trajectory.records] == [2, 4, 6]
    test = trajectory.records[-1].metrics["test"]
    assert set(test) >= {"accuracy", "group/neg", "group/pos", "worst_group_accuracy"}
    acquired = trajectory.records[0].acquisition
    assert acquired is not None and "batch/diversity" in acquired.summary  # text embeddings used
