"""The data and weights the jobs in ``jobs/paper/`` read, written small enough for a test.

Each folder has the real on-disk layout (the same files, columns and value formats as the
releases, see :mod:`tests.helpers_wilds`) but tiny 8 x 8 images. Row counts are not tiny: they
are the fewest that satisfy each job's recipe, which the preflight checks (e.g. iWildCam's
balanced seed set of 182 needs every class in the pool and its budget of 1,638 a pool that
large; the mismatch sweep's 1,600-example pool at 50% matched needs 400 mismatched birds of
each class in train + val). Weights are real timm and transformers checkpoints of the jobs'
architectures, randomly initialised, saved as the hub files are (``model.safetensors``).

Layout written under ``base``: ``data/wilds/<name>_v<version>/``, ``data/treeperson/``,
``models/bit/*.safetensors`` and ``models/roberta-large/``, i.e. what the jobs read with
``RAYSWEEP_DATA=<base>/data`` and ``RAYSWEEP_MODELS=<base>/models``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import timm
from helpers_text_models import save_tiny_roberta
from helpers_wilds import CLASS_FOLDERS, write_image, write_marker
from safetensors.torch import save_file
from wilds.datasets.fmow_dataset import categories as FMOW_CATEGORIES

PIXELS = (8, 8)
# timm architecture and head size of each BiT file the jobs name (the hub checkpoints keep
# their ImageNet-21k / ImageNet-1k heads; raysweep replaces them with the task's classes)
BIT_FILES = {
    "bit_m_r50x1.safetensors": ("resnetv2_50x1_bit.goog_in21k", 21843),
    "bit_s_r50x1.safetensors": ("resnetv2_50x1_bit", 1000),
    "bit_m_r101x1.safetensors": ("resnetv2_101x1_bit.goog_in21k", 21843),
}


def _lines(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")


def write_waterbirds(root: Path) -> None:
    """Train 95% matched (as released), val and test 50%; 400 + 780 + 50 birds per class."""
    data_dir = root / "waterbirds_v1.0"
    rows = []
    counts = {0: (400, 380), 1: (780, 390), 2: (50, 25)}  # split: (per class, matched)
    i = 0
    for split, (per_class, n_matched) in counts.items():
        for y in (0, 1):
            for k in range(per_class):
                place = y if k < n_matched else 1 - y
                # CUB folders: a landbird (sparrow) or one of two seabirds
                folder = CLASS_FOLDERS[2] if y == 0 else CLASS_FOLDERS[k % 2]
                name = f"{folder}/{folder.split('.')[1]}_{i:05d}.jpg"
                write_image(data_dir / name, i, PIXELS)
                rows.append(f"{i + 1},{name},{y},{split},{place},/scene/{i}.jpg")
                i += 1
    _lines(data_dir / "metadata.csv", "img_id,img_filename,y,split,place,place_filename", rows)
    write_marker(data_dir, "1.0")


def write_iwildcam(root: Path, n_classes: int = 182) -> None:
    """1,700 train images (every species 9+ times, 20 traps), OOD and ID evaluation splits."""
    data_dir = root / "iwildcam_v2.0"
    splits = ["train"] * 1700 + ["val"] * 40 + ["test"] * 40 + ["id_val"] * 20 + ["id_test"] * 20
    rows = []
    for i, split in enumerate(splits):
        y = i % n_classes
        # OOD splits come from traps unseen in training, as in the release
        location = {"val": 20 + i % 3, "test": 23 + i % 3}.get(split, i % 20)
        name = f"8f{i:05d}a1.jpg"
        write_image(data_dir / "train" / name, i, PIXELS)
        stamp = f"2013-0{1 + i % 9}-1{i % 10} 0{i % 10}:1{i % 6}:2{i % 7}.000"
        rows.append(
            f"{split},{location},{100 + location},{y},{7 * y},{i},seq{i:05d},{stamp},{name},img{i}"
        )
    header = "split,location_remapped,location,y,category_id,sequence_remapped,sequence,datetime,filename,image_id"
    _lines(data_dir / "metadata.csv", header, rows)
    names = [f"{c},{7 * c},species {c}" for c in range(n_classes)]
    _lines(data_dir / "categories.csv", "y,category_id,name", names)
    write_marker(data_dir, "2.0")


def write_camelyon17(root: Path) -> None:
    """400 training patches from hospitals 0, 3, 4; ID val, OOD val (1) and OOD test (2)."""
    data_dir = root / "camelyon17_v1.0"
    plan = [(c, 0) for c in (0, 3, 4) for _ in range(134)] + [(0, 1)] * 20
    plan += [(1, 0)] * 20 + [(2, 0)] * 20  # wilds assigns centres 1 and 2 to val and test
    rows = []
    for i, (center, split) in enumerate(plan):
        patient, node, x, yc = f"{10 * center + i % 3:03d}", i % 5, 32 * i, 1000 + 32 * i
        name = f"patches/patient_{patient}_node_{node}/patch_patient_{patient}_node_{node}_x_{x}_y_{yc}.png"
        write_image(data_dir / name, i, PIXELS)
        rows.append(f"{i},{patient},{node},{x},{yc},{i % 2},{5 * center + node},{center},{split}")
    _lines(
        data_dir / "metadata.csv", ",patient,node,x_coord,y_coord,tumor,slide,center,split", rows
    )
    write_marker(data_dir, "1.0")


FMOW_COUNTRIES = {"USA": "Americas", "FRA": "Europe", "KEN": "Africa", "JPN": "Asia"}


def write_fmow(root: Path) -> None:
    """1,240 training images before 2013 (20 per class), ID splits, OOD val 2014, OOD test 2016."""
    data_dir = root / "fmow_v1.1"
    # wilds counts years from 2002 (the first training images, as in the release)
    plan = [("train", "2002"), ("train", "2010")] * 620 + [("val", "2011"), ("test", "2012")] * 20
    plan += [("val", "2014")] * 20 + [("test", "2016")] * 40
    codes = list(FMOW_COUNTRIES)
    rows = []
    for i, (split, year) in enumerate(plan):
        category = FMOW_CATEGORIES[i % len(FMOW_CATEGORIES)]
        write_image(data_dir / "images" / f"rgb_img_{i}.png", i, PIXELS)
        stamp = f"{year}-0{1 + i % 9}-1{i % 10}T10:00:00Z"
        rows.append(
            f"{split},{category}_{i}_rgb.jpg,x/{i}.jpg,WGS84,4326,{category},True,8,8,"
            f"{codes[i % len(codes)]},0,{stamp},1.5,2.5"
        )
    header = "split,img_filename,img_path,spatial_reference,epsg,category,visible,img_width,img_height,country_code,cloud_cover,timestamp,lat,lon"
    _lines(data_dir / "rgb_metadata.csv", header, rows)
    mapping = [
        f"Country {c},{c[:2]},{c},{k},{r},sub" for k, (c, r) in enumerate(FMOW_COUNTRIES.items())
    ]
    _lines(
        data_dir / "country_code_mapping.csv",
        "name,alpha-2,alpha-3,country-code,region,sub-region",
        mapping,
    )
    write_marker(data_dir, "1.1")


def write_amazon(root: Path) -> None:
    """1,000 training reviews (200 per star rating, 50 reviewers) and unseen reviewers in test."""
    data_dir = root / "amazon_v2.1"
    (data_dir / "splits").mkdir(parents=True)
    splits = [0] * 1000 + [1] * 50 + [2] * 20 + [3] * 50 + [4] * 20  # train val id_val test id_test
    n = len(splits)
    ood = {1: "V", 3: "T"}  # OOD splits: reviewers of their own, as in the release
    reviewers = [f"A{ood.get(s, '')}{i % 50:03d}" for i, s in enumerate(splits)]
    stars = [1 + i % 5 for i in range(n)]
    pd.DataFrame(
        {
            "reviewerID": reviewers,
            "asin": [f"B00{i % 4}" for i in range(n)],
            "overall": [float(s) for s in stars],
            "reviewTime": [f"01 {1 + i % 28}, 2014" for i in range(n)],
            "unixReviewTime": [1388534400 + 86400 * i for i in range(n)],
            "reviewText": [
                f"review {i}: {'great' if s > 3 else 'poor'}" for i, s in enumerate(stars)
            ],
            "summary": [f"summary {i}" for i in range(n)],
            "verified": [i % 2 == 0 for i in range(n)],
            "category": ["Books" if i % 3 else "Kitchen" for i in range(n)],
            "reviewYear": [2014 + i % 3 for i in range(n)],
        }
    ).to_csv(data_dir / "reviews.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    pd.DataFrame({"split": splits, "clean": [True] * n}).to_csv(
        data_dir / "splits" / "user.csv", index=False
    )
    write_marker(data_dir, "2.1")


def write_treeperson(root: Path) -> None:
    """The paper's metadata.csv (400 train photos, 90% spurious; 100 at 50%) and images/."""
    rows = []
    for i in range(500):
        split = int(i >= 400)
        y = i % 2
        agrees = (i // 2) % 10 != 0 if split == 0 else (i // 2) % 2 == 0
        place = y if agrees else 1 - y  # people on buildings (1), no people among trees (0)
        name = f"images/{2300000 + i}.jpg"
        write_image(root / name, i, PIXELS)
        rows.append(f"{2300000 + i},{name},{y},{place},{split}")
    _lines(root / "metadata.csv", "img_id,img_filename,y,place,split", rows)


def write_paper_data(data_root: Path) -> Path:
    """Every dataset the paper jobs read, under ``data_root`` (their ``RAYSWEEP_DATA``)."""
    wilds_root = data_root / "wilds"
    for writer in (write_waterbirds, write_iwildcam, write_camelyon17, write_fmow, write_amazon):
        writer(wilds_root)
    write_treeperson(data_root / "treeperson")
    return data_root


def write_paper_weights(models_root: Path) -> Path:
    """The BiT checkpoints and the RoBERTa-Large directory, under ``models_root``."""
    bit = models_root / "bit"
    bit.mkdir(parents=True)
    for file, (timm_name, n_classes) in BIT_FILES.items():
        model = timm.create_model(timm_name, pretrained=False, num_classes=n_classes)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(bit / file))
        del model
    # RoBERTa-Large's shape (24 layers of width 1024, as the roberta_large entry checks), with
    # a small feed-forward layer and vocabulary to keep the file at ~0.4 GB instead of 1.4 GB
    save_tiny_roberta(
        models_root / "roberta-large",
        hidden=1024,
        layers=24,
        heads=16,
        intermediate=64,
        max_positions=514,
        masked_lm=True,  # the hub's roberta-large is a masked-LM checkpoint
    )
    return models_root
