"""iWildCam, Camelyon17, FMoW and Amazon through the real wilds loading path, on tiny folders in
the exact layout each wilds dataset class reads; nothing may be downloaded."""

from __future__ import annotations

import csv
import pickle
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers_wilds import (
    TinyWilds,
    make_tiny_amazon,
    make_tiny_camelyon17,
    make_tiny_fmow,
    make_tiny_iwildcam,
)

from raysweep.data import load_dataset
from raysweep.data.base import ALDataset
from raysweep.engine.benchmark_metrics import BENCHMARK_METRICS
from raysweep.errors import ConfigError

MAKERS: dict[str, Callable[[Path], TinyWilds]] = {
    "iwildcam": make_tiny_iwildcam,
    "camelyon17": make_tiny_camelyon17,
    "fmow": make_tiny_fmow,
    "amazon": make_tiny_amazon,
}
FOLDERS = {
    "iwildcam": "iwildcam_v2.0",
    "camelyon17": "camelyon17_v1.0",
    "fmow": "fmow_v1.1",
    "amazon": "amazon_v2.1",
}
METADATA = {
    "iwildcam": "metadata.csv",
    "camelyon17": "metadata.csv",
    "fmow": "rgb_metadata.csv",
    "amazon": "reviews.csv",
}
REQUIRED = {
    "iwildcam": "location_remapped",
    "camelyon17": "split",
    "fmow": "country_code",
    "amazon": "reviewText",
}


@pytest.fixture(autouse=True)
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any network connection or wilds download attempt fails the test."""
    from wilds.datasets.wilds_dataset import WILDSDataset

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to reach the network / download")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(WILDSDataset, "download_dataset", refuse)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TinyWilds]:
    return {name: make(tmp_path_factory.mktemp(name)) for name, make in MAKERS.items()}


def _load(name: str, tiny: TinyWilds, **args: object) -> ALDataset:
    return load_dataset(name, {"root_dir": str(tiny.root), **args})


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_labels_groups_and_splits_match_the_metadata(name: str, tiny: dict[str, TinyWilds]) -> None:
    truth = tiny[name]
    dataset = _load(name, truth)
    np.testing.assert_array_equal(dataset.labels, truth.y)
    # the group of each row, named from the raw metadata value written for that row
    assert [dataset.group_names[g] for g in dataset.groups] == truth.group_keys
    in_split = [""] * len(dataset.labels)
    for split, indices in dataset.splits.items():
        for i in indices:
            in_split[i] = split
    assert in_split == truth.split
    assert dataset.pool_split == "train" and "test" in dataset.eval_splits
    assert all(metric in BENCHMARK_METRICS for metric in dataset.metrics)


def test_dataset_facts_of_each_benchmark(tiny: dict[str, TinyWilds]) -> None:
    iwildcam = _load("iwildcam", tiny["iwildcam"])
    assert iwildcam.class_names == ("species 0", "species 1", "species 2", "species 3")
    assert iwildcam.metrics == ("macro_f1",) and not iwildcam.log_each_group
    assert not iwildcam.log_each_class  # 182 species
    assert set(iwildcam.splits) == {"train", "val", "test", "id_val", "id_test"}
    camelyon = _load("camelyon17", tiny["camelyon17"])
    assert camelyon.class_names == ("normal", "tumor") and len(camelyon.group_names) == 5
    # the OOD test split is hospital 2 alone, OOD val hospital 1 alone
    assert {camelyon.group_names[g] for g in camelyon.groups[camelyon.splits["test"]]} == {
        "hospital_2"
    }
    assert {camelyon.group_names[g] for g in camelyon.groups[camelyon.splits["val"]]} == {
        "hospital_1"
    }
    fmow = _load("fmow", tiny["fmow"])
    assert fmow.num_classes == 62 and fmow.metrics == ("worst_region_accuracy",)
    assert "Other" in fmow.group_names
    assert fmow.log_each_group and not fmow.log_each_class  # 6 regions, 62 classes
    amazon = _load("amazon", tiny["amazon"])
    assert amazon.modality == "text" and amazon.num_classes == 5
    assert amazon.metrics == ("group_p10_accuracy",) and not amazon.log_each_group
    assert amazon.log_each_class  # five star ratings


@pytest.mark.parametrize("name", ["iwildcam", "camelyon17", "fmow"])
def test_images_stay_on_disk_and_decode_like_wilds(name: str, tiny: dict[str, TinyWilds]) -> None:
    truth = tiny[name]
    dataset = _load(name, truth, image_size=8)
    inputs = dataset.inputs
    assert len(inputs.paths) == len(dataset.labels)
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in inputs.paths)
    order = np.array([3, 0, 2])  # unsorted: take must keep the order asked for
    images = inputs.take(order)
    assert images.shape == (3, 3, 8, 8) and images.dtype == torch.uint8  # divided on the device
    # the left half of each image shows the colour written for that row
    left = torch.from_numpy(truth.colours[order].astype(np.float32) / 255.0)
    torch.testing.assert_close(
        images[..., :2].float().mean(dim=(2, 3)) / 255, left, atol=4 / 255, rtol=0
    )
    # the same file wilds' own get_input opens, through the same preprocessing
    from raysweep.data.wilds_datasets import CAMELYON17, FMOW, IWILDCAM
    from raysweep.data.wilds_layout import open_wilds

    layout = {"iwildcam": IWILDCAM, "camelyon17": CAMELYON17, "fmow": FMOW}[name]
    wilds_dataset = open_wilds(str(truth.root), layout)
    for i in order:
        torch.testing.assert_close(
            inputs.to_tensor(wilds_dataset.get_input(int(i))), images[list(order).index(i)]
        )
    restored = pickle.loads(pickle.dumps(inputs))  # Ray ships inputs to workers by pickling
    torch.testing.assert_close(restored.take(order), images)


def test_amazon_texts_are_the_reviews(tiny: dict[str, TinyWilds]) -> None:
    dataset = _load("amazon", tiny["amazon"])
    texts = dataset.inputs.take(np.arange(len(dataset.labels)))
    stars = dataset.labels + 1
    assert all(text.startswith("review ") and text.endswith('works, "quoted"') for text in texts)
    assert [("great" in t) for t in texts] == [bool(s > 3) for s in stars]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_missing_folder_marker_or_column_is_one_line(name: str, tmp_path: Path) -> None:
    def error(root: Path) -> str:
        with pytest.raises(ConfigError) as info:
            load_dataset(name, {"root_dir": str(root)})
        message = str(info.value)
        assert "\n" not in message and FOLDERS[name] in message
        return message

    missing = tmp_path / "nowhere"
    assert str(missing) in error(missing) and not missing.exists()
    MAKERS[name](tmp_path)
    data_dir = tmp_path / FOLDERS[name]
    marker = next(data_dir.glob("RELEASE_v*.txt"))
    marker.unlink()  # without it wilds would start a download
    assert f"release marker missing ({marker})" in error(tmp_path)
    marker.write_text("v\n")
    table = data_dir / METADATA[name]
    header, *rows = table.read_text().splitlines()
    quote = '"' if name == "amazon" else ""  # the release quotes every text field
    dropped = f",{quote}{REQUIRED[name]}{quote}"
    assert dropped in header
    table.write_text("\n".join([header.replace(dropped, ""), *rows]) + "\n")
    message = error(tmp_path)
    assert str(table) in message and f"lacks column(s) {REQUIRED[name]}" in message


def test_bad_pool_split_names_the_splits(tiny: dict[str, TinyWilds]) -> None:
    with pytest.raises(ConfigError, match="pool_split must be one of"):
        _load("camelyon17", tiny["camelyon17"], pool_split="unlabeled")


# a value wilds turns into a label outside the classes, or an id gap wilds asserts against,
# written into the real metadata file: (dataset, file, column, row, bad value, expected text)
BAD_LABELS = [
    ("camelyon17", "metadata.csv", "tumor", 2, "2", "column 'tumor' has 2 (1 row(s) outside the classes); expected 0..1"),
    ("amazon", "reviews.csv", "overall", 0, "7.0", "column 'overall' has 7.0 in row 1 (1 such); star ratings are 1..5"),
    ("fmow", "rgb_metadata.csv", "category", 4, "castle", "column 'category' has 'castle' in row 5 (1 such), not one of FMoW's 62 classes"),
    ("iwildcam", "metadata.csv", "y", 1, "9", "column 'y' skips id 4 (wilds needs every id 0..9 to occur; 5 missing)"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "file", "column", "row", "value", "expected"), BAD_LABELS)
def test_labels_outside_the_classes_name_the_file_and_column(
    name: str, file: str, column: str, row: int, value: str, expected: str, tmp_path: Path
) -> None:
    MAKERS[name](tmp_path)
    table = tmp_path / FOLDERS[name] / file
    if name == "amazon":  # rewritten as released: every text field quoted
        frame = pd.read_csv(table)
        frame.loc[row, column] = float(value)
        frame.to_csv(table, index=False, quoting=csv.QUOTE_NONNUMERIC)
    else:
        rows = table.read_text().splitlines()
        cells = rows[row + 1].split(",")  # these files quote nothing
        cells[rows[0].split(",").index(column)] = value
        rows[row + 1] = ",".join(cells)
        table.write_text("\n".join(rows) + "\n")
    with pytest.raises(ConfigError) as info:
        load_dataset(name, {"root_dir": str(tmp_path)})
    message = str(info.value)
    assert "\n" not in message and str(table) in message and expected in message
