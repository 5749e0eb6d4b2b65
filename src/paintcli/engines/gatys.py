"""Gatys et al. style transfer: optimise the pixels of an image so its VGG19 features match the
content of one photo and the Gram statistics of one or more paintings.

The engine never prints. It reports each evaluation as a `Step` to an `on_event` callback and
returns a `Result`; Ctrl-C raises `Interrupted`, which carries the image as it was.
    Gatys, Ecker, Bethge. "Image Style Transfer Using Convolutional Neural Networks." CVPR 2016.
    Gatys et al. "Preserving Color in Neural Artistic Style Transfer." arXiv:1606.05897 (2016).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from paintcli import backbones, device as devices, functional as fn, imageio
from paintcli.progress import ProgressHook
from paintcli.config import GatysConfig
from paintcli.nets.vgg import LAYER_INDEX, LAYERS

ImageLike = Image.Image | str | os.PathLike[str]
# The optimised variable holds pixels on a 0-255 scale, as in neural-style. On a 0-1 scale the
# gradients are 255 times larger and L-BFGS's curvature scale (s.y / y.y) underflows float32, which
# stalls the run after a few steps.
PIXEL_SCALE = 255.0


@dataclass(frozen=True)
class Step:
    """One forward-backward evaluation of the loss."""

    scale: int  # 1-based index into the scales
    scales: int
    size: tuple[int, int]  # (width, height) at this scale
    iteration: int  # 1-based, within this scale
    iterations: int
    content_loss: float
    style_loss: float
    tv_loss: float
    preview: Callable[[], Image.Image]  # the current image, post-processed like the final one

    @property
    def total_loss(self) -> float:
        return self.content_loss + self.style_loss + self.tv_loss


@dataclass(frozen=True)
class Result:
    image: Image.Image
    iterations: int  # evaluations over all scales
    content_loss: float
    style_loss: float
    tv_loss: float
    seconds: float
    device: str


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during optimisation; `image` is the result so far."""

    def __init__(self, image: Image.Image):
        super().__init__("interrupted")
        self.image = image


class GatysStylizer:
    """Holds the feature network, so several photos can be stylised with one load."""

    def __init__(
        self,
        config: GatysConfig | None = None,
        *,
        device: torch.device | str | None = None,
        download_progress: ProgressHook | None = None,
    ):
        self.config = (config or GatysConfig()).validate()
        self.device = devices.resolve(device)
        layers = self.config.content_layers + self.config.style_layers
        deepest = max(layers, key=LAYER_INDEX.__getitem__)  # run VGG only as deep as the losses need
        self.net = backbones.load_vgg19(
            self.config.backbone, last_layer=deepest, device=self.device, progress=download_progress
        )
        if self.device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)

    # --- public ------------------------------------------------------------------------------------

    def run(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        *,
        on_event: Callable[[Step], None] | None = None,
    ) -> Result:
        cfg = self.config
        content_img = _as_image(content)
        style_imgs = [_as_image(s) for s in ([styles] if isinstance(styles, (Image.Image, str, os.PathLike)) else styles)]
        if not style_imgs:
            raise ValueError("at least one style image is needed")
        blend = cfg.blend_weights(len(style_imgs))
        sizes = [imageio.fit_longest_side(content_img.size, s) for s in cfg.work_scales]
        for size in sizes:
            imageio.check_work_size(size)
        generator = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
        if cfg.seed is not None:
            torch.manual_seed(cfg.seed)

        start = time.perf_counter()
        image: torch.Tensor | None = None
        total_evals = 0
        losses = (0.0, 0.0, 0.0)
        with devices.fast_math(self.device):
            for index, size in enumerate(sizes, start=1):
                content_t = fn.to_tensor(imageio.resize(content_img, size), self.device)
                image = self._initial(image, content_t, style_imgs, size, generator)
                problem = _Problem(self, content_t, style_imgs, blend, size)
                image, losses, evals = problem.optimise(image, index, len(sizes), on_event)
                total_evals += evals
        final = self._finish(image, content_t)
        return Result(
            image=final,
            iterations=total_evals,
            content_loss=losses[0],
            style_loss=losses[1],
            tv_loss=losses[2],
            seconds=time.perf_counter() - start,
            device=devices.describe(self.device),
        )

    # --- helpers -----------------------------------------------------------------------------------

    def _initial(self, previous, content_t, style_imgs, size, generator) -> torch.Tensor:
        """The starting image at this scale: the previous scale's result upsampled, or cfg.init."""
        if previous is not None:
            return fn.resize_tensor(previous.detach(), size)
        init = self.config.init
        if init == "content":
            start = content_t.clone()
        elif init == "noise":
            noise = torch.randn(content_t.shape, generator=generator).to(self.device)
            start = (0.5 + 0.1 * noise).clamp(0, 1)
        elif init == "style":
            start = fn.to_tensor(imageio.resize(style_imgs[0], size), self.device)
        else:
            start = fn.to_tensor(imageio.resize(imageio.load_image(init), size), self.device)
        return fn.luminance(start) if self.config.preserve_colors else start

    def _finish(self, image: torch.Tensor, content_t: torch.Tensor) -> Image.Image:
        image = image.detach().clamp(0, 1)
        if self.config.preserve_colors:
            image = fn.combine_luma_chroma(image, content_t)
        return fn.to_pil(image)


class _Problem:
    """The loss at one scale: fixed targets from the content and style images, and the optimiser loop."""

    def __init__(self, owner: GatysStylizer, content_t, style_imgs, blend, size):
        self.owner, self.cfg, self.net, self.content_t = owner, owner.config, owner.net, content_t
        cfg = self.cfg
        if cfg.preserve_colors:  # luminance-only transfer: work on gray images, re-colour at the end
            content_t = fn.luminance(content_t)
        self.layers = tuple(dict.fromkeys(cfg.content_layers + cfg.style_layers))
        with torch.no_grad():
            feats = self.net(self._memory(content_t), cfg.content_layers)
            self.content_targets = {k: v.detach() for k, v in feats.items()}
            self.gram_targets = self._style_grams(style_imgs, blend, size, content_t)
        self.content_weight, self.style_weight = cfg.weights
        self.layer_weights = dict(zip(cfg.style_layers, cfg.layer_weights(), strict=True))

    def _memory(self, t: torch.Tensor) -> torch.Tensor:
        return t.contiguous(memory_format=torch.channels_last) if self.owner.device.type == "cuda" else t

    def _style_grams(self, style_imgs, blend, size, content_t) -> dict[str, torch.Tensor]:
        longest = max(1, round(max(size) * self.cfg.style_scale))
        grams: dict[str, torch.Tensor] = {}
        for img, weight in zip(style_imgs, blend, strict=True):
            style = imageio.resize_longest(img, longest, what="a style image", option="--size or --style-scale")
            style_t = fn.to_tensor(style, self.owner.device)
            if self.cfg.preserve_colors:
                style_t = fn.match_luminance(style_t, content_t)
            feats = self.net(self._memory(style_t), self.cfg.style_layers)
            for layer, f in feats.items():
                g = fn.gram(f) * weight
                grams[layer] = grams[layer] + g if layer in grams else g
        return grams

    def losses(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.net(self._memory(image), self.layers)
        zero = image.new_zeros(())
        content = sum((F.mse_loss(feats[k], t) for k, t in self.content_targets.items()), zero)
        style = sum(
            (self.layer_weights[k] * F.mse_loss(fn.gram(feats[k]), g) for k, g in self.gram_targets.items()), zero
        )
        tv = fn.tv_loss(image) if self.cfg.tv_weight else zero
        return content * self.content_weight, style * self.style_weight, tv * self.cfg.tv_weight

    def optimise(self, start: torch.Tensor, scale: int, scales: int, on_event):
        cfg = self.cfg
        pixels = (start.detach() * PIXEL_SCALE).contiguous().requires_grad_(True)  # L-BFGS needs flat grads
        if cfg.optimizer == "lbfgs":
            # max_iter=1: each step() is exactly one evaluation and one update, with the history kept
            # in the optimiser's state; negative tolerances so L-BFGS never stops a run early.
            opt = torch.optim.LBFGS(
                [pixels], lr=cfg.learning_rate, max_iter=1, history_size=cfg.lbfgs_history,
                tolerance_grad=-1, tolerance_change=-1,
            )  # fmt: skip
        else:
            opt = torch.optim.Adam([pixels], lr=cfg.learning_rate)
        last = (0.0, 0.0, 0.0)
        size = (pixels.shape[-1], pixels.shape[-2])

        def closure():
            nonlocal last
            opt.zero_grad(set_to_none=True)
            c, s, t = self.losses(pixels / PIXEL_SCALE)
            (c + s + t).backward()
            last = (c.item(), s.item(), t.item())
            return c + s + t

        if cfg.optimizer == "lbfgs":
            # torch's first L-BFGS step is t = lr / |g|_1, which moves pixels by a negligible amount
            # here; then y.s falls under torch's fixed 1e-10 threshold and the history never grows (the
            # run stalls). lr = numel makes the first step move the average pixel by one grey level
            # whatever the loss scale; later steps use the curvature estimate with the normal lr.
            opt.param_groups[0]["lr"] = float(pixels.numel())
        try:
            for i in range(1, cfg.iterations + 1):
                opt.step(closure)
                opt.param_groups[0]["lr"] = cfg.learning_rate
                if on_event is not None:
                    on_event(Step(scale, scales, size, i, cfg.iterations, *last, lambda: self._preview(pixels)))
        except KeyboardInterrupt:
            raise Interrupted(self._preview(pixels)) from None
        return pixels.detach() / PIXEL_SCALE, last, cfg.iterations

    def _preview(self, pixels: torch.Tensor) -> Image.Image:
        return self.owner._finish(pixels.detach() / PIXEL_SCALE, self.content_t)


def _as_image(value: ImageLike) -> Image.Image:
    return imageio.to_rgb(value) if isinstance(value, Image.Image) else imageio.load_image(value)


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    config: GatysConfig | None = None,
    *,
    device: torch.device | str | None = None,
    on_event: Callable[[Step], None] | None = None,
    **settings,
) -> Image.Image:
    """Stylise `content` with one or more `style` images; return the result as a PIL image.

    Settings are GatysConfig fields, given as a config or as keywords:
        stylize("photo.jpg", "wave.jpg", size=256, iterations=200, seed=0)
    """
    config = (config or GatysConfig()).with_(**settings)
    return GatysStylizer(config, device=device).run(content, style, on_event=on_event).image


__all__ = ["GatysStylizer", "Interrupted", "Result", "Step", "stylize", "LAYERS"]
