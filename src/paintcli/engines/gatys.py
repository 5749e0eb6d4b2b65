"""Gatys et al. style transfer: optimise the pixels of an image so its VGG19 features match the
content of one photo and the Gram statistics of one or more paintings.

A run goes coarse to fine over the config's schedule (automatic unless --scales or --iterations say
otherwise): each scale starts from the previous result upsampled, with the style images scaled with
it, so brush strokes keep their size relative to the picture and large structures are settled
where moving them is cheap. Each scale stops early once the loss no longer improves (--tol).

The engine never prints. It reports progress as a `Step` to an `on_event` callback every few
evaluations (every one on a CPU; every REPORT_EVERY on a GPU, where reading the losses costs a host
sync) and returns a `Result`; Ctrl-C raises `Interrupted`, which carries the image as it was.
    Gatys, Ecker, Bethge. "Image Style Transfer Using Convolutional Neural Networks." CVPR 2016.
    Gatys et al. "Preserving Color in Neural Artistic Style Transfer." arXiv:1606.05897 (2016).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from paintcli import backbones, device as devices, functional as fn, imageio
from paintcli.config import GatysConfig
from paintcli.engines.gatys_scale import CoarseLock, Objective, ScaleInterrupted, optimise
from paintcli.errors import PaintError
from paintcli.nets.vgg import LAYER_INDEX, LAYERS
from paintcli.progress import ProgressHook

ImageLike = Image.Image | str | os.PathLike[str]
REPORT_EVERY = {"cpu": 1}  # evaluations between progress events, by device type; others: DEFAULT_REPORT_EVERY
DEFAULT_REPORT_EVERY = 10


@dataclass(frozen=True)
class Step:
    """Progress: the state after `iteration` evaluations at one scale."""

    scale: int  # 1-based index into the schedule
    scales: int
    size: tuple[int, int]  # (width, height) at this scale
    iteration: int  # 1-based, within this scale
    iterations: int  # planned at this scale (it may stop earlier)
    content_loss: float
    style_loss: float
    tv_loss: float
    preview: Callable[[], Image.Image]  # the current image, post-processed like the final one
    progress: float = 0.0  # share of the whole run's planned work done (evaluations weighted by pixels)

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
    evaluations: tuple[int, ...] = ()  # used at each scale (fewer than planned when --tol stopped it)
    schedule: tuple[tuple[int, int], ...] = ()  # (longest side, planned evaluations) per scale


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
        # bf16 autocast for the VGG passes only where asked: on an H100 it was no faster than TF32 at
        # 512 px (benchmarks/stylize.py --quality measures both)
        self.bf16 = self.config.precision == "bf16" and self.device.type == "cuda"

    def with_config(self, config: GatysConfig) -> GatysStylizer:
        """The same loaded network with other settings (they must need no deeper layer)."""
        other = copy.copy(self)
        other.config = config.validate()
        other.bf16 = config.precision == "bf16" and self.device.type == "cuda"
        return other

    def describe_schedule(self) -> str:
        """'256→512, 250+100 evaluations' (or one scale's '512 px, 500 evaluations')."""
        sides = [side for side, _ in self.config.schedule]
        evals = "+".join(str(n) for _, n in self.config.schedule)
        return f"{'→'.join(map(str, sides))}{' px' if len(sides) == 1 else ''}, {evals} evaluations"

    # --- public ------------------------------------------------------------------------------------

    def run(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        *,
        on_event: Callable[[Step], None] | None = None,
        report_every: int | None = None,
        init: torch.Tensor | None = None,
        temporal: tuple[torch.Tensor, torch.Tensor, float] | None = None,
    ) -> Result:
        """Stylise `content`. `init` (1, 3, H, W) in [0, 1] replaces the starting image of the first
        scale; `temporal` (target, mask, weight) adds weight x mean(mask x (image - target)^2), on the
        0-255 scale, to the content loss at the last scale (Gatys on video)."""
        cfg = self.config
        content_img = _as_image(content)
        style_imgs = [_as_image(s) for s in ([styles] if isinstance(styles, (Image.Image, str, os.PathLike)) else styles)]
        if not style_imgs:
            raise ValueError("at least one style image is needed")
        blend = cfg.blend_weights(len(style_imgs))
        plan = [(imageio.fit_longest_side(content_img.size, side), evals) for side, evals in cfg.schedule]
        for size, _ in plan:
            imageio.check_work_size(size)
        generator = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
        if cfg.seed is not None:
            torch.manual_seed(cfg.seed)
        every = report_every or REPORT_EVERY.get(self.device.type, DEFAULT_REPORT_EVERY)
        work = _Work(plan)
        start = time.perf_counter()
        image, losses, used = None, (0.0, 0.0, 0.0), []
        photos: dict[tuple[int, int], torch.Tensor] = {}  # the photo at each scale's size, for the coarse losses' views
        settled = None  # the result of the last scale up to cfg.coarse_losses_above: where the large strokes are
        with devices.fast_math(self.device, autotune=False):
            for index, (size, evals) in enumerate(plan, start=1):
                photos[size] = content_t = fn.to_tensor(imageio.resize(content_img, size), self.device)
                if image is None and init is not None:
                    image = fn.resize_tensor(init.to(self.device), size)
                image = self._initial(image, content_t, style_imgs, size, generator)
                last = temporal if index == len(plan) and temporal is not None else None

                def report(i, scale_losses, current, index=index, size=size, evals=evals, content_t=content_t):
                    work.done(index, i)
                    if on_event is not None:
                        preview = lambda: self._finish(current(), content_t)  # noqa: E731
                        on_event(Step(index, len(plan), size, i, evals, *scale_losses, preview, work.progress))

                lock, coarse = self._coarse(plan, index, settled, photos)
                try:
                    objective = Objective(
                        self.net, cfg, content_t, style_imgs, blend, size, device=self.device, bf16=self.bf16,
                        temporal=last, coarse=coarse, lock=lock,
                    )  # fmt: skip
                    outcome = optimise(objective, image, evals, report_every=every, on_report=report)
                except ScaleInterrupted as stop:
                    raise Interrupted(self._finish(stop.image, content_t)) from None
                except torch.cuda.OutOfMemoryError:  # also raised as torch.OutOfMemoryError
                    raise self._out_of_memory(size, content_img.size) from None
                image, losses = outcome.image, outcome.losses
                if max(size) <= cfg.coarse_losses_above:
                    settled = image
                used.append(outcome.evaluations)
                work.stopped(index, outcome.evaluations)
        return Result(
            image=self._finish(image, content_t), iterations=sum(used), content_loss=losses[0], style_loss=losses[1],
            tv_loss=losses[2], seconds=time.perf_counter() - start, device=devices.describe(self.device),
            evaluations=tuple(used), schedule=tuple(cfg.schedule),
        )  # fmt: skip

    # --- helpers -----------------------------------------------------------------------------------

    def _coarse(self, plan, index: int, settled, photos) -> tuple[CoarseLock | None, list[torch.Tensor]]:
        """What keeps the large strokes at scale `index` (1-based), when coarse losses are on and the
        scale is above cfg.coarse_losses_above: a lock on the `settled` picture (the last result at
        or below that size), and shrunk views at the earlier scales' sizes above the settled one's."""
        size = plan[index - 1][0]
        if not self.config.coarse_losses or max(size) <= self.config.coarse_losses_above:
            return None, []
        lock = None if settled is None else CoarseLock(settled, size)
        floor = (0, 0) if settled is None else (settled.shape[-1], settled.shape[-2])
        sizes = dict.fromkeys(s for s, _ in plan[: index - 1] if floor[0] < s[0] < size[0] and floor[1] < s[1] < size[1])
        return lock, [photos[s] for s in sizes]

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

    def _out_of_memory(self, size: tuple[int, int], photo: tuple[int, int]) -> PaintError:
        """The one-line error for a GPU that ran out of memory: which size would fit."""
        torch.cuda.empty_cache()
        free, _ = torch.cuda.mem_get_info(self.device)
        fits = fitting_size(size, free, self.config.lbfgs_history)
        return PaintError(
            f"the GPU ran out of memory at {size[0]}x{size[1]} ({free / 2**30:.1f} GiB free)",
            f"use --size {fits} or less, or --device cpu" if fits >= 64 else "use --device cpu",
        )

    def _finish(self, image: torch.Tensor, content_t: torch.Tensor) -> Image.Image:
        image = image.detach().clamp(0, 1)
        if self.config.preserve_colors:
            image = fn.combine_luma_chroma(image, content_t)
        return fn.to_pil(image)


def fitting_size(size: tuple[int, int], free_bytes: int, history: int) -> int:
    """The longest side (a multiple of 16) that fits in `free_bytes`: VGG19 forward and backward up to
    relu5_1 with in-place ReLUs (about 2.4 KB per pixel, with headroom; a third more for the shrunk views
    of the coarse losses) plus L-BFGS's history (two 3-channel float vectors per pixel and pair)."""
    per_pixel = 3200 + 24 * history
    return int(max(size) * math.sqrt(free_bytes * 0.9 / (per_pixel * size[0] * size[1])) // 16 * 16)


class _Work:
    """How much of the run's planned work is done: evaluations weighted by their pixels, so the bar's
    ETA holds across scales; a scale that stops early gives up the rest of its share."""

    def __init__(self, plan):
        self.weights = [size[0] * size[1] for size, _ in plan]
        self.planned = [evals for _, evals in plan]
        self.finished = [0] * len(plan)

    def done(self, scale: int, evaluations: int) -> None:
        self.finished[scale - 1] = evaluations

    def stopped(self, scale: int, evaluations: int) -> None:
        self.planned[scale - 1] = evaluations

    @property
    def progress(self) -> float:
        total = sum(w * n for w, n in zip(self.weights, self.planned, strict=True))
        return sum(w * n for w, n in zip(self.weights, self.finished, strict=True)) / total


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


__all__ = ["GatysStylizer", "Interrupted", "Result", "Step", "stylize", "LAYERS", "LAYER_INDEX"]
