"""One scale of a Gatys run: the objective (fixed targets, content, style and total-variation losses)
and the optimisation loop, which keeps everything on the device between progress reports.

Each evaluation is one forward-backward pass of VGG19 with gradients only to the image. The losses
stay on the device; they are read (one host sync) every `report_every` evaluations: then the
progress event goes out and the stopping rule looks at the loss `window` evaluations back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from paintcli import functional as fn, imageio
from paintcli.config import TOLERANCE_WINDOW, GatysConfig
from paintcli.engines.lbfgs import LBFGS

# The optimised variable holds pixels on a 0-255 scale, as in neural-style. On a 0-1 scale the
# gradients are 255 times larger and L-BFGS's curvature scale (s.y / y.y) underflows float32, which
# stalls the run after a few steps.
PIXEL_SCALE = 255.0
# Total variation is a sum over pixels while the content and style losses are means, so a fixed weight
# would smooth a 2048 px picture 16 times as hard as a 512 px one. It is taken per pixel, relative to the
# default output (512 x 384), so --tv-weight means the same at every size and scale.
TV_REFERENCE_PIXELS = 512 * 384


class Objective:
    """The loss at one scale: content features and style Gram matrices computed once, then
    `losses(image)` -> (content, style, total variation), weighted.

    `coarse` lists the photo at the earlier scales' sizes ((1, 3, h, w) tensors). The content and
    style losses are then also taken on the image shrunk to each of those sizes, each view counting
    as much as the full one: at a fine scale the full-size losses alone see strokes of the fine
    scale's size and would trade the large strokes painted at the coarse scales for the photo's
    detail; the views keep the picture painted as seen at every earlier size.

    `lock` (a CoarseLock) holds the picture shrunk to a coarser scale's size at that scale's result:
    `image(free)` is the picture the optimised pixels stand for, and a penalty keeps it in 0-255.
    """

    def __init__(
        self, net: torch.nn.Module, cfg: GatysConfig, content_t, style_imgs, blend, size, *, device, bf16: bool,
        temporal=None, coarse: Sequence[torch.Tensor] = (), lock: CoarseLock | None = None,
    ):  # fmt: skip
        self.net, self.cfg, self.device = net, cfg, device
        self.lock = lock
        self.temporal = None
        if temporal is not None:  # (target, mask, weight) at this scale's size
            target, mask, weight = temporal
            self.temporal = (fn.resize_tensor(target, size), fn.resize_tensor(mask, size), weight)
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else nullcontext
        self.layers = tuple(dict.fromkeys(cfg.content_layers + cfg.style_layers))
        self.views = [self._view(content_t, style_imgs, blend, shrunk=False)]
        self.views += [self._view(photo, style_imgs, blend, shrunk=True) for photo in coarse]
        self.content_weight, self.style_weight = cfg.weights
        self.layer_weights = dict(zip(cfg.style_layers, cfg.layer_weights(), strict=True))

    @torch.no_grad()
    def _view(self, content_t, style_imgs, blend, *, shrunk: bool) -> _View:
        """The fixed targets for the image as seen at the photo `content_t`'s size; `shrunk`: the image
        is shrunk to that size first (a coarse view), else it is seen as it is."""
        if self.cfg.preserve_colors:  # luminance-only transfer: work on gray images, re-colour at the end
            content_t = fn.luminance(content_t)
        size = (content_t.shape[-1], content_t.shape[-2])
        content = {k: v.detach() for k, v in self._features(content_t, self.cfg.content_layers).items()}
        return _View(size if shrunk else None, content, self._style_grams(style_imgs, blend, size, content_t))

    def _features(self, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        """VGG features in float32 (the Gram matrices and losses are computed in float32 even when
        the network runs in bf16: bf16 has float32's range, but not its precision)."""
        if self.device.type == "cuda":
            image = image.contiguous(memory_format=torch.channels_last)
        with self.autocast():
            feats = self.net(image, layers)
        return {k: v.float() for k, v in feats.items()}

    def _style_grams(self, style_imgs, blend, size, content_t) -> dict[str, torch.Tensor]:
        longest = max(1, round(max(size) * self.cfg.style_scale))
        grams: dict[str, torch.Tensor] = {}
        for img, weight in zip(style_imgs, blend, strict=True):
            style = imageio.resize_longest(img, longest, what="a style image", option="--size or --style-scale")
            style_t = fn.to_tensor(style, self.device)
            if self.cfg.preserve_colors:
                style_t = fn.match_luminance(style_t, content_t)
            for layer, f in self._features(style_t, self.cfg.style_layers).items():
                g = fn.gram(f) * weight
                grams[layer] = grams[layer] + g if layer in grams else g
        return grams

    def image(self, free: torch.Tensor) -> torch.Tensor:
        """The picture that the optimised pixels (0-255) stand for, in [0, 1]."""
        image = free / PIXEL_SCALE
        return image if self.lock is None else self.lock(image)

    def losses(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        zero = image.new_zeros(())
        content, style = zero, zero
        for view in self.views:
            seen = image if view.shrink_to is None else fn.shrink_tensor(image, view.shrink_to)
            feats = self._features(seen, self.layers)
            content = content + sum((F.mse_loss(feats[k], t) for k, t in view.content.items()), zero)
            style = style + sum((self.layer_weights[k] * F.mse_loss(fn.gram(feats[k]), g) for k, g in view.grams.items()), zero)
        tv = fn.tv_loss(image) * (TV_REFERENCE_PIXELS / image[0, 0].numel()) if self.cfg.tv_weight else zero
        tv = tv * self.cfg.tv_weight
        if self.lock is not None:  # the lock frees only fine detail, which the style loss would push past
            # black and white; a regulariser like TV, so reported with it (--json's tv_loss)
            tv = tv + LOCK_RANGE_WEIGHT * self.lock.overshoot(image)
        content = content * self.content_weight
        if self.temporal is not None:  # Ruder et al.'s temporal term, counted with the content loss
            target, mask, weight = self.temporal
            content = content + weight * (mask * ((image - target) * PIXEL_SCALE) ** 2).mean()
        return content, style * self.style_weight, tv


# How much a locked scale pays per squared grey level outside 0-255 (CoarseLock.overshoot): without it
# the fine detail swings far past black and white (up to -0.8 and 1.8 after 100 evaluations at 256 px),
# and clamping it away at the end shifts the settled strokes and softens the picture.
LOCK_RANGE_WEIGHT = 1e6


class CoarseLock:
    """Holds a picture's large strokes where a coarser scale settled them: `lock(free)` is `free`
    corrected so that, shrunk to `settled`'s size the way paint shrinks pictures (Lanczos, one matrix
    D per axis), it is exactly `settled`. image = free + U (settled - D free), U the pseudo-inverse of
    D: the optimiser then moves only what the shrink does not see, detail finer than the settled
    picture's pixels. Soft losses on shrunk views instead trade the large strokes against the
    full-size losses and lose some of them (see docs/stylize.md)."""

    def __init__(self, settled: torch.Tensor, size: tuple[int, int]):
        self.settled = settled.detach().clamp(0, 1)  # as that scale's picture was saved
        (h, w), (width, height) = settled.shape[-2:], size
        self.down_y, self.up_y = _shrink_and_inverse(height, h, settled)
        self.down_x, self.up_x = _shrink_and_inverse(width, w, settled)

    def __call__(self, free: torch.Tensor) -> torch.Tensor:
        shrunk = self.down_y @ free @ self.down_x.T
        return free + self.up_y @ (self.settled - shrunk) @ self.up_x.T

    def overshoot(self, image: torch.Tensor) -> torch.Tensor:
        """Mean squared grey levels outside 0-255 of the picture and of its first shrinking pass:
        Pillow shrinks 8-bit pictures across, clips to 0-255, then down, so detail that overshoots in
        between would shift the shrunk picture off the settled one (at 128 px the style distance
        measured 1.06x the settled picture's without this term, 1.00x with it)."""
        across = image @ self.down_x.T
        return sum(((t - t.clamp(0, 1)) * PIXEL_SCALE).pow(2).mean() for t in (image, across))


def _shrink_and_inverse(n_in: int, n_out: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    down = fn.lanczos_matrix(n_in, n_out)
    up = down.T @ torch.linalg.inv(down @ down.T)  # the least-change correction that D maps onto the target
    return down.to(like), up.to(like)


@dataclass(frozen=True)
class _View:
    """The image at one size, with the content features and style Gram matrices it should have."""

    shrink_to: tuple[int, int] | None  # (width, height); None: the image as it is
    content: dict[str, torch.Tensor]
    grams: dict[str, torch.Tensor]


class ScaleInterrupted(KeyboardInterrupt):
    """Ctrl-C during a scale; `image` is the pixels so far, (1, 3, H, W) in [0, 1]."""

    def __init__(self, image: torch.Tensor):
        super().__init__("interrupted")
        self.image = image


@dataclass
class ScaleOutcome:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1]
    losses: tuple[float, float, float]
    evaluations: int


def optimise(
    objective: Objective,
    start: torch.Tensor,
    evaluations: int,
    *,
    report_every: int,
    on_report: Callable[[int, tuple[float, float, float], Callable[[], torch.Tensor]], None],
) -> ScaleOutcome:
    """Optimise the pixels from `start` for up to `evaluations` evaluations; stop early when the loss
    fell less than cfg.tol (a share of it) over the last TOLERANCE_WINDOW evaluations.

    `on_report(evaluation, losses, current_image)` is called every `report_every` evaluations and at
    the last. Ctrl-C raises ScaleInterrupted with the pixels so far.
    """
    pixels = (start.detach() * PIXEL_SCALE).contiguous().requires_grad_(True)
    current = lambda: objective.image(pixels.detach())  # noqa: E731
    try:
        return _loop(objective, pixels, evaluations, report_every, on_report, current)
    except KeyboardInterrupt:
        raise ScaleInterrupted(current()) from None


def _loop(objective, pixels, evaluations, report_every, on_report, current) -> ScaleOutcome:
    cfg = objective.cfg
    if cfg.optimizer == "lbfgs":
        # torch's first L-BFGS step is t = lr / |g|_1, which moves pixels by a negligible amount here; then
        # y.s falls under the 1e-10 threshold and the history never grows (the run stalls). numel as the
        # first step moves the average pixel by one grey level whatever the loss scale.
        history = min(cfg.lbfgs_history, evaluations)
        lbfgs = LBFGS(pixels.data, history=history, lr=cfg.learning_rate, first_step=float(pixels.numel()))
        advance = lambda: lbfgs.step(pixels.grad)  # noqa: E731
    else:
        adam = torch.optim.Adam([pixels], lr=cfg.learning_rate)
        advance = adam.step
    totals = torch.zeros(evaluations, device=pixels.device)
    last = (0.0, 0.0, 0.0)
    for i in range(1, evaluations + 1):
        pixels.grad = None
        c, s, t = objective.losses(objective.image(pixels))
        total = c + s + t
        total.backward()
        totals[i - 1] = total.detach()
        advance()
        if i % report_every == 0 or i == evaluations:
            last = tuple(float(v) for v in torch.stack([c.detach(), s.detach(), t.detach()]).tolist())
            on_report(i, last, current)
            if _converged(totals, i, cfg.tol):
                return ScaleOutcome(current(), last, i)
    return ScaleOutcome(current(), last, evaluations)


def _converged(totals: torch.Tensor, done: int, tol: float) -> bool:
    """The loss fell less than `tol` of itself over the last TOLERANCE_WINDOW evaluations."""
    if tol <= 0 or done <= TOLERANCE_WINDOW:
        return False
    before, now = totals[[done - 1 - TOLERANCE_WINDOW, done - 1]].tolist()
    return math.isfinite(before) and before > 0 and (before - now) < tol * before
