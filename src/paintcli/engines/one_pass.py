"""Painting with any one-pass network: resizing, batches, tiles and colour preservation, once for all.

Fast style, AdaIN, pix2pix/CycleGAN translation and the bundled instant styles are all an
`ImageToImage` network (RGB in [0, 1] of any size, the same out), so one engine runs them: it
resizes each picture, sends same-size pictures through together when the network allows it,
switches to blended tiles when asked or when a picture would not fit in memory, and can keep the
photo's colours (the result's luminance with the photo's chroma).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from paintcli import device as devices, functional as fn, imageio
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
        self.device, self.settings = device, settings
        self.net = net.to(device).requires_grad_(False)
        self.memory_format = torch.channels_last if net.channels_last else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)
        self.net.compute_in(devices.one_pass_precision(settings.precision, device, net))
        if settings.compile:
            self.net.forward = torch.compile(self.net.forward, dynamic=False)
        self.tiler = Tiler(self.net, before_call=before_call)
        self.hooked = before_call is not None  # something global runs before every call (translate's seed)
        self._tiling = threading.Lock()  # tiles set hooks on the network: one tiled picture at a time

    @property
    def precision(self) -> str:
        """What the network computes in: 'fp32', 'bf16' (--precision names them) or 'int8' (an 8-bit
        network's own arithmetic, under --precision auto)."""
        return self.net.precision

    def run(self, image: Image.Image) -> OnePassResult:
        return self.run_many([image])[0]

    def run_many(self, images: Sequence[Image.Image]) -> list[OnePassResult]:
        """Paint pictures; same-size ones go through the network together when that is exact."""
        targets = [self.output_image(img) for img in images]
        tensors = [self.tensor(img) for img in targets]
        whole = all(self.tiler.choose_tile(x, self.settings.tile) is None for x in tensors)
        if len(tensors) > 1 and len({x.shape for x in tensors}) == 1 and whole and self.net.batch_independent:
            start = time.perf_counter()
            with torch.no_grad():
                out = self.tiler.forward_whole(torch.cat(tensors))
            painted = [self._finish(y[None], x, t) for y, x, t in zip(out, tensors, targets, strict=True)]
            seconds = (time.perf_counter() - start) / len(tensors)
            return [OnePassResult(image, seconds, 1) for image in painted]
        return [self._run_one(x, t) for x, t in zip(tensors, targets, strict=True)]

    def output_image(self, image: Image.Image) -> Image.Image:
        """The picture at the output's size (the settings' size, or its own)."""
        return imageio.resize_longest(imageio.to_rgb(image), self.settings.size)

    def tensor(self, image: Image.Image) -> torch.Tensor:
        """A picture as the network's input: at the work size if one is set and smaller, on the device."""
        work = self.settings.work_size
        if work and work < max(image.size):
            image = imageio.resize_longest(image, work)
        return fn.to_tensor(image, self.device).contiguous(memory_format=self.memory_format)

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
            with self._tiling:
                return self.tiler.forward_tiled(x, tile, self.settings.tile_overlap)

    def _run_one(self, x: torch.Tensor, target: Image.Image) -> OnePassResult:
        start = time.perf_counter()
        y, tiles = self.forward(x)
        image = self._finish(y, x, target)  # to_pil waits for the device, so the time below is honest
        return OnePassResult(image, time.perf_counter() - start, tiles)

    def _finish(self, y: torch.Tensor, x: torch.Tensor, target: Image.Image) -> Image.Image:
        if self.settings.preserve_colors:
            y = fn.combine_luma_chroma(y, x)
        image = fn.to_pil(y)
        return imageio.resize(image, target.size)  # scaled up when the network ran at a smaller work size
