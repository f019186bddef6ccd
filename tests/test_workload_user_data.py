"""A user's own data (image folder + CSV, text tables in CSV/JSONL/parquet) and Treeperson, read
back from files written in their on-disk layouts; bad files are one-line errors naming them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers_wilds import colour_of, write_image

from raysweep.data import load_dataset
from raysweep.errors import ConfigError


def _one_line(name: str, args: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        load_dataset(name, args)
    assert "\n" not in str(info.value)
    return str(info.value)


# ------------------------------------------------------------------------------ image folder
def _image_folder(root: Path, n: int = 12, with_group: bool = True) -> pd.DataFrame:
    rows = []
    for i in range(n):
        relative = f"{'cats' if i % 2 else 'dogs'}/img_{i:03d}.png"
        write_image(root / relative, i, (18 + i, 14))
        rows.append(
            {
                "path": relative,
                "label": "cat" if i % 2 else "dog",
                "group": "indoor" if i % 3 else "outdoor",
                "split": "test" if i >= 9 else "train",
            }
        )
    frame = pd.DataFrame(rows)
    if not with_group:
        frame = frame.drop(columns=["group", "split"])
    frame.to_csv(root / "labels.csv", index=False)
    return frame


def test_image_folder_labels_groups_splits_and_pixels(tmp_path: Path) -> None:
    frame = _image_folder(tmp_path)
    dataset = load_dataset("image_folder", {"root_dir": str(tmp_path), "image_size": 6})
    assert dataset.class_names == ("cat", "dog") and dataset.modality == "image"
    assert [dataset.class_names[y] for y in dataset.labels] == frame["label"].tolist()
    assert [dataset.group_names[g] for g in dataset.groups] == frame["group"].tolist()
    np.testing.assert_array_equal(dataset.splits["test"], [9, 10, 11])
    np.testing.assert_array_equal(dataset.pool_indices, np.arange(9))
    assert dataset.inputs.paths[4] == str(tmp_path / frame["path"][4])  # for Ray Data readers
    images = dataset.inputs.take(np.array([5, 1])).float() / 255  # uint8 pixels
    left = torch.tensor([colour_of(5), colour_of(1)], dtype=torch.float32) / 255.0
    torch.testing.assert_close(images[..., :2].mean(dim=(2, 3)), left, atol=2 / 255, rtol=0)


def test_image_folder_defaults_class_ids_and_random_splits(tmp_path: Path) -> None:
    frame = _image_folder(tmp_path, n=20, with_group=False)
    frame["label"] = [i % 3 for i in range(20)]  # class ids instead of names
    frame.to_csv(tmp_path / "ids.csv", index=False)
    args = {"root_dir": str(tmp_path), "labels_csv": "ids.csv", "class_names": ["a", "b", "c"]}
    dataset = load_dataset("image_folder", args)
    np.testing.assert_array_equal(dataset.labels, frame["label"])
    np.testing.assert_array_equal(dataset.groups, dataset.labels)  # no group column: class = group
    assert sorted(dataset.splits) == ["test", "train"]
    assert len(dataset.splits["train"]) == 16 and len(dataset.splits["test"]) == 4
    again = load_dataset("image_folder", {**args, "data_seed": 0, "image_size": 224})
    np.testing.assert_array_equal(again.splits["test"], dataset.splits["test"])


def test_image_folder_bad_input(tmp_path: Path) -> None:
    assert "is not a directory" in _one_line("image_folder", {"root_dir": str(tmp_path / "no")})
    frame = _image_folder(tmp_path)
    table = tmp_path / "labels.csv"
    frame.drop(columns=["label"]).to_csv(table, index=False)
    assert f"{table} lacks column(s) label" in _one_line(
        "image_folder", {"root_dir": str(tmp_path)}
    )
    frame.assign(label=[0, 1, 2, 1, 0, 1, 0, 1, 0, 1, 0, 1]).to_csv(table, index=False)
    message = _one_line("image_folder", {"root_dir": str(tmp_path), "class_names": ["x", "y"]})
    assert str(table) in message and "label 2 in row 3 is outside the class ids 0..1" in message
    frame.to_csv(table, index=False)
    (tmp_path / frame["path"][7]).unlink()
    message = _one_line("image_folder", {"root_dir": str(tmp_path)})
    assert f"image file {tmp_path / frame['path'][7]} does not exist" in message


# -------------------------------------------------------------------------------- text tables
TEXTS = ["good film", "bad film", "great plot", "dull plot", "fine acting", "awful acting"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_text_table_formats(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame(
        {
            "text": TEXTS,
            "label": ["pos", "neg"] * 3,
            "group": ["film", "film", "plot", "plot", "acting", "acting"],
            "split": ["train"] * 4 + ["test"] * 2,
        }
    )
    path = tmp_path / f"reviews{suffix}"
    {".csv": lambda: frame.to_csv(path, index=False),
     ".jsonl": lambda: frame.to_json(path, orient="records", lines=True),
     ".parquet": lambda: frame.to_parquet(path)}[suffix]()  # fmt: skip
    dataset = load_dataset("text_table", {"path": str(path), "class_names": ["neg", "pos"]})
    assert dataset.modality == "text"
    assert dataset.inputs.take(np.array([4, 0])) == ["fine acting", "good film"]
    np.testing.assert_array_equal(dataset.labels, [1, 0, 1, 0, 1, 0])
    assert [dataset.group_names[g] for g in dataset.groups] == frame["group"].tolist()
    np.testing.assert_array_equal(dataset.splits["test"], [4, 5])
    assert dataset.log_each_group and dataset.log_each_class
    quiet = load_dataset("text_table", {"path": str(path), "log_each_class": False})
    assert quiet.log_each_group and not quiet.log_each_class


def test_text_table_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "none.csv"
    assert f"table {missing} does not exist" in _one_line("text_table", {"path": str(missing)})
    path = tmp_path / "t.csv"
    pd.DataFrame({"review": TEXTS, "label": [0, 1] * 3}).to_csv(path, index=False)
    assert "lacks column(s) text" in _one_line("text_table", {"path": str(path)})
    pd.DataFrame({"text": TEXTS, "label": [0, 1, 0, -1, 0, 1]}).to_csv(path, index=False)
    assert "label -1 in row 4 is outside" in _one_line("text_table", {"path": str(path)})
    pd.DataFrame({"text": TEXTS, "label": ["a", "b"] * 3}).to_csv(path, index=False)
    message = _one_line("text_table", {"path": str(path), "class_names": ["a", "c"]})
    assert "label 'b' in row 2 is not one of the class_names ['a', 'c']" in message
    other = tmp_path / "t.xlsx"
    other.write_text("x")
    assert "unknown format '.xlsx'" in _one_line("text_table", {"path": str(other)})
    with pytest.raises(ConfigError, match=r"unknown dataset_args\.txt_column"):
        load_dataset("text_table", {"path": str(path), "txt_column": "x"})


# ---------------------------------------------------------------------------------- treeperson
def _treeperson(root: Path) -> pd.DataFrame:
    """The official layout: metadata.csv (img_id,img_filename,y,place,split) + images/<id>.jpg."""
    y = np.array([1, 1, 0, 0, 1, 0, 1, 0, 1, 0])
    place = np.array([1, 0, 0, 1, 1, 0, 0, 1, 1, 0])
    split = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    names = [f"images/{2360366 + 17 * i}.jpg" for i in range(len(y))]
    for i, name in enumerate(names):
        write_image(root / name, i)
    frame = pd.DataFrame(
        {"img_id": range(1, 11), "img_filename": names, "y": y, "place": place, "split": split}
    )
    frame.to_csv(root / "metadata.csv", index=False)
    return frame


def test_treeperson_layout_groups_and_splits(tmp_path: Path) -> None:
    frame = _treeperson(tmp_path)
    dataset = load_dataset("treeperson", {"root_dir": str(tmp_path), "image_size": 4})
    np.testing.assert_array_equal(dataset.labels, frame["y"])
    expected = [
        f"{'person' if y else 'no_person'}/{'buildings' if p else 'trees'}"
        for y, p in zip(frame["y"], frame["place"], strict=True)
    ]
    assert [dataset.group_names[g] for g in dataset.groups] == expected
    np.testing.assert_array_equal(dataset.splits["train"], np.arange(6))
    np.testing.assert_array_equal(dataset.splits["val"], np.arange(6, 10))
    assert dataset.inputs.take(np.array([9])).shape == (1, 3, 4, 4)


def test_treeperson_bad_input(tmp_path: Path) -> None:
    assert "expected <root_dir>/metadata.csv" in _one_line(
        "treeperson", {"root_dir": str(tmp_path / "x")}
    )
    frame = _treeperson(tmp_path)
    frame.drop(columns=["place"]).to_csv(tmp_path / "metadata.csv", index=False)
    assert "lacks column(s) place" in _one_line("treeperson", {"root_dir": str(tmp_path)})
    frame.assign(y=[0, 1, 2, 0, 1, 0, 1, 0, 1, 0]).to_csv(tmp_path / "metadata.csv", index=False)
    assert "column 'y' has 2 in row 3" in _one_line("treeperson", {"root_dir": str(tmp_path)})
