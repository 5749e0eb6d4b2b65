"""Painting with any one-pass network: resizing, batches, tiles and colour preservation, once for all.

Fast style, AdaIN, pix2pix/CycleGAN translation and the bundled instant styles are all an
`ImageToImage` network (RGB in [0, 1] of any size, the same out), so one engine runs them: it
resizes each picture, sends same-size pictures through together when the network allows it,
switches to blended tiles when asked or when a picture would not fit in memory, and can keep the
photo's colours (the result's luminance with the photo's chroma).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from paintcli import functional as fn, imageio
from paintcli.config import OnePassConfig
from paintcli.nets.image_to_image import ImageToImage
from paintcli.tiling import Tiler


@dataclass(frozen=True)
class OnePassResult:
    image: Image.Image
    seconds: float
    tiles: int  # 1 when the picture went through in one piece

    def report(self) -> dict:
        return {"tiles": self.tiles}


class OnePass:
    """An ImageToImage network on a device, ready for pictures of any size."""

    def __init__(
        self,
        net: ImageToImage,
        device: torch.device,
        settings: OnePassConfig = OnePassConfig(),
        *,
        before_call: Callable[[], None] | None = None,
    ):
        self.net = net.to(device).requires_grad_(False)
        self.device, self.settings = device, settings
        self.tiler = Tiler(self.net, before_call=before_call)

    def run(self, image: Image.Image) -> OnePassResult:
        return self.run_many([image])[0]

    def run_many(self, images: Sequence[Image.Image]) -> list[OnePassResult]:
        """Paint pictures; same-size ones go through the network together when that is exact."""
        tensors = [self.tensor(img) for img in images]
        whole = all(self.tiler.choose_tile(x, self.settings.tile) is None for x in tensors)
        if len(tensors) > 1 and len({x.shape for x in tensors}) == 1 and whole and self.net.batch_independent:
            start = time.perf_counter()
            with torch.no_grad():
                out = self.tiler.forward_whole(torch.cat(tensors))
            seconds = (time.perf_counter() - start) / len(tensors)
            return [OnePassResult(self._finish(y[None], x), seconds, 1) for y, x in zip(out, tensors, strict=True)]
        return [self._run_one(x) for x in tensors]

    def tensor(self, image: Image.Image) -> torch.Tensor:
        """A picture as the network's input: RGB, resized to the settings' size, on the device."""
        return fn.to_tensor(imageio.resize_longest(imageio.to_rgb(image), self.settings.size), self.device)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The network on a (1, 3, H, W) tensor, whole or tiled; (result in [0, 1], tile count)."""
        tile = self.tiler.choose_tile(x, self.settings.tile)
        with torch.no_grad():
            if tile is None:
                try:
                    return self.tiler.forward_whole(x), 1
                except torch.cuda.OutOfMemoryError:  # also raised as torch.OutOfMemoryError
                    torch.cuda.empty_cache()
                    tile = self.tiler.auto_tile()
            return self.tiler.forward_tiled(x, tile, self.settings.tile_overlap)

    def _run_one(self, x: torch.Tensor) -> OnePassResult:
        start = time.perf_counter()
        y, tiles = self.forward(x)
        image = self._finish(y, x)  # to_pil waits for the device, so the time below is honest
        return OnePassResult(image, time.perf_counter() - start, tiles)

    def _finish(self, y: torch.Tensor, x: torch.Tensor) -> Image.Image:
        if self.settings.preserve_colors:
            y = fn.combine_luma_chroma(y, x)
        return fn.to_pil(y)
