"""Benchmark metrics (macro-F1, per-reviewer percentile, worst region) against hand computations
and against the definitions the WILDS benchmarks use (scikit-learn, numpy)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from raysweep.data import ALDataset, ArrayInputs
from raysweep.engine.acquisition import batch_summary
from raysweep.engine.benchmark_metrics import (
    benchmark_metrics,
    group_accuracy_percentile,
    macro_f1,
    worst_group_accuracy_excluding,
)
from raysweep.engine.metrics import split_metrics
from raysweep.engine.parts import TrajectoryParts
from raysweep.errors import ConfigError
from raysweep.models import create_adapter
from raysweep.strategies import create_strategy


def test_macro_f1_hand_example() -> None:
    # class 0: TP 2, FP 1, FN 0 -> P 2/3, R 1 -> F1 0.8
    # class 1: TP 1, FP 0, FN 1 -> P 1, R 1/2 -> F1 2/3
    # class 2: TP 0, FN 1 (its one example predicted as 3) -> F1 0
    # class 3 never occurs in the labels: left out of the mean (wilds passes labels=unique(y))
    labels = np.array([0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 1, 0, 3])
    assert macro_f1(labels, predictions) == pytest.approx((0.8 + 2 / 3 + 0.0) / 3)


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_matches_the_wilds_definition(seed: int) -> None:
    """wilds' F1(average='macro'): sklearn f1_score with labels = the classes in y_true."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 12, 300)
    predictions = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 15, 300))
    expected = f1_score(labels, predictions, average="macro", labels=np.unique(labels))
    assert macro_f1(labels, predictions) == pytest.approx(expected, abs=1e-12)


def test_group_percentile_hand_example() -> None:
    # 5 reviewers with accuracies 0, 1/2, 1, 1, 2/3
    groups = np.array([0, 1, 1, 2, 3, 3, 4, 4, 4])
    labels = np.array([1, 0, 1, 2, 3, 3, 0, 0, 0])
    predictions = np.array([0, 0, 0, 2, 3, 3, 0, 0, 1])
    # sorted: 0, 1/2, 2/3, 1, 1; 10th percentile at position 0.4: 0 + 0.4 * (1/2 - 0) = 0.2
    assert group_accuracy_percentile(labels, predictions, groups, 10) == pytest.approx(0.2)
    assert group_accuracy_percentile(labels, predictions, groups, 50) == pytest.approx(2 / 3)


def test_worst_region_leaves_out_other_and_empty_regions() -> None:
    names = ("Americas", "Other", "Europe", "Africa")
    groups = np.array([0, 0, 1, 1, 2, 2, 2])  # Africa has no examples in this split
    labels = np.array([1, 1, 1, 1, 0, 0, 0])
    predictions = np.array([1, 0, 0, 0, 0, 0, 1])
    # Americas 1/2, Other 0 (ignored), Europe 2/3
    assert worst_group_accuracy_excluding(labels, predictions, groups, names) == pytest.approx(0.5)
    only_other = worst_group_accuracy_excluding(labels[2:4], predictions[2:4], groups[2:4], names)
    assert np.isnan(only_other)


def test_benchmark_metrics_by_name_and_unknown_name() -> None:
    labels = np.array([0, 1, 1, 0])
    predictions = np.array([0, 1, 0, 0])
    groups = np.array([0, 0, 1, 1])
    result = benchmark_metrics(("macro_f1", "group_p10_accuracy"), labels, predictions, groups)
    assert set(result) == {"macro_f1", "group_p10_accuracy"}
    # class 0: TP 2 FP 1 FN 0 -> 0.8; class 1: TP 1 FP 0 FN 1 -> 2/3
    assert result["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    # groups 1.0 and 0.5: 10th percentile = 0.5 + 0.1 * 0.5
    assert result["group_p10_accuracy"] == pytest.approx(0.55)
    assert benchmark_metrics(("macro_f1",), labels[:0], predictions[:0], groups[:0]) == {}
    with pytest.raises(ConfigError, match=r"unknown benchmark metric 'f1'.*macro_f1"):
        benchmark_metrics(("f1",), labels, predictions, groups)


def test_split_metrics_reports_the_dataset_metrics() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 2, 0])
    groups = np.array([0, 1, 1, 2, 2, 2])
    names = ("a", "b", "c")
    full = split_metrics(labels, predictions, groups, 3, names, benchmark=("macro_f1",))
    assert full["macro_f1"] == pytest.approx(f1_score(labels, predictions, average="macro"))
    assert full["group/b"] == 0.5 and full["worst_group_accuracy"] == pytest.approx(0.5)
    summary = split_metrics(labels, predictions, groups, 3, names, log_each_group=False)
    assert not any(key.startswith("group/") for key in summary)
    assert summary["worst_group_accuracy"] == full["worst_group_accuracy"]


@pytest.mark.parametrize("each", [True, False])
def test_acquisition_summary_respects_the_datasets_logging(each: bool) -> None:
    """Per-class (and per-group) acquisition metrics only where the dataset asks for them
    (iWildCam: 182 species, 323 traps); the batch's distinct classes otherwise."""
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 3])
    groups = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    dataset = ALDataset(
        name="tiny",
        modality="text",
        inputs=ArrayInputs([f"t{i}" for i in range(8)]),
        labels=labels,
        groups=groups,
        class_names=("c0", "c1", "c2", "c3"),
        group_names=("g0", "g1"),
        splits={"train": np.arange(8)},
        log_each_group=each,
        log_each_class=each,
    )
    parts = TrajectoryParts(
        dataset, create_adapter("tiny_cnn", False), create_strategy("random"), [4]
    )
    selected = np.array([0, 4, 5, 7])  # classes 0, 1, 1, 3; groups 0, 0, 1, 1
    summary = batch_summary(parts, selected, np.arange(8), None)
    if not each:
        assert summary == {"distinct_classes": 3.0}
        return
    # counts, and share in the batch / share in the pool: 1/4 / (4/8), 2/4 / (2/8), 0, 1/4 / (1/8)
    assert [summary[f"class/count/c{c}"] for c in range(4)] == [1.0, 2.0, 0.0, 1.0]
    assert [summary[f"class/upsampling/c{c}"] for c in range(4)] == [0.5, 2.0, 0.0, 2.0]
    assert summary["count/g0"] == 2.0 and summary["upsampling/g1"] == 1.0
    assert "distinct_classes" not in summary
