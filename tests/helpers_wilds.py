"""A tiny Waterbirds folder in the exact layout the wilds package reads (no download possible).

Real layout: ``<root>/waterbirds_v1.0/RELEASE_v1.0.txt``, ``metadata.csv`` with columns
``img_id,img_filename,y,split,place,place_filename`` and JPEGs under CUB class folders such as
``001.Black_footed_Albatross/``. Every image is two solid halves (a colour derived from its row,
then its complement), so a test can tell which file a loaded image came from and which way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_FOLDERS = ("001.Black_footed_Albatross", "045.Northern_Fulmar", "118.House_Sparrow")


@dataclass(frozen=True)
class TinyWaterbirds:
    root: Path  # what build_waterbirds takes as root_dir
    y: np.ndarray
    place: np.ndarray
    split: np.ndarray  # 0 train, 1 val, 2 test
    colours: np.ndarray  # (N, 3) uint8 colour of the left half of each image


def colour_of(row: int) -> tuple[int, int, int]:
    return (20 + 9 * row) % 256, (230 - 7 * row) % 256, (60 + 31 * row) % 256


def make_tiny_waterbirds(root: Path, n: int = 24, seed: int = 0) -> TinyWaterbirds:
    """Write ``n`` JPEGs of assorted sizes, metadata.csv and the release marker under ``root``."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2 + 1)[:n]
    place = rng.integers(0, 2, n)
    split = np.repeat([0, 1, 2], [n // 2, n // 4, n - n // 2 - n // 4])
    rng.shuffle(split)  # splits interleaved, as in the real file
    data_dir = root / "waterbirds_v1.0"
    lines = ["img_id,img_filename,y,split,place,place_filename"]
    colours = []
    for row in range(n):
        folder = CLASS_FOLDERS[row % len(CLASS_FOLDERS)]
        name = f"{folder}/{folder.split('.')[1]}_{row:04d}_{100 + row}.jpg"
        (data_dir / folder).mkdir(parents=True, exist_ok=True)
        colour = colour_of(row)
        size = (40 + 3 * row, 30 + 2 * (row % 5))  # real images vary in size and aspect
        image = Image.new("RGB", size, colour)  # left half: colour; right half: its complement
        image.paste(tuple(255 - c for c in colour), (size[0] // 2, 0, size[0], size[1]))
        image.save(data_dir / name, quality=95)
        colours.append(colour)
        lines.append(f"{row + 1},{name},{y[row]},{split[row]},{place[row]},/x/y/scene_{row}.jpg")
    (data_dir / "metadata.csv").write_text("\n".join(lines) + "\n")
    (data_dir / "RELEASE_v1.0.txt").write_text("v1.0\n")
    return TinyWaterbirds(root, y, place, split, np.array(colours, dtype=np.uint8))
