"""Image-to-image translation with a pix2pix or CycleGAN generator, at full resolution.

The image is padded (reflection) to the size the network needs and cropped back, so any size and
aspect ratio works; large images go through in blended tiles (`paintcli.tiling`), chosen
automatically when an image would not fit in the device's memory.

As in the pix2pix paper and the official test script, the network runs in training mode by
default: batch norm uses the statistics of the image itself and dropout stays on (`eval_mode=True`
uses the running statistics and no dropout instead). For CycleGAN's instance-norm generators the two
modes give the same result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from paintcli import cache, checkpoints, device as devices, functional as fn, imageio, models
from paintcli.config import TranslateConfig
from paintcli.errors import ImageError
from paintcli.nets.generators import GeneratorSpec
from paintcli.tiling import Tiler, round_up


@dataclass(frozen=True)
class Translation:
    image: Image.Image
    seconds: float
    tiles: int  # 1 when the image ran in one piece


class Translator:
    """A loaded generator; `run` translates one image, `run_many` a batch of images."""

    def __init__(
        self,
        model: str | os.PathLike[str],
        config: TranslateConfig | None = None,
        *,
        device: torch.device | str | None = None,
        download_progress: cache.ProgressHook | None = None,
    ):
        self.config = (config or TranslateConfig()).validate()
        self.device = devices.resolve(device)
        self.entry, path = models.locate(model, progress=download_progress)
        self.net, self.spec = checkpoints.load_generator(path)
        self.net.to(self.device).train(not self.config.eval_mode)
        self.net.requires_grad_(False)
        self.name = self.entry.name if self.entry else Path(model).stem
        self.tiler = Tiler(self.net, self.spec.multiple, before_call=self._seeded)

    # --- properties users see --------------------------------------------------------------------------

    @property
    def batch_independent(self) -> bool:
        """True when an image's result does not depend on the others in its batch."""
        return self.spec.norm != "batch" or self.config.eval_mode

    def default_direction(self) -> str | None:
        return self.entry.direction if self.entry else None

    # --- running -----------------------------------------------------------------------------------------

    def run(self, image: Image.Image) -> Translation:
        return self.run_many([image])[0]

    def run_many(self, images: Sequence[Image.Image]) -> list[Translation]:
        """Translate images; same-size ones go through the network together when that is exact."""
        prepared = [self._prepare(img) for img in images]
        same_size = len({p.shape for p in prepared}) == 1
        if len(prepared) > 1 and same_size and self.batch_independent and self._tile_for(prepared[0]) is None:
            start = time.perf_counter()
            with torch.no_grad():
                out = self.tiler.forward_padded(torch.cat(prepared))
            seconds = (time.perf_counter() - start) / len(prepared)
            return [Translation(_to_image(o[None]), seconds, 1) for o in out]
        return [self._run_one(x) for x in prepared]

    def _run_one(self, x: torch.Tensor) -> Translation:
        start = time.perf_counter()
        tile = self._tile_for(x)
        with torch.no_grad():
            if tile is None:
                try:
                    y, tiles = self.tiler.forward_padded(x), 1
                except torch.cuda.OutOfMemoryError:  # also raised as torch.OutOfMemoryError
                    torch.cuda.empty_cache()
                    tile = self._auto_tile()
            if tile is not None:
                y, tiles = self.tiler.forward_tiled(x, tile, self.config.tile_overlap)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return Translation(_to_image(y), time.perf_counter() - start, tiles)

    def _prepare(self, img: Image.Image) -> torch.Tensor:
        img = imageio.to_rgb(img)
        if self.config.direction:
            img = ab_half(img, self.config.direction)
        img = imageio.resize_longest(img, self.config.size)
        return fn.to_tensor(img, self.device) * 2 - 1  # the generators work on [-1, 1]

    def _seeded(self) -> None:
        if self.config.seed is not None:  # the same seed gives the same dropout for each image
            torch.manual_seed(self.config.seed)

    def _tile_for(self, x: torch.Tensor) -> int | None:
        return self.tiler.choose_tile(x, self.config.tile, self._auto_tile)

    def _auto_tile(self) -> int:
        return round_up(1024, self.spec.multiple)


# --- helpers -----------------------------------------------------------------------------------------------


def ab_half(img: Image.Image, direction: str) -> Image.Image:
    """The input half of a side-by-side AB image: A (left) for AtoB, B (right) for BtoA."""
    w, h = img.size
    if w % 2:
        raise ImageError(
            f"a {w}x{h} image cannot be split into A and B halves (odd width)",
            "pass a side-by-side AB image, or leave --direction out for a plain photo",
        )
    half = w // 2
    return img.crop((0, 0, half, h)) if direction == "AtoB" else img.crop((half, 0, w, h))


def _to_image(y: torch.Tensor) -> Image.Image:
    return fn.to_pil((y + 1) / 2)


__all__ = ["GeneratorSpec", "TranslateConfig", "Translation", "Translator", "ab_half"]
