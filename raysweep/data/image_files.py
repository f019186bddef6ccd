"""File-backed image inputs: the dataset keeps file paths; images are decoded only when asked for.

iWildCam (200k+ camera-trap photos), Camelyon17 (455k patches) and FMoW (50 GB) cannot be
decoded into memory when a dataset is built, and a Ray Data scorer reads the files directly on
its workers. So an image dataset's inputs are :class:`ImageFileInputs`: ``paths`` lists one
file per dataset index, ``take`` decodes and resizes the requested ones, and :meth:`to_tensor`
is the same preprocessing for an image a worker opened itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from raysweep.errors import ConfigError, first_line


class ImageFileInputs:
    """Images on disk, resized to ``image_size`` on :meth:`take`: (B, 3, S, S) uint8 pixels.

    Each image is resized to ``resize_scale * image_size`` and centre-cropped to ``image_size``
    (the wilds/GroupDRO evaluation transform; ``resize_scale=1`` resizes straight to the size).
    Pixels stay uint8 until the model adapter divides them by 255 on the device (the bits
    torchvision's ``ToTensor`` gives) and normalises: a quarter of the bytes from the decoder to
    the device. Picklable (no open files or executors), so Ray
    workers can receive it.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        image_size: int,
        resize_scale: float = 1.0,
        num_threads: int = 8,
    ) -> None:
        if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size <= 0:
            raise ConfigError(f"image_size must be a positive integer, got {image_size!r}")
        if not resize_scale >= 1.0:
            raise ConfigError(f"resize_scale must be >= 1, got {resize_scale!r}")
        self.paths: tuple[str, ...] = tuple(str(p) for p in paths)
        self.image_size = image_size
        self.resize_scale = float(resize_scale)
        self.num_threads = max(1, int(num_threads))
        self._transform: Any = None

    def __len__(self) -> int:
        return len(self.paths)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_transform"] = None  # rebuilt lazily in the receiving process
        return state

    def _get_transform(self) -> Any:
        if self._transform is None:
            from torchvision import transforms

            scaled = round(self.image_size * self.resize_scale)
            self._transform = transforms.Compose(
                [
                    transforms.Resize((scaled, scaled)),
                    transforms.CenterCrop(self.image_size),
                    transforms.PILToTensor(),  # uint8 HWC -> uint8 CHW
                ]
            )
        return self._transform

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """The preprocessing :meth:`take` applies, for an image opened elsewhere: (3, S, S)."""
        return self._get_transform()(image.convert("RGB"))

    def load(self, index: int) -> torch.Tensor:
        """Decode one image; a missing or corrupt file is a one-line error naming it."""
        path = self.paths[index]
        try:
            with Image.open(path) as image:
                return self.to_tensor(image)
        except (OSError, UnidentifiedImageError) as exc:
            raise ConfigError(f"cannot read image {path}: {first_line(exc)}") from None

    def take(self, indices: np.ndarray) -> torch.Tensor:
        order = [int(i) for i in np.asarray(indices).reshape(-1)]
        if not order:
            return torch.empty(0, 3, self.image_size, self.image_size, dtype=torch.uint8)
        self._get_transform()
        if len(order) == 1 or self.num_threads == 1:
            images = [self.load(i) for i in order]
        else:  # JPEG/PNG decoding releases the GIL: threads overlap file reads and decodes
            with ThreadPoolExecutor(min(self.num_threads, len(order))) as pool:
                images = list(pool.map(self.load, order))
        return torch.stack(images)


def check_files_exist(paths: Sequence[str], source: str) -> None:
    """One line naming the first missing file (and how many are missing) before any training."""
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ConfigError(f"{source}: image file {missing[0]} does not exist{more}")


__all__ = ["ImageFileInputs", "check_files_exist"]
