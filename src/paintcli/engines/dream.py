"""Deep Dream: let the network paint what it sees, by gradient ascent on its own activations.

    Mordvintsev, Olah and Tyka. "Inceptionism: Going Deeper into Neural Networks", Google Research Blog, 2015.

The image is worked on coarse to fine over an octave pyramid: at each level the detail dreamt so
far is carried up and refined. Each step shifts the image by a random jitter (so no fixed grid
shows), follows the gradient of the chosen layers' mean squared activation, normalised to a mean
magnitude of one and blurred a little, and shifts back. With `tile`, gradients are computed tile by
tile, which bounds memory for large photos; the jitter hides the tile edges.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from paintcli import backbones, device as devices, functional as fn, imageio
from paintcli.config import DreamConfig
from paintcli.nets.vgg import LAYER_INDEX


@dataclass(frozen=True)
class DreamStep:
    octave: int  # 1-based
    octaves: int
    step: int  # 1-based within the octave
    steps: int
    size: tuple[int, int]
    activation: float  # mean squared activation of the chosen layers


@dataclass(frozen=True)
class DreamResult:
    image: Image.Image
    seconds: float
    activation_before: float
    activation_after: float
    device: str


class Dreamer:
    def __init__(self, config: DreamConfig | None = None, *, device: torch.device | str | None = None):
        self.config = (config or DreamConfig()).validate()
        self.device = devices.resolve(device)
        deepest = max(self.config.layers, key=LAYER_INDEX.__getitem__)
        self.net = backbones.load_vgg19("vgg19", last_layer=deepest, device=self.device)

    def run(self, image: Image.Image, *, on_event: Callable[[DreamStep], None] | None = None) -> DreamResult:
        cfg = self.config
        image = imageio.resize_longest(imageio.to_rgb(image), cfg.size)
        generator = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else torch.Generator()
        start = time.perf_counter()
        base = fn.to_tensor(image, self.device)
        before = self.activation(base)
        pyramid = [base]
        for _ in range(cfg.octaves - 1):
            h, w = pyramid[-1].shape[-2:]
            smaller = (max(16, round(h / cfg.octave_scale)), max(16, round(w / cfg.octave_scale)))
            pyramid.append(F.interpolate(pyramid[-1], size=smaller, mode="bilinear", align_corners=False, antialias=True))
        detail = torch.zeros_like(pyramid[-1])
        for octave, level in enumerate(reversed(pyramid), start=1):
            detail = F.interpolate(detail, size=level.shape[-2:], mode="bilinear", align_corners=False)
            dreamt = (level + detail).clamp(0, 1)
            for step in range(1, cfg.steps + 1):
                dreamt = self._ascend(dreamt, generator)
                if on_event is not None:
                    size = (dreamt.shape[-1], dreamt.shape[-2])
                    on_event(DreamStep(octave, cfg.octaves, step, cfg.steps, size, self.activation(dreamt)))
            detail = dreamt - level
        return DreamResult(fn.to_pil(dreamt), time.perf_counter() - start, before, self.activation(dreamt), devices.describe(self.device))

    def activation(self, image: torch.Tensor) -> float:
        """Mean squared activation of the chosen layers (what Deep Dream makes larger)."""
        with torch.no_grad():
            return float(self._objective(image))

    def _objective(self, image: torch.Tensor) -> torch.Tensor:
        feats = self.net(image, self.config.layers)
        return sum(f.pow(2).mean() for f in feats.values())

    def _ascend(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        cfg = self.config
        dy, dx = (int(torch.randint(-cfg.jitter, cfg.jitter + 1, (), generator=generator)) for _ in range(2))
        shifted = image.roll((dy, dx), dims=(-2, -1))
        grad = self._gradient(shifted)
        grad = grad / (grad.abs().mean() + 1e-8)
        if cfg.smooth > 0:
            grad = _blur(grad, cfg.smooth)
        return (shifted + cfg.lr * grad).roll((-dy, -dx), dims=(-2, -1)).clamp(0, 1)

    def _gradient(self, image: torch.Tensor) -> torch.Tensor:
        tile = self.config.tile
        h, w = image.shape[-2:]
        if not tile or max(h, w) <= tile:
            return self._tile_gradient(image)
        grad = torch.zeros_like(image)
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                patch = image[..., top : top + tile, left : left + tile]
                if min(patch.shape[-2:]) >= 16:  # VGG needs a little room; slivers keep a zero gradient
                    grad[..., top : top + tile, left : left + tile] = self._tile_gradient(patch)
        return grad

    def _tile_gradient(self, image: torch.Tensor) -> torch.Tensor:
        x = image.detach().requires_grad_(True)
        self._objective(x).backward()
        return x.grad.detach()


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
