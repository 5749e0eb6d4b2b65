"""Steadiness from frame to frame: the previous output follows the motion of the input.

A one-pass network answers small changes between frames with different brush strokes, so a clip
painted frame by frame flickers. Here each new frame's painting is blended with the previous output
warped to the new frame along the optical flow between the *input* frames (OpenCV's DIS flow), except
where the flow cannot be trusted: pixels that are occluded or disoccluded (the forward and backward
flows disagree: Sundaram, Brox and Keutzer 2010, as Ruder, Dosovitskiy and Brox 2016 use it) and
pixels whose source lies outside the frame. Following the motion keeps strokes on the objects they
paint instead of ghosting, as a plain average of outputs would.

Before a frame is painted, its content is also moved onto the network's pixel grid where the first
frame's was (`GridLock`): a network that downsamples by 4 paints a scene shifted by 1-3 pixels or a
fraction of one with different strokes, so a hand-held camera alone makes a clip flicker. The frame is
shifted by the camera's drift (the median of the flow) modulo the network's stride, painted, and
shifted back. On the first 120 frames of the armwrestling clip (340x256, style 19) this alone took
the warping error of the painted frames from 0.0995 to 0.0784 (21% lower) for a style change of 0.015,
where blending alone reaches that error only at a style change near 0.06 (docs/video.md).

`warping_error` is the steadiness measure of the benchmark and the tests: the masked mean absolute
difference between each output frame and the previous one warped to it, with flow from a different
method (Farneback) than the one used for blending, so that the measure does not grade itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


class Flow:
    """Dense optical flow between two RGB frames: `flow(a, b)[y, x]` is where pixel (x, y) of `a` is in `b`."""

    def __init__(self, method: str = "dis"):
        import cv2

        self.method = method
        # DIS's "fast" preset: on the armwrestling clip at 340x256 (2 cores) 2.0 ms a flow against
        # "medium"'s 7.3, for a warping error of 0.0415 against 0.0399 at --temporal 0.7 (100 frames).
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST) if method == "dis" else None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import cv2

        ga, gb = _gray(a), _gray(b)
        if self.dis is not None:
            return self.dis.calc(ga, gb, None)
        return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 4, 21, 5, 7, 1.5, 0)


def warp(image: torch.Tensor, flow: np.ndarray, mode: str = "bilinear") -> torch.Tensor:
    """`image` (N, C, H, W) sampled at each pixel plus `flow` (H, W, 2): the picture moved along the flow."""
    h, w = flow.shape[:2]
    f = torch.from_numpy(flow).to(image.device, image.dtype)
    xs, ys = _pixel_grid(h, w, image.device, image.dtype)
    grid = torch.stack([(xs + f[..., 0]) / max(w - 1, 1) * 2 - 1, (ys + f[..., 1]) / max(h - 1, 1) * 2 - 1], dim=-1)
    return F.grid_sample(image, grid[None].expand(image.shape[0], -1, -1, -1), mode=mode, padding_mode="border", align_corners=True)


def _opencv_can_take(x: torch.Tensor) -> bool:
    """Whether OpenCV can work on `x` in place of torch: one float32 picture in main memory, no gradient."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and x.shape[0] == 1 and not x.requires_grad


def _hwc(x: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) -> (H, W, C) array, without a copy when `x` is channels-last already."""
    return x[0].permute(1, 2, 0).contiguous().numpy()


def _from_hwc(a: np.ndarray, channels: int) -> torch.Tensor:
    """OpenCV's (H, W, C) result (it drops a last axis of 1) as a channels-last (1, C, H, W) tensor."""
    return torch.from_numpy(a.reshape(a.shape[0], a.shape[1], channels)).permute(2, 0, 1)[None]


def _targets(flow: np.ndarray) -> np.ndarray:
    """Where each pixel's `flow` (H, W, 2) lands: the (x, y) map OpenCV's remap samples at."""
    return _pixel_points(*flow.shape[:2]) + flow


@lru_cache(maxsize=8)
def _pixel_points(h: int, w: int) -> np.ndarray:
    """Each pixel's (x, y), as an (H, W, 2) float32 array: made once per frame size. Not to be changed."""
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.dstack([xs, ys])


@lru_cache(maxsize=8)
def _pixel_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Each pixel's x and y, as (H, W) tensors: made once per frame size, not once per warp."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij")
    return xs, ys


def shift(image: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """`image` (N, C, H, W) with its content moved by (-dx, -dy) pixels: each pixel sampled at (x + dx, y + dy)
    with a Lanczos kernel (a = 4, as OpenCV's INTER_LANCZOS4; edges repeated). The grid lock moves every
    painted frame back by a fraction of a pixel, and a softer kernel shows as softer strokes: with Keys'
    bicubic the lock alone cost the armwrestling clip a style change of 0.017, with this one 0.006
    (docs/video.md). One move for the whole picture is separable, so two passes of eight taps do it. On
    the CPU OpenCV's separable filter makes both passes over the picture's pixels in place (0.3-0.6 ms
    at 340x256 on one core, several times faster than torch's passes on channels-last tensors)."""
    if dx == 0 and dy == 0:
        return image
    if _opencv_can_take(image):
        import cv2

        kernels = _lanczos_kernel(dx), _lanczos_kernel(dy)
        return _from_hwc(cv2.sepFilter2D(_hwc(image), -1, *kernels, borderType=cv2.BORDER_REPLICATE), image.shape[1])
    return _shift_along(_shift_along(image, dx, -1), dy, -2)


LANCZOS_A = 4  # lobes each side
LANCZOS_OFFSETS = range(1 - LANCZOS_A, LANCZOS_A + 1)  # the taps' pixels from floor(d): -3 .. 4


def _lanczos_kernel(d: float) -> np.ndarray:
    """`_lanczos_taps` for a move by `d` as a centred correlation kernel: the taps sit at offsets
    floor(d) - 3 .. floor(d) + 4 from its middle."""
    whole = math.floor(d)
    middle = abs(whole) + LANCZOS_A
    kernel = np.zeros(2 * middle + 1, np.float32)
    for k, weight in zip(LANCZOS_OFFSETS, _lanczos_taps(d - whole)):
        kernel[middle + whole + k] = weight
    return kernel


def _shift_along(image: torch.Tensor, d: float, dim: int) -> torch.Tensor:
    whole = math.floor(d)
    f = d - whole
    if f == 0 and whole == 0:
        return image
    margin = abs(whole) + LANCZOS_A
    padded = F.pad(image, (margin, margin, 0, 0) if dim == -1 else (0, 0, margin, margin), mode="replicate")
    size = image.shape[dim]
    out = None
    for k, weight in zip(LANCZOS_OFFSETS, _lanczos_taps(f)):
        if weight:
            term = weight * padded.narrow(dim, margin + whole + k, size)
            out = term if out is None else out.add_(term)
    return out


def _lanczos_taps(f: float) -> tuple[float, ...]:
    """Lanczos weights for a point `f` (0-1) past a pixel, for the pixels at offsets -3 .. 4 from it,
    normalised to sum to 1 (so a flat picture stays flat); f = 0 is the pixel itself."""

    def weight(t: float) -> float:
        if t == 0:
            return 1.0
        if abs(t) >= LANCZOS_A:
            return 0.0
        return LANCZOS_A * math.sin(math.pi * t) * math.sin(math.pi * t / LANCZOS_A) / (math.pi * t) ** 2

    weights = [weight(f - k) for k in LANCZOS_OFFSETS]
    total = sum(weights)
    return tuple(w / total for w in weights)


@dataclass(frozen=True)
class GridLock:
    """Where a frame's content goes so it meets the network's pixel grid as the first frame's did.

    `drift` is the scene's position in the frame (x, y) relative to the first frame; only its value
    modulo `period` (the network's stride) matters. `into` moves the content back by the drift's
    fraction of a pixel and pads by the whole pixels that remain; `back` undoes both on the painting.
    The padded size is the same for every frame (`period` pixels wider and higher), so the network's
    own padding does not move; `period` 1 locks only the fraction of a pixel and pads nothing."""

    drift: tuple[float, float]
    period: int

    @property
    def pad(self) -> tuple[int, int]:
        return tuple((-int(np.floor(d))) % self.period for d in self.drift)  # type: ignore[return-value]

    @property
    def fraction(self) -> tuple[float, float]:
        return tuple(float(d - np.floor(d)) for d in self.drift)  # type: ignore[return-value]

    def into(self, x: torch.Tensor) -> torch.Tensor:
        (px, py), (fx, fy) = self.pad, self.fraction
        if fx or fy:
            x = shift(x, fx, fy).clamp_(0, 1)
        if self.period == 1:  # only the fraction of a pixel is locked
            return x
        mode = "reflect" if min(x.shape[-2:]) > self.period else "replicate"  # reflection needs a wider frame
        return F.pad(x, (px, self.period - px, py, self.period - py), mode=mode)

    def back(self, y: torch.Tensor) -> torch.Tensor:
        (px, py), (fx, fy) = self.pad, self.fraction
        if self.period > 1:
            y = y[..., py : y.shape[-2] - (self.period - py), px : y.shape[-1] - (self.period - px)]
        return shift(y, -fx, -fy).clamp_(0, 1) if fx or fy else y

    def scaled(self, factor: float) -> GridLock:
        """The same lock for the frame painted `factor` times its size (--work-size)."""
        return GridLock((self.drift[0] * factor, self.drift[1] * factor), self.period)


def trusted(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) float mask, 1 where the backward flow (current -> previous) can be followed: its target
    is inside the frame and the forward flow brings it back (forward-backward consistency). With
    OpenCV on the flows' separate planes: 0.8 ms at 340x256 where torch's grid sampling took 3."""
    import cv2

    h, w = backward.shape[:2]
    targets = _targets(backward)
    fx, fy = cv2.split(cv2.remap(forward, targets, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))  # forward flow there
    bx, by = cv2.split(backward)
    sx, sy = bx + fx, by + fy
    round_trip = sx * sx + sy * sy
    magnitude = bx * bx + by * by + fx * fx + fy * fy
    consistent = round_trip <= 0.01 * magnitude + 0.5
    inside = cv2.inRange(targets, (0.0, 0.0), (w - 1.0, h - 1.0)) > 0
    return (consistent & inside).astype(np.float32)


@dataclass(frozen=True)
class Motion:
    """How the scene moved from the previous input frame to the current one."""

    backward: np.ndarray  # (H, W, 2) flow from the current frame to the previous one
    trusted: np.ndarray  # (H, W) float mask: 1 where the backward flow can be followed (see `trusted`)

    def warp(self, image: torch.Tensor) -> torch.Tensor:
        """`image` (1, C, H, W) of the previous frame moved onto the current one, kept in [0, 1].

        The previous output has been moved frame after frame, so the sampling kernel's blur adds up:
        bilinear sampling softened the strokes of a clip painted at --temporal 0.7 to a style change of
        0.31 (docs/video.md; a single half-pixel bilinear move of a painting costs 0.31 by itself,
        Lanczos's 0.01). On the CPU, OpenCV's Lanczos remap (8x8 taps; 5-6 ms at 340x256 on one core,
        against 1.0 for cubic and 0.3 for bilinear), elsewhere torch's bicubic grid sampling."""
        if not _opencv_can_take(image):
            return warp(image, self.backward, mode="bicubic").clamp_(0, 1)
        import cv2

        moved = cv2.remap(_hwc(image), _targets(self.backward), None, cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)
        return _from_hwc(np.clip(moved, 0, 1, out=moved), image.shape[1])


class Steadier:
    """Blends each painted frame with the previous output warped along the input's motion.

    `strength` 0 leaves every frame as painted; 1 keeps the warped previous output wherever it can
    be trusted (a new stroke appears only where the previous frame gives none). The input side
    (`follow`, `lock`) depends on the input frames alone, so a frame can be measured and locked
    before the previous one is painted; the output side (`blend`) takes the paintings in order."""

    def __init__(self, strength: float, flow: Flow | None = None):
        self.strength, self.flow = strength, flow or Flow()
        self.last_frame: np.ndarray | None = None  # the previous input frame
        self.last_output: torch.Tensor | None = None  # the previous output
        self.drift = (0.0, 0.0)  # the scene's position against the first frame's, in pixels (x, y)

    def __call__(self, frame: np.ndarray, painted: torch.Tensor) -> torch.Tensor:
        """`frame` (H, W, 3) uint8 input at the output's size; `painted` its (1, 3, H, W) painting."""
        return self.blend(painted, self.follow(frame))

    def follow(self, frame: np.ndarray) -> Motion | None:
        """The motion from the previous input frame to `frame`, which becomes the previous one; None
        for the first frame and when steadiness is off. Adds the camera's move to the drift."""
        if self.strength <= 0:
            return None
        last, self.last_frame = self.last_frame, frame
        if last is None:
            return None
        backward, forward = self.flow(frame, last), self.flow(last, frame)
        motion = Motion(backward, trusted(backward, forward))
        camera = _camera_motion(backward, motion.trusted)
        if camera is not None:  # the scene moved by minus the backward flow
            self.drift = (self.drift[0] - camera[0], self.drift[1] - camera[1])
        return motion

    def lock(self, period: int) -> GridLock | None:
        """The grid lock for the frame just followed (None when steadiness is off)."""
        return None if self.strength <= 0 else GridLock(self.drift, period)

    def warped(self, motion: Motion) -> torch.Tensor:
        """The previous output moved along `motion` onto the current frame."""
        return motion.warp(self.last_output)

    def blend(self, painted: torch.Tensor, motion: Motion | None) -> torch.Tensor:
        """`painted` with the previous output, warped along `motion`, blended in where it can be trusted."""
        out = painted
        if motion is not None:  # a followed frame: the one before it has been blended or remembered
            trust = torch.from_numpy(motion.trusted).to(painted.device)[None, None]
            out = torch.lerp(painted, self.warped(motion), self.strength * trust)  # painted + s * trust * (warped - painted)
        self.last_output = out
        return out

    def remember(self, out: torch.Tensor) -> None:
        """`out` is the output for the frame just followed (a painter that blends by itself: Gatys)."""
        self.last_output = out


def _camera_motion(backward: np.ndarray, mask: np.ndarray) -> tuple[float, float] | None:
    """The median of the trusted backward flow (every 4th pixel each way: the same median, 16 times
    less sorting), or None when too little of the frame can be followed (a cut)."""
    flow, keep = backward[::4, ::4], mask[::4, ::4] > 0
    if keep.mean() < 0.1:
        return None
    dx, dy = np.median(flow[keep], axis=0)
    return float(dx), float(dy)


def warping_error(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], method: str = "farneback") -> float:
    """Mean over consecutive frames of the masked mean absolute difference (0..1) between output t+1
    and output t warped to it by the flow between input t+1 and input t."""
    flow, errors = Flow(method), []
    for (a_in, b_in), (a_out, b_out) in zip(zip(inputs, inputs[1:]), zip(outputs, outputs[1:])):
        backward, forward = flow(b_in, a_in), flow(a_in, b_in)
        mask = torch.from_numpy(trusted(backward, forward))
        previous = torch.from_numpy(np.array(a_out)).permute(2, 0, 1)[None].float() / 255
        current = torch.from_numpy(np.array(b_out)).permute(2, 0, 1)[None].float() / 255
        diff = (current - warp(previous, backward)).abs().mean(1)[0]
        errors.append(float((diff * mask).sum() / mask.sum().clamp_min(1)))
    return float(np.mean(errors)) if errors else 0.0
