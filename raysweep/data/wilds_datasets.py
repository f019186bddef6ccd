"""WILDS image datasets (Waterbirds, iWildCam2020, Camelyon17, FMoW) from a local ``root_dir``.

Metadata, labels, groups and splits come from the ``wilds`` package's own dataset classes (see
:mod:`raysweep.data.wilds_layout`: the folder is checked first so wilds never downloads). Images
stay on disk: the inputs are :class:`ImageFileInputs` over the same files wilds' ``get_input``
opens, decoded only when a batch asks for them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from raysweep.data.base import ALDataset
from raysweep.data.image_files import ImageFileInputs
from raysweep.data.resample import largest_feasible_pool, resample_matched
from raysweep.data.wilds_layout import (
    WildsLayout,
    check_labels,
    check_pool_split,
    check_wilds_root,
    metadata_column,
    open_wilds,
    wilds_splits,
)
from raysweep.errors import ConfigError

# The wilds/GroupDRO evaluation transform resizes to 256/224 of the target and centre-crops.
WILDS_RESIZE_SCALE = 256.0 / 224.0

WATERBIRDS = WildsLayout(
    "waterbirds", "1.0", {"metadata.csv": ("img_filename", "y", "place", "split")}
)
WATERBIRDS_CLASSES = ("landbird", "waterbird")
# group id = 2 * y + place (place 0 = land background, 1 = water background)
WATERBIRDS_GROUPS = ("landbird/land", "landbird/water", "waterbird/land", "waterbird/water")

IWILDCAM = WildsLayout(
    "iwildcam",
    "2.0",
    {
        "metadata.csv": (
            "split",
            "filename",
            "y",
            "location_remapped",
            "sequence_remapped",
            "datetime",
        )
    },
    folders=("train",),
    contiguous={"metadata.csv": ("y", "location_remapped", "sequence_remapped")},
)
CAMELYON17 = WildsLayout(
    "camelyon17",
    "1.0",
    {
        "metadata.csv": (
            "patient",
            "node",
            "x_coord",
            "y_coord",
            "tumor",
            "slide",
            "center",
            "split",
        )
    },
    folders=("patches",),
)
CAMELYON17_HOSPITALS = 5  # the five Camelyon17 medical centres; wilds tests on centre 2
FMOW = WildsLayout(
    "fmow",
    "1.1",
    {
        "rgb_metadata.csv": ("split", "timestamp", "country_code", "category"),
        "country_code_mapping.csv": ("alpha-3", "region"),
    },
    folders=("images",),
)

# check_wilds_root is re-exported for callers that only validate a folder
__all__ = [
    "CAMELYON17",
    "FMOW",
    "IWILDCAM",
    "WATERBIRDS",
    "build_camelyon17",
    "build_fmow",
    "build_iwildcam",
    "build_waterbirds",
    "check_wilds_root",
]


def _image_inputs(
    dataset: Any, paths: list[str], image_size: int, resize_scale: float
) -> ImageFileInputs:
    if len(paths) != len(dataset):
        raise ConfigError(
            f"{dataset.dataset_name}: {len(paths)} image paths for {len(dataset)} rows"
        )
    return ImageFileInputs(paths, image_size, resize_scale)


# --------------------------------------------------------------------------------- waterbirds
def build_waterbirds(
    root_dir: str,
    image_size: int = 224,
    pool_split: str = "train",
    resize_scale: float = WILDS_RESIZE_SCALE,
    matched_fraction: float | None = None,
    pool_size: int | None = None,
    pool_sources: list[str] | None = None,
    resample_seed: int = 0,
) -> ALDataset:
    """Waterbirds (WILDS layout); groups are ``2 * y + place``.

    ``root_dir`` holds ``waterbirds_v1.0/``, as for ``wilds.get_dataset``. With
    ``matched_fraction`` (Fig. 8 of the paper) the pool is re-sampled so that this fraction of
    each class is on its matching background, with the pool's class marginals kept: from the
    splits in ``pool_sources`` (default: the pool split alone; adding ``val`` supplies more of the
    scarce mismatched birds, and those examples then leave evaluation), ``pool_size`` examples
    (default: the most the sources allow), drawn with ``resample_seed``.
    """
    dataset = open_wilds(root_dir, WATERBIRDS)
    labels = dataset.y_array.numpy().astype(np.int64)
    # metadata fields are ['background', 'y', 'from_source_domain']: read them by name
    place = metadata_column(dataset, "background")
    data_dir = Path(dataset.data_dir)
    if not (np.isin(labels, (0, 1)).all() and np.isin(place, (0, 1)).all()):
        raise ConfigError(f"waterbirds: metadata.csv in {data_dir} has y/place values outside 0/1")
    splits = wilds_splits(dataset)
    check_pool_split("waterbirds", splits, pool_split)
    paths = [str(data_dir / name) for name in dataset._input_array]  # what get_input opens
    result = ALDataset(
        name="waterbirds",
        modality="image",
        inputs=_image_inputs(dataset, paths, image_size, resize_scale),
        labels=labels,
        groups=2 * labels + place,
        class_names=WATERBIRDS_CLASSES,
        group_names=WATERBIRDS_GROUPS,
        splits=splits,
        pool_split=pool_split,
    )
    if matched_fraction is None:
        if pool_size is not None or pool_sources is not None:
            raise ConfigError("waterbirds: pool_size and pool_sources need matched_fraction")
        return result
    return with_matched_fraction(
        result, place == labels, matched_fraction, pool_size, pool_sources, resample_seed
    )


def with_matched_fraction(
    dataset: ALDataset,
    matched: np.ndarray,
    fraction: float,
    pool_size: int | None = None,
    pool_sources: list[str] | None = None,
    seed: int = 0,
) -> ALDataset:
    """``dataset`` with its pool re-sampled to ``fraction`` matched, class marginals kept."""
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or not 0 <= fraction <= 1
    ):
        raise ConfigError(f"dataset_args.matched_fraction must be in [0, 1], got {fraction!r}")
    sources = list(pool_sources or [dataset.pool_split])
    unknown = [s for s in sources if s not in dataset.splits]
    if unknown or dataset.pool_split not in sources:
        raise ConfigError(
            f"{dataset.name}: pool_sources must name splits among {sorted(dataset.splits)} and "
            f"include the pool split {dataset.pool_split!r}, got {sources}"
        )
    candidates = np.sort(np.concatenate([dataset.splits[s] for s in sources]))
    shares = np.bincount(dataset.labels[dataset.pool_indices], minlength=dataset.num_classes)
    size = pool_size
    if size is None:
        size = largest_feasible_pool(dataset.labels, matched, candidates, shares, fraction)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ConfigError(f"dataset_args.pool_size must be a positive integer, got {size!r}")
    pool = resample_matched(
        dataset.labels, matched, candidates, shares, fraction, size, np.random.default_rng(seed)
    )
    splits = {name: idx for name, idx in dataset.splits.items() if name not in sources}
    splits[dataset.pool_split] = pool
    return dataclasses.replace(dataset, splits=splits)


# ---------------------------------------------------------------------------------- iWildCam
def build_iwildcam(
    root_dir: str,
    image_size: int = 224,
    pool_split: str = "train",
    resize_scale: float = 1.0,
) -> ALDataset:
    """iWildCam2020-WILDS: 182 species classes, groups = camera locations (trap sites).

    Evaluation splits are wilds' ``val``/``test`` (OOD: unseen locations) and ``id_val``/
    ``id_test``; the benchmark reports macro-F1 and accuracy on the OOD test split.
    """
    dataset = open_wilds(root_dir, IWILDCAM)
    data_dir = Path(dataset.data_dir)
    splits = wilds_splits(dataset)
    check_pool_split("iwildcam", splits, pool_split)
    location = metadata_column(dataset, "location")
    n_classes = int(dataset.n_classes)
    paths = [str(data_dir / "train" / name) for name in dataset._input_array]  # as get_input
    return ALDataset(
        name="iwildcam",
        modality="image",
        inputs=_image_inputs(dataset, paths, image_size, resize_scale),
        labels=dataset.y_array.numpy().astype(np.int64),
        groups=location,
        class_names=_iwildcam_class_names(data_dir, n_classes),
        group_names=tuple(f"location_{g}" for g in range(int(location.max()) + 1)),
        splits=splits,
        pool_split=pool_split,
        metrics=("macro_f1",),
        log_each_group=False,  # 323 camera locations
        log_each_class=False,  # 182 species
    )


def _iwildcam_class_names(data_dir: Path, n_classes: int) -> tuple[str, ...]:
    """Species names from the release's ``categories.csv`` (y, name) when present, else ids."""
    names = [f"class_{y}" for y in range(n_classes)]
    table = data_dir / "categories.csv"
    if table.is_file():
        import pandas as pd

        categories = pd.read_csv(table)
        if {"y", "name"} <= set(categories.columns):
            for y, name in zip(categories["y"], categories["name"], strict=True):
                if 0 <= int(y) < n_classes:
                    names[int(y)] = str(name)
    return tuple(names)


# -------------------------------------------------------------------------------- Camelyon17
def build_camelyon17(
    root_dir: str,
    image_size: int = 96,
    pool_split: str = "train",
    resize_scale: float = 1.0,
) -> ALDataset:
    """Camelyon17-WILDS: tumour vs normal tissue patches, groups = the 5 hospitals.

    wilds' official split trains on hospitals 0, 3, 4 (``train``, ``id_val``), validates OOD on
    hospital 1 (``val``) and tests OOD on hospital 2 (``test``). A failure case of the paper.
    """
    dataset = open_wilds(root_dir, CAMELYON17)
    data_dir = Path(dataset.data_dir)
    splits = wilds_splits(dataset)
    check_pool_split("camelyon17", splits, pool_split)
    labels = dataset.y_array.numpy().astype(np.int64)
    check_labels(CAMELYON17, data_dir, labels, 2, "tumor")
    hospital = metadata_column(dataset, "hospital")
    n_hospitals = max(CAMELYON17_HOSPITALS, int(hospital.max()) + 1)
    paths = [str(data_dir / name) for name in dataset._input_array]  # as get_input
    return ALDataset(
        name="camelyon17",
        modality="image",
        inputs=_image_inputs(dataset, paths, image_size, resize_scale),
        labels=labels,
        groups=hospital,
        class_names=("normal", "tumor"),
        group_names=tuple(f"hospital_{h}" for h in range(n_hospitals)),
        splits=splits,
        pool_split=pool_split,
    )


# -------------------------------------------------------------------------------------- FMoW
def build_fmow(
    root_dir: str,
    image_size: int = 224,
    pool_split: str = "train",
    resize_scale: float = 1.0,
) -> ALDataset:
    """FMoW-WILDS: 62 land-use classes from satellite images, groups = continents (regions).

    Official split: train before 2013 (``train``, ``id_val``, ``id_test``), OOD validation
    2013-2015 (``val``) and OOD test from 2016 (``test``). The benchmark metric is the worst
    per-region accuracy (the "Other" region left out). A failure case of the paper.
    """
    from wilds.datasets.fmow_dataset import categories

    data_dir = check_wilds_root(root_dir, FMOW)  # the layout's own errors come first
    try:
        dataset = open_wilds(root_dir, FMOW)
    except ConfigError:
        _explain_categories(data_dir, categories)
        raise
    splits = wilds_splits(dataset)
    check_pool_split("fmow", splits, pool_split)
    images = Path(dataset.root) / "images"
    # wilds drops the 'seq' rows; full_idxs maps each kept row to its image number
    paths = [str(images / f"rgb_img_{i}.png") for i in dataset.full_idxs]
    return ALDataset(
        name="fmow",
        modality="image",
        inputs=_image_inputs(dataset, paths, image_size, resize_scale),
        labels=dataset.y_array.numpy().astype(np.int64),
        groups=metadata_column(dataset, "region"),
        class_names=tuple(categories),
        group_names=tuple(str(region) for region in dataset.metadata_map["region"]),
        splits=splits,
        pool_split=pool_split,
        metrics=("worst_region_accuracy",),
        log_each_class=False,  # 62 land-use classes; the 6 regions are logged
    )


def _explain_categories(data_dir: Path, categories: list[str]) -> None:
    """wilds fails with a bare KeyError on a category outside its 62: say which and where."""
    import pandas as pd

    table = data_dir / "rgb_metadata.csv"
    values = pd.read_csv(table, usecols=["category"])["category"].astype(str)
    unknown = np.flatnonzero(~values.isin(categories).to_numpy())
    if len(unknown):
        raise FMOW.error(
            table,
            f"rgb_metadata.csv column 'category' has {values.iloc[unknown[0]]!r} in row "
            f"{unknown[0] + 1} ({len(unknown)} such), not one of FMoW's 62 classes",
        )
