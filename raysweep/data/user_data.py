"""A user's own data: an image folder with a CSV, or a text table (CSV, JSON lines, parquet).

Image folder: ``<root_dir>/labels.csv`` (or ``labels_csv=...``) with a ``path`` column (relative
to ``root_dir`` or absolute), a ``label`` column (class names or ids), and optional ``group`` and
``split`` columns. Text table: one file with ``text`` and ``label`` columns, optional ``group`` and
``split``. Without a split column the rows are split at random (``split_fractions``,
``data_seed``); without a group column each class is its own group. Column names are arguments.
With hundreds of groups or classes, ``log_each_group`` / ``log_each_class: false`` keep each
round's metrics to the summaries (worst group, distinct classes acquired).
"""

from __future__ import annotations

from pathlib import Path

from raysweep.data.base import ALDataset, ArrayInputs
from raysweep.data.image_files import ImageFileInputs, check_files_exist
from raysweep.data.tables import (
    check_pool,
    encode_groups,
    encode_labels,
    read_table,
    require_columns,
    table_splits,
)
from raysweep.errors import ConfigError


def build_image_folder(
    root_dir: str,
    labels_csv: str = "labels.csv",
    path_column: str = "path",
    label_column: str = "label",
    group_column: str | None = "group",
    split_column: str | None = "split",
    class_names: list[str] | None = None,
    image_size: int = 224,
    resize_scale: float = 1.0,
    pool_split: str = "train",
    split_fractions: dict[str, float] | None = None,
    data_seed: int = 0,
    name: str = "image_folder",
    log_each_group: bool = True,
    log_each_class: bool = True,
) -> ALDataset:
    """Images listed in a CSV under ``root_dir``; decoded from disk only when a batch needs them."""
    root = Path(root_dir).expanduser() if root_dir else None
    if root is None or not root.is_dir():
        raise ConfigError(f"{name}: root_dir {root_dir!r} is not a directory")
    table_file = root / labels_csv
    frame = read_table(table_file)
    require_columns(frame, [path_column, label_column], str(table_file))
    paths = [str(root / str(p)) for p in frame[path_column]]  # absolute paths stay absolute
    check_files_exist(paths, str(table_file))
    labels, classes = encode_labels(frame[label_column], class_names, str(table_file))
    groups, group_names = encode_groups(frame, group_column, labels, classes)
    splits = table_splits(frame, split_column, split_fractions, data_seed, str(table_file))
    check_pool(splits, pool_split, str(table_file))
    return ALDataset(
        name=name,
        modality="image",
        inputs=ImageFileInputs(paths, image_size, resize_scale),
        labels=labels,
        groups=groups,
        class_names=classes,
        group_names=group_names,
        splits=splits,
        pool_split=pool_split,
        log_each_group=log_each_group,
        log_each_class=log_each_class,
    )


def build_text_table(
    path: str,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "group",
    split_column: str | None = "split",
    class_names: list[str] | None = None,
    pool_split: str = "train",
    split_fractions: dict[str, float] | None = None,
    data_seed: int = 0,
    name: str = "text_table",
    log_each_group: bool = True,
    log_each_class: bool = True,
) -> ALDataset:
    """Texts and labels from one table file (``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet``)."""
    if not path:
        raise ConfigError(f"{name}: dataset_args.path is empty")
    frame = read_table(path)
    source = str(Path(path).expanduser())
    require_columns(frame, [text_column, label_column], source)
    labels, classes = encode_labels(frame[label_column], class_names, source)
    groups, group_names = encode_groups(frame, group_column, labels, classes)
    splits = table_splits(frame, split_column, split_fractions, data_seed, source)
    check_pool(splits, pool_split, source)
    return ALDataset(
        name=name,
        modality="text",
        inputs=ArrayInputs([str(t) for t in frame[text_column]]),
        labels=labels,
        groups=groups,
        class_names=classes,
        group_names=group_names,
        splits=splits,
        pool_split=pool_split,
        log_each_group=log_each_group,
        log_each_class=log_each_class,
    )


__all__ = ["build_image_folder", "build_text_table"]
