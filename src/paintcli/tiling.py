"""Running an image network on large images in blended tiles.

Used by every one-pass network (engines/one_pass.py). Two things keep tiles from showing:
- Every tile sits on the network's downsampling grid, in the image padded exactly as for an untiled
  run, because strided convolutions compute differently when shifted off that grid.
- Norm layers that normalise by their input's own statistics (instance norm, batch norm in training
  mode) would give each tile its own look, so those statistics are measured once on the whole
  image (downscaled to about one tile if the whole would not fit) and used for every tile.
Overlaps are blended with weights that ramp linearly across them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from paintcli.nets.image_to_image import ImageToImage, pad_to_multiple

AUTO_TILE = 1024  # tile side chosen when an image would not fit in memory whole
BYTES_PER_PIXEL = 1536  # peak activation memory of a 64-channel image network in inference, per pixel
MEMORY_HEADROOM = 0.6  # use at most this share of the free memory before tiling


class Tiler:
    """Runs an ImageToImage network on a batch whole, or in grid-aligned blended tiles."""

    def __init__(self, net: ImageToImage, *, before_call: Callable[[], None] | None = None):
        self.net, self.multiple = net, net.multiple
        self.before_call = before_call or (lambda: None)

    def forward_whole(self, x: torch.Tensor) -> torch.Tensor:
        self.before_call()
        return self.net(x)

    def forward_tiled(self, x: torch.Tensor, tile: int, overlap: int) -> tuple[torch.Tensor, int]:
        """The network on grid-aligned tiles of x, blended; returns the image and the tile count."""
        tile = round_up(tile, self.multiple)
        padded, (top0, left0, h, w) = pad_to_multiple(x, self.multiple)
        big_h, big_w = padded.shape[-2:]
        out = torch.zeros_like(padded)
        weight = torch.zeros((1, 1, big_h, big_w), device=x.device)
        count = 0
        with shared_norm_statistics(self.net, lambda: self.forward_whole(self._overview(x, tile))):
            for top in _starts(big_h, tile, overlap, self.multiple):
                for left in _starts(big_w, tile, overlap, self.multiple):
                    self.before_call()
                    y = self.net(padded[..., top : top + tile, left : left + tile])
                    th, tw = y.shape[-2:]
                    ramp = _ramp(th, tw, overlap, top > 0, top + th < big_h, left > 0, left + tw < big_w, x.device)
                    out[..., top : top + th, left : left + tw] += y * ramp
                    weight[..., top : top + th, left : left + tw] += ramp
                    count += 1
        blended = out / weight.clamp_min(1e-8)
        return blended[..., top0 : top0 + h, left0 : left0 + w], count

    def choose_tile(self, x: torch.Tensor, asked: int | None) -> int | None:
        """The tile size to use: the one asked for, or `auto_tile()` when x would not fit, else None."""
        if asked:
            return round_up(asked, self.multiple)
        return None if fits(x, x.device) else self.auto_tile()

    def auto_tile(self) -> int:
        return round_up(AUTO_TILE, self.multiple)

    def _overview(self, x: torch.Tensor, tile: int) -> torch.Tensor:
        """The whole image if it fits in memory, else a copy downscaled to about one tile."""
        if fits(x, x.device):
            return x
        scale = tile / max(x.shape[-2:])
        size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


@contextmanager
def shared_norm_statistics(net: nn.Module, measure: Callable[[], object]):
    """Within the block, layers that normalise by their input's own statistics use fixed ones.

    Those layers are instance norms, batch norms in training mode, and any module with
    `statistics(x)` and `normalise(x, statistics)` methods (AdaIN). `measure()` runs the network
    once; the statistics each such layer sees then are recorded and used for every later call
    until the block ends.
    """
    layers = [m for m in net.modules() if _self_normalising(m)]
    stats: dict[nn.Module, tuple[torch.Tensor, ...]] = {}

    def record(module, args):
        stats[module] = _statistics(module, args[0])

    def replay(module, args, output):
        return _normalise(module, args[0], stats[module])

    handles = [m.register_forward_pre_hook(record) for m in layers]
    try:
        measure()
    finally:
        for handle in handles:
            handle.remove()
    handles = [m.register_forward_hook(replay) for m in layers]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _self_normalising(m: nn.Module) -> bool:
    return isinstance(m, nn.InstanceNorm2d) or (isinstance(m, nn.BatchNorm2d) and m.training) or hasattr(m, "statistics")


def _statistics(m: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    if hasattr(m, "statistics"):
        return m.statistics(x)
    return x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)


def _normalise(m: nn.Module, x: torch.Tensor, stats: tuple[torch.Tensor, ...]) -> torch.Tensor:
    if hasattr(m, "normalise"):
        return m.normalise(x, stats)
    mean, var = stats
    y = (x - mean) / torch.sqrt(var + m.eps)
    if getattr(m, "affine", False):
        y = y * m.weight.view(1, -1, 1, 1) + m.bias.view(1, -1, 1, 1)
    return y


def fits(x: torch.Tensor, device: torch.device) -> bool:
    """Whether x is likely to go through a network in one piece on `device`."""
    free = free_memory(device)
    pixels = x.shape[-1] * x.shape[-2] * x.shape[0]
    return free is None or pixels * BYTES_PER_PIXEL <= free * MEMORY_HEADROOM


def free_memory(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu" and hasattr(os, "sysconf"):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None


def round_up(value: int, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)


def _starts(length: int, tile: int, overlap: int, align: int) -> list[int]:
    """Tile offsets along one axis: multiples of `align`, overlapping by at least `overlap`.

    `length` and `tile` are multiples of `align`, so the last tile ends exactly at the edge.
    """
    if length <= tile:
        return [0]
    step = max(align, (tile - overlap) // align * align)
    count = math.ceil((length - tile) / step) + 1
    return [min(i * step, length - tile) for i in range(count)]


def _ramp(h, w, overlap, top, bottom, left, right, device) -> torch.Tensor:
    """1 inside, rising linearly across the overlap on the sides that meet another tile."""
    if overlap == 0:
        return torch.ones((1, 1, h, w), device=device)
    rise = (torch.arange(overlap, device=device, dtype=torch.float32) + 0.5) / overlap
    ys, xs = torch.ones(h, device=device), torch.ones(w, device=device)
    if top:
        ys[:overlap] = torch.minimum(ys[:overlap], rise)
    if bottom:
        ys[-overlap:] = torch.minimum(ys[-overlap:], rise.flip(0))
    if left:
        xs[:overlap] = torch.minimum(xs[:overlap], rise)
    if right:
        xs[-overlap:] = torch.minimum(xs[-overlap:], rise.flip(0))
    return (ys[:, None] * xs[None, :])[None, None]
