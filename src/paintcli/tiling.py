"""Running an image network on any size: padding to its multiple, and blended tiles for big images.

Used by translation (pix2pix/CycleGAN generators) and fast style transfer (TransformerNet). Two
things keep tiles from showing:
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

BYTES_PER_PIXEL = 1536  # peak activation memory of a 64-channel image network in inference, per pixel
MEMORY_HEADROOM = 0.6  # use at most this share of the free memory before tiling


class Tiler:
    """Runs `module` (or `call`, a function around it) padded to `multiple`, whole or in tiles."""

    def __init__(
        self,
        module: nn.Module,
        multiple: int,
        *,
        call: Callable[[torch.Tensor], torch.Tensor] | None = None,
        before_call: Callable[[], None] | None = None,
    ):
        self.module, self.multiple = module, multiple
        self.call = call or module
        self.before_call = before_call or (lambda: None)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        """The network on x padded (reflection, split evenly) to its multiple, cropped back."""
        padded, (top, left, h, w) = self._pad_to_multiple(x)
        self.before_call()
        return self.call(padded)[..., top : top + h, left : left + w]

    def forward_tiled(self, x: torch.Tensor, tile: int, overlap: int) -> tuple[torch.Tensor, int]:
        """The network on grid-aligned tiles of x, blended; returns the image and the tile count."""
        tile = round_up(tile, self.multiple)
        padded, (top0, left0, h, w) = self._pad_to_multiple(x)
        big_h, big_w = padded.shape[-2:]
        out = torch.zeros_like(padded)
        weight = torch.zeros((1, 1, big_h, big_w), device=x.device)
        count = 0
        with shared_norm_statistics(self.module, lambda: self.forward_padded(self._overview(x, tile))):
            for top in _starts(big_h, tile, overlap, self.multiple):
                for left in _starts(big_w, tile, overlap, self.multiple):
                    self.before_call()
                    y = self.call(padded[..., top : top + tile, left : left + tile])
                    th, tw = y.shape[-2:]
                    ramp = _ramp(th, tw, overlap, top > 0, top + th < big_h, left > 0, left + tw < big_w, x.device)
                    out[..., top : top + th, left : left + tw] += y * ramp
                    weight[..., top : top + th, left : left + tw] += ramp
                    count += 1
        blended = out / weight.clamp_min(1e-8)
        return blended[..., top0 : top0 + h, left0 : left0 + w], count

    def choose_tile(self, x: torch.Tensor, asked: int | None, auto: Callable[[], int]) -> int | None:
        """The tile size to use: the one asked for, or `auto()` when x would not fit, else None."""
        if asked:
            return round_up(asked, self.multiple)
        return None if fits(x, x.device) else auto()

    def _pad_to_multiple(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        top, left = ph // 2, pw // 2
        return _pad(x, (left, pw - left, top, ph - top)), (top, left, h, w)

    def _overview(self, x: torch.Tensor, tile: int) -> torch.Tensor:
        """The whole image if it fits in memory, else a copy downscaled to about one tile."""
        if fits(x, x.device):
            return x
        scale = tile / max(x.shape[-2:])
        size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


@contextmanager
def shared_norm_statistics(net: nn.Module, measure: Callable[[], object]):
    """Within the block, norm layers that normalise by their input's own statistics use fixed ones.

    `measure()` runs the network once; the per-channel mean and variance that each such layer sees
    then are recorded and used for every later call until the block ends.
    """
    layers = [
        m for m in net.modules()
        if isinstance(m, nn.InstanceNorm2d) or (isinstance(m, nn.BatchNorm2d) and m.training)
    ]  # fmt: skip
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def record(module, args):
        x = args[0]
        stats[module] = (x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), unbiased=False, keepdim=True))

    def replay(module, args, output):
        mean, var = stats[module]
        y = (args[0] - mean) / torch.sqrt(var + module.eps)
        if getattr(module, "affine", False):
            y = y * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)
        return y

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


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    if not any(pads):
        return x
    h, w = x.shape[-2:]
    # Reflection needs the padding to be smaller than the image; fall back to edge replication.
    mode = "reflect" if max(pads[0], pads[1]) < w and max(pads[2], pads[3]) < h else "replicate"
    return F.pad(x, pads, mode=mode)


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
