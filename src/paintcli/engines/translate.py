"""Image-to-image translation with a pix2pix or CycleGAN generator, at full resolution.

The image is padded (reflection) to the size the network needs and cropped back, so any size and
aspect ratio works. Large images are split into overlapping tiles whose results are blended with
linear ramps across the overlap, so no seams show; tiling is chosen automatically when an image
would not fit in the device's memory.

As in the pix2pix paper and the official test script, the network runs in training mode by
default: batch norm uses the statistics of the image itself and dropout stays on (`eval_mode=True`
uses the running statistics and no dropout instead). For CycleGAN's instance-norm generators the two
modes give the same result.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from paintcli import cache, checkpoints, device as devices, functional as fn, imageio, registry
from paintcli.config import TranslateConfig
from paintcli.errors import ImageError
from paintcli.nets.generators import GeneratorSpec

BYTES_PER_PIXEL = 1536  # peak activation memory of a 64-channel generator in inference, per input pixel
MEMORY_HEADROOM = 0.6  # use at most this share of the free memory before tiling


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
        self.device = devices.resolve(str(device) if device is not None else None)
        self.entry, path = _locate(model, download_progress)
        self.net, self.spec = checkpoints.load_generator(path)
        self.net.to(self.device).train(not self.config.eval_mode)
        self.net.requires_grad_(False)
        self.name = self.entry.name if self.entry else Path(model).stem

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
                out = self._forward_padded(torch.cat(prepared))
            seconds = (time.perf_counter() - start) / len(prepared)
            return [Translation(_to_image(o[None]), seconds, 1) for o in out]
        return [self._run_one(x) for x in prepared]

    def _run_one(self, x: torch.Tensor) -> Translation:
        start = time.perf_counter()
        tile = self._tile_for(x)
        with torch.no_grad():
            if tile is None:
                try:
                    y, tiles = self._forward_padded(x), 1
                except torch.cuda.OutOfMemoryError:  # also raised as torch.OutOfMemoryError
                    _free(self.device)
                    tile = self._auto_tile()
            if tile is not None:
                y, tiles = self._forward_tiled(x, tile)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return Translation(_to_image(y), time.perf_counter() - start, tiles)

    def _prepare(self, img: Image.Image) -> torch.Tensor:
        img = imageio.to_rgb(img)
        if self.config.direction:
            img = ab_half(img, self.config.direction)
        if self.config.size:
            size = imageio.fit_longest_side(img.size, self.config.size)
            imageio.check_work_size(size)
            img = imageio.resize(img, size)
        return fn.to_tensor(img, self.device) * 2 - 1  # the generators work on [-1, 1]

    def _seeded(self) -> None:
        if self.config.seed is not None:  # the same seed gives the same dropout for each image
            torch.manual_seed(self.config.seed)

    def _pad_to_multiple(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        """x padded (reflection, split evenly) to the network's size multiple, and the crop box back."""
        h, w = x.shape[-2:]
        m = self.spec.multiple
        ph, pw = (-h) % m, (-w) % m
        top, left = ph // 2, pw // 2
        return _pad(x, (left, pw - left, top, ph - top)), (top, left, h, w)

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on x padded to its size multiple, and crop the padding off again."""
        padded, (top, left, h, w) = self._pad_to_multiple(x)
        self._seeded()
        return self.net(padded)[..., top : top + h, left : left + w]

    def _forward_tiled(self, x: torch.Tensor, tile: int) -> tuple[torch.Tensor, int]:
        """Blend overlapping tiles with weights that ramp linearly across each overlap.

        Two things keep tiles from showing. Every tile sits on the network's downsampling grid
        (its offsets are multiples of 4 for ResNets, of 2^downs for U-Nets) in the image padded
        exactly as for an untiled run, because strided convolutions compute differently when
        shifted off that grid. And instance norm (or batch norm in training mode) would normalise
        each tile by its own statistics, so those are measured once on the whole image
        (downscaled to the tile size if the whole would not fit) and used for every tile.
        """
        padded, (top0, left0, h, w) = self._pad_to_multiple(x)
        big_h, big_w = padded.shape[-2:]
        m, overlap = self.spec.multiple, self.config.tile_overlap
        out = torch.zeros_like(padded)
        weight = torch.zeros((1, 1, big_h, big_w), device=x.device)
        count = 0
        with shared_norm_statistics(self.net, lambda: self._forward_padded(self._overview(x, tile))):
            for top in _starts(big_h, tile, overlap, m):
                for left in _starts(big_w, tile, overlap, m):
                    self._seeded()
                    y = self.net(padded[..., top : top + tile, left : left + tile])
                    th, tw = y.shape[-2:]
                    ramp = _ramp(th, tw, overlap, top > 0, top + th < big_h, left > 0, left + tw < big_w, x.device)
                    out[..., top : top + th, left : left + tw] += y * ramp
                    weight[..., top : top + th, left : left + tw] += ramp
                    count += 1
        blended = out / weight.clamp_min(1e-8)
        return blended[..., top0 : top0 + h, left0 : left0 + w], count

    def _overview(self, x: torch.Tensor, tile: int) -> torch.Tensor:
        """The whole image if it fits in memory, else a copy downscaled to about one tile."""
        free = _free_memory(self.device)
        pixels = x.shape[-1] * x.shape[-2]
        if free is None or pixels * BYTES_PER_PIXEL <= free * MEMORY_HEADROOM:
            return x
        scale = tile / max(x.shape[-2:])
        size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)

    def _tile_for(self, x: torch.Tensor) -> int | None:
        if self.config.tile:
            return _round_up(self.config.tile, self.spec.multiple)
        pixels = x.shape[-1] * x.shape[-2] * x.shape[0]
        free = _free_memory(self.device)
        if free is not None and pixels * BYTES_PER_PIXEL > free * MEMORY_HEADROOM:
            return self._auto_tile()
        return None

    def _auto_tile(self) -> int:
        return _round_up(1024, self.spec.multiple)


# --- helpers -----------------------------------------------------------------------------------------------


@contextmanager
def shared_norm_statistics(net: torch.nn.Module, measure):
    """Within the block, norm layers that normalise by their input's own statistics use fixed ones.

    `measure()` runs the network once; the per-channel mean and variance that each such layer sees
    then are recorded and used for every later call until the block ends.
    """
    layers = [
        m for m in net.modules()
        if isinstance(m, torch.nn.InstanceNorm2d) or (isinstance(m, torch.nn.BatchNorm2d) and m.training)
    ]  # fmt: skip
    stats: dict[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

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


def _locate(model: str | os.PathLike[str], progress) -> tuple[registry.Entry | None, Path]:
    """A model name from the registry (downloaded if needed) or a path to a .pth file."""
    path = Path(model)
    if path.suffix in {".pth", ".pt"} or path.exists():
        if not path.is_file():
            raise checkpoints.CheckpointError(f"{path} does not exist", "check the path, or use a model name from `paint download --list`")
        return None, path
    entry = registry.resolve(str(model), kind="model")
    return entry, cache.fetch(entry, progress=progress)


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


def _round_up(value: int, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)


def _free_memory(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu" and hasattr(os, "sysconf"):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None


def _free(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _to_image(y: torch.Tensor) -> Image.Image:
    return fn.to_pil((y + 1) / 2)


__all__ = ["GeneratorSpec", "TranslateConfig", "Translation", "Translator", "ab_half"]
