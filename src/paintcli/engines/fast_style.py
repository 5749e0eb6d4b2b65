"""Feed-forward style transfer: one pass through a trained TransformerNet (Johnson et al. 2016).

Official pytorch/examples checkpoints load as they are (their deprecated InstanceNorm running
statistics are dropped). The network works on 0-255 RGB; any image size works (padding to a
multiple of 4, cropped back), and large images go through in blended tiles.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from paintcli import cache, checkpoints, device as devices, functional as fn, imageio, models
from paintcli.nets.transformer_net import TransformerNet
from paintcli.tiling import Tiler, round_up


@dataclass(frozen=True)
class FastResult:
    image: Image.Image
    seconds: float
    tiles: int


class FastStylizer:
    """A loaded style network; `run` stylises one image."""

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        device: torch.device | str | None = None,
        tile: int | None = None,
        tile_overlap: int = 64,
        download_progress: cache.ProgressHook | None = None,
    ):
        self.device = devices.resolve(device)
        self.entry, path = models.locate(model, family="fast-style", progress=download_progress)
        self.name = self.entry.name if self.entry else Path(model).stem
        self.net = load_transformer_net(path).to(self.device).eval().requires_grad_(False)
        self.tile, self.tile_overlap = tile, tile_overlap
        self.tiler = Tiler(self.net, TransformerNet.multiple)

    def run(self, image: Image.Image, *, size: int | None = None, preserve_colors: bool = False) -> FastResult:
        image = imageio.resize_longest(imageio.to_rgb(image), size)
        start = time.perf_counter()
        x = fn.to_tensor(image, self.device) * 255
        tile = self.tiler.choose_tile(x, self.tile, lambda: round_up(1024, TransformerNet.multiple))
        with torch.no_grad():
            if tile is None:
                y, tiles = self.tiler.forward_padded(x), 1
            else:
                y, tiles = self.tiler.forward_tiled(x, tile, self.tile_overlap)
        y = (y / 255).clamp(0, 1)
        if preserve_colors:
            y = fn.combine_luma_chroma(y, x / 255)
        return FastResult(fn.to_pil(y), time.perf_counter() - start, tiles)


def load_transformer_net(path: str | os.PathLike[str]) -> TransformerNet:
    """A TransformerNet from an official pytorch/examples file or one `paint train fast-style` wrote."""
    state, _ = checkpoints.read_state(path)
    return checkpoints.load_into(TransformerNet(), state, source=f"{path} is not a fast style (TransformerNet) checkpoint: it")
