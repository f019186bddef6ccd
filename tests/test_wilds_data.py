"""Waterbirds through the real wilds loading path, on a tiny folder in the real on-disk layout."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_wilds import TinyWaterbirds, make_tiny_waterbirds
from PIL import Image
from torchvision import transforms

from raysweep.data import load_dataset
from raysweep.data.wilds_datasets import build_waterbirds
from raysweep.errors import ConfigError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyWaterbirds:
    return make_tiny_waterbirds(tmp_path_factory.mktemp("wb"))


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any network connection or wilds download attempt fails the test."""
    from wilds.datasets.wilds_dataset import WILDSDataset

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to reach the network / download")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(WILDSDataset, "download_dataset", refuse)


def test_labels_groups_splits_match_metadata(tiny: TinyWaterbirds, no_download: None) -> None:
    dataset = build_waterbirds(str(tiny.root), image_size=16)
    assert dataset.modality == "image"
    assert dataset.class_names == ("landbird", "waterbird")
    np.testing.assert_array_equal(dataset.labels, tiny.y)
    # names built independently from what was written: bird type / background
    birds, places = ("landbird", "waterbird"), ("land", "water")
    names = [dataset.group_names[g] for g in dataset.groups]
    assert names == [f"{birds[y]}/{places[p]}" for y, p in zip(tiny.y, tiny.place, strict=True)]
    assert set(dataset.splits) == {"train", "val", "test"}
    for code, name in enumerate(("train", "val", "test")):
        np.testing.assert_array_equal(dataset.splits[name], np.flatnonzero(tiny.split == code))
    assert dataset.pool_split == "train"
    np.testing.assert_array_equal(dataset.pool_indices, np.flatnonzero(tiny.split == 0))
    assert set(dataset.eval_splits) == {"val", "test"}


def test_images_are_resized_rows_in_unit_range(tiny: TinyWaterbirds, no_download: None) -> None:
    dataset = build_waterbirds(str(tiny.root), image_size=20)
    order = np.array([17, 0, 5, 23])  # unsorted: take must keep the order asked for
    images = dataset.inputs.take(order)
    assert isinstance(images, torch.Tensor)
    assert images.shape == (4, 3, 20, 20) and images.dtype == torch.uint8  # divided on the device
    # what the model sees is bit for bit what torchvision's float pipeline gives the same file
    scaled = round(20 * dataset.inputs.resize_scale)  # wilds' evaluation transform
    reference = transforms.Compose(
        [transforms.Resize((scaled, scaled)), transforms.CenterCrop(20), transforms.ToTensor()]
    )
    for row, index in enumerate(order):
        with Image.open(dataset.inputs.paths[index]) as image:
            expected = reference(image.convert("RGB"))
        assert torch.equal(images[row].float().div_(255), expected)  # as timm_models.prepare
    images = images.float() / 255
    # each image shows the colours written for its row, left half then its complement, away
    # from the seam (JPEG and resampling error stay within a few levels there)
    left = torch.from_numpy(tiny.colours[order].astype(np.float32) / 255.0)
    torch.testing.assert_close(images[..., :5].mean(dim=(2, 3)), left, atol=4 / 255, rtol=0)
    torch.testing.assert_close(images[..., -5:].mean(dim=(2, 3)), 1 - left, atol=4 / 255, rtol=0)
    assert len(dataset.inputs) == len(tiny.y)
    empty = dataset.inputs.take(np.array([], dtype=np.int64))
    assert empty.shape == (0, 3, 20, 20) and empty.dtype == torch.uint8


def test_registry_path_and_pickled_inputs(tiny: TinyWaterbirds, no_download: None) -> None:
    dataset = load_dataset("waterbirds", {"root_dir": str(tiny.root), "image_size": 12})
    np.testing.assert_array_equal(dataset.labels, tiny.y)
    np.testing.assert_array_equal(dataset.groups, 2 * tiny.y + tiny.place)
    # Ray ships datasets to workers by pickling: the lazy inputs must survive it
    inputs = pickle.loads(pickle.dumps(dataset.inputs))
    torch.testing.assert_close(inputs.take(np.array([3, 9])), dataset.inputs.take([3, 9]))
    val_pool = build_waterbirds(str(tiny.root), image_size=12, pool_split="val")
    np.testing.assert_array_equal(val_pool.pool_indices, np.flatnonzero(tiny.split == 1))


def _one_line_error(root_dir: str) -> str:
    with pytest.raises(ConfigError) as info:
        build_waterbirds(root_dir)
    message = str(info.value)
    assert "\n" not in message
    assert "waterbirds_v1.0" in message and "metadata.csv" in message  # the expected layout
    return message


def test_missing_root_is_one_line_without_network(tmp_path: Path, no_download: None) -> None:
    missing = tmp_path / "nowhere"
    assert str(missing) in _one_line_error(str(missing))
    assert not missing.exists()  # wilds would have created it on its way to a download


def test_missing_marker_or_metadata_stops_before_wilds(tmp_path: Path, no_download: None) -> None:
    make_tiny_waterbirds(tmp_path, n=4)
    marker = tmp_path / "waterbirds_v1.0" / "RELEASE_v1.0.txt"
    marker.unlink()  # without the marker wilds would download
    assert "RELEASE_v1.0.txt" in _one_line_error(str(tmp_path))
    marker.write_text("v1.0\n")
    metadata = tmp_path / "waterbirds_v1.0" / "metadata.csv"
    metadata.write_text("img_filename,y,split\nx.jpg,0,0\n")
    assert "place" in _one_line_error(str(tmp_path))
    # root_dir pointing at the dataset folder itself (a common mistake) names the folder it wanted
    assert "waterbirds_v1.0/waterbirds_v1.0" in _one_line_error(str(tmp_path / "waterbirds_v1.0"))


def test_bad_pool_split_is_config_error(tiny: TinyWaterbirds, no_download: None) -> None:
    with pytest.raises(ConfigError, match="pool_split"):
        build_waterbirds(str(tiny.root), pool_split="unlabeled")
