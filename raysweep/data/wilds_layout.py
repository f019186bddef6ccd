"""Opening a WILDS dataset from a local ``root_dir`` through the ``wilds`` package, never downloading.

wilds reads ``<root_dir>/<name>_v<version>/`` and downloads the archive (creating ``root_dir`` on
the way) whenever ``RELEASE_v<version>.txt`` is missing there. So every file and column it needs
is checked here first, in the order a user would fix them, and a missing one is a one-line
:class:`ConfigError` naming the path and the expected layout. wilds is then used for what it
does: parsing the metadata into labels, groups and splits exactly as a wilds user sees them.
Its ``eval`` (which imports ``torch_scatter``) is never called; raysweep computes its metrics.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raysweep.errors import ConfigError, first_line


@dataclass(frozen=True)
class WildsLayout:
    """What ``wilds.get_dataset(name, version)`` reads below ``<root_dir>/<name>_v<version>/``."""

    name: str
    version: str
    # file (relative to the dataset folder) -> columns its header must hold
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    folders: tuple[str, ...] = ()  # image folders (relative), e.g. ("train",)
    # file -> columns wilds asserts hold every id 0..max (iWildCam's y, locations, sequences);
    # read only when wilds has refused the folder, to say which column and which id
    contiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return f"{self.name}_v{self.version}"

    @property
    def marker(self) -> str:
        return f"RELEASE_v{self.version}.txt"

    def describe(self) -> str:
        tables = ", ".join(f"{file} ({','.join(cols)})" for file, cols in self.tables.items())
        folders = "".join(f", {folder}/" for folder in self.folders)
        return (
            f"expected <root_dir>/{self.folder}/ holding {self.marker}, {tables}{folders} "
            "(the wilds package layout; nothing is downloaded)"
        )

    def error(self, path: Path | str, problem: str) -> ConfigError:
        return ConfigError(f"{self.name}: {problem} ({path}); {self.describe()}")


def read_header(file: Path) -> list[str]:
    """Column names of a CSV file (quoted or not), read without loading the table."""
    import pandas as pd

    return [str(column) for column in pd.read_csv(file, nrows=0).columns]


def check_wilds_root(root_dir: str | os.PathLike[str] | None, layout: WildsLayout) -> Path:
    """The dataset folder inside ``root_dir``, or a one-line error before wilds could download."""
    if not root_dir:
        raise layout.error("", "dataset_args.root_dir is empty")
    root = Path(root_dir).expanduser()
    data_dir = root / layout.folder
    if not root.is_dir():
        raise layout.error(root, "root_dir does not exist")
    if not data_dir.is_dir():
        raise layout.error(data_dir, "dataset folder missing")
    if not (data_dir / layout.marker).is_file():
        raise layout.error(data_dir / layout.marker, "release marker missing")
    for name, columns in layout.tables.items():
        table = data_dir / name
        if not table.is_file():
            raise layout.error(table, f"{name} missing")
        try:
            header = read_header(table)
        except (OSError, ValueError) as exc:
            raise layout.error(table, f"cannot read {name}: {first_line(exc)}") from None
        missing = [column for column in columns if column not in header]
        if missing:
            raise layout.error(table, f"{name} lacks column(s) {', '.join(missing)}")
    for folder in layout.folders:
        if not (data_dir / folder).is_dir():
            raise layout.error(data_dir / folder, f"image folder {folder}/ missing")
    return data_dir


def open_wilds(root_dir: str | os.PathLike[str] | None, layout: WildsLayout, **kwargs: Any) -> Any:
    """The wilds dataset object, read from the checked local folder (``download=False``)."""
    data_dir = check_wilds_root(root_dir, layout)
    import wilds

    try:
        with warnings.catch_warnings():
            # wilds wraps pandas' read-only (copy-on-write) arrays in tensors; torch warns once
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return wilds.get_dataset(
                dataset=layout.name,
                version=layout.version,
                root_dir=str(data_dir.parent),
                download=False,
                **kwargs,
            )
    except AssertionError as exc:  # wilds' own consistency checks carry no message
        explain_gaps(data_dir, layout)
        detail = first_line(exc) if str(exc).strip() else "its metadata fails wilds' checks"
        raise ConfigError(f"{layout.name}: wilds cannot read {data_dir}: {detail}") from None
    except (ValueError, OSError, KeyError, TypeError, IndexError) as exc:
        raise ConfigError(
            f"{layout.name}: wilds cannot read {data_dir}: {first_line(exc)}"
        ) from None


def explain_gaps(data_dir: Path, layout: WildsLayout) -> None:
    """A one-line error naming the first id column with a gap (wilds' bare assertion), if any."""
    import pandas as pd

    for name, columns in layout.contiguous.items():
        table = pd.read_csv(data_dir / name, usecols=list(columns))
        for column in columns:
            values = table[column].to_numpy()
            if not np.issubdtype(values.dtype, np.integer) or values.min() < 0:
                raise layout.error(
                    data_dir / name, f"{name} column {column!r} must hold ids 0, 1, 2, ..."
                )
            missing = np.setdiff1d(np.arange(values.max() + 1), values)
            if len(missing):
                raise layout.error(
                    data_dir / name,
                    f"{name} column {column!r} skips id {missing[0]} (wilds needs every id "
                    f"0..{values.max()} to occur; {len(missing)} missing)",
                )


def check_labels(
    layout: WildsLayout,
    data_dir: Path,
    labels: np.ndarray,
    n_classes: int,
    column: str,
    offset: int = 0,
) -> None:
    """One line naming the metadata file and column when a label is not a class id.

    ``offset`` is what the file's value adds to the class id (Amazon: stars = id + 1)."""
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if len(bad):
        file = next(iter(layout.tables))
        raise layout.error(
            data_dir / file,
            f"{file} column {column!r} has {int(labels[bad[0]]) + offset} ({len(bad)} row(s) "
            f"outside the classes); expected {offset}..{n_classes - 1 + offset}",
        )


def wilds_splits(dataset: Any) -> dict[str, np.ndarray]:
    """Non-empty splits: name -> sorted indices, from wilds' ``split_array`` and ``split_dict``."""
    split_array = np.asarray(dataset.split_array)
    splits = {
        name: np.flatnonzero(split_array == code).astype(np.int64)
        for name, code in dataset.split_dict.items()
    }
    return {name: indices for name, indices in splits.items() if len(indices)}


def metadata_column(dataset: Any, field_name: str) -> np.ndarray:
    """One metadata field of every example, looked up by name (wilds appends fields over time)."""
    column = dataset.metadata_fields.index(field_name)
    return dataset.metadata_array[:, column].numpy().astype(np.int64)


def check_pool_split(name: str, splits: dict[str, np.ndarray], pool_split: str) -> None:
    if pool_split not in splits:
        raise ConfigError(
            f"{name}: pool_split must be one of the non-empty splits {sorted(splits)}, "
            f"got {pool_split!r}"
        )


__all__ = [
    "WildsLayout",
    "check_labels",
    "check_pool_split",
    "check_wilds_root",
    "explain_gaps",
    "metadata_column",
    "open_wilds",
    "read_header",
    "wilds_splits",
]
