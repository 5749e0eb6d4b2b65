"""Settings of the picture engines (Gatys, translation, one-pass networks, AdaIN, Deep Dream) as frozen
dataclasses: the one place where their defaults are written, and the option parsers they share.

The CLI reads its defaults from these fields, so the command line and the Python API cannot drift.
Training settings live with the recipes, in training/settings.py. Cheap to import (no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from paintcli.errors import UsageError
from paintcli.registry import BACKBONES

# neural-style (Johnson) / neural-style-pt defaults, tuned for the original Caffe VGG19 weights.
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DEFAULT_CONTENT_LAYERS = ("relu4_2",)
# torchvision's retrained VGG19 sees ImageNet-normalised input, so its activations are about 1/58 of
# the Caffe network's; Gram losses scale with the 4th power of that, content losses with the 2nd.
# These are the weights PyTorch's own neural-style tutorial uses with that network.
LOSS_WEIGHTS = {"vgg19": (5.0, 100.0), "vgg19-torchvision": (1.0, 1e6)}
Optimizer = Literal["lbfgs", "adam"]
DEFAULT_LR = {"lbfgs": 1.0, "adam": 2.0}
# The automatic coarse-to-fine schedule: halve --size down to no less than COARSEST for the first
# scale, spend most evaluations there and fewer at each finer scale (each starts from the previous
# result upsampled, so large structures are settled where they are cheap to move).
COARSEST = 192
FIRST_EVALUATIONS, LATER_EVALUATIONS, SINGLE_EVALUATIONS = 250, (100, 50, 30), 300
ITERATIONS_PER_SCALE = 500  # with --scales but no --iterations (the classic neural-style default)
TOLERANCE, TOLERANCE_WINDOW = 1e-3, 20  # stop a scale when the loss fell less than this share over the window
# Coarse losses only above 512 px: up to there VGG19's deepest style layer (relu5_1, a receptive field
# of 156 px) spans a third of the picture and keeps the large strokes by itself (measured at 512 px:
# style distance 0.0117 with views, 0.0121 without, for a third more time per evaluation). Above it
# the picture shrunk to the last scale up to 512 px is locked to that scale's result (docs/stylize.md).
COARSE_LOSSES_ABOVE = 512
PRECISIONS = ("auto", "fp32", "bf16")


def auto_schedule(size: int) -> tuple[tuple[int, int], ...]:
    """(longest side, evaluations) for each scale, chosen from the output size alone."""
    sides = [size]
    while sides[0] / 2 >= COARSEST:
        sides.insert(0, round(sides[0] / 2))
    if len(sides) == 1:
        return ((size, SINGLE_EVALUATIONS),)
    later = [LATER_EVALUATIONS[min(i, len(LATER_EVALUATIONS) - 1)] for i in range(len(sides) - 1)]
    return tuple(zip(sides, [FIRST_EVALUATIONS, *later], strict=True))


@dataclass(frozen=True)
class GatysConfig:
    """Gatys et al. optimisation-based style transfer."""

    size: int = 512  # longest side of the output, in pixels
    scales: tuple[int, ...] = ()  # coarse-to-fine longest sides, e.g. (256, 512); the last is the output size
    iterations: int | None = None  # evaluations per scale; None with no scales: the automatic schedule
    tol: float = TOLERANCE  # stop a scale when the loss falls less than this share over 20 evaluations; 0: never
    coarse_losses: bool = True  # at finer scales: lock the large strokes settled up to coarse_losses_above, views between
    coarse_losses_above: int = COARSE_LOSSES_ABOVE  # ... at scales whose longest side is above this
    content_weight: float | None = None  # None: the backbone's default (LOSS_WEIGHTS)
    style_weight: float | None = None
    tv_weight: float = 1e-3  # on the 0-255 image, as neural-style
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] = ()  # empty: equal weights
    optimizer: Optimizer = "lbfgs"
    lr: float | None = None  # None: 1.0 for L-BFGS, 2.0 for Adam (pixels on a 0-255 scale)
    lbfgs_history: int = 100
    init: str = "content"  # content | noise | style | a path to an image
    seed: int | None = None
    style_scale: float = 1.0  # style images are resized to size * style_scale (longest side)
    style_blend: tuple[float, ...] = ()  # one weight per style image; empty: equal
    preserve_colors: bool = False
    backbone: str = "vgg19"
    precision: str = "auto"  # auto: float32 (TF32 on CUDA); bf16: autocast the VGG passes on CUDA

    # --- derived values -------------------------------------------------------------------------------

    @property
    def schedule(self) -> tuple[tuple[int, int], ...]:
        """(longest side, evaluations) per scale: --scales and --iterations as given, else automatic."""
        if self.scales:
            return tuple((s, self.iterations or ITERATIONS_PER_SCALE) for s in self.scales)
        if self.iterations is not None:
            return ((self.size, self.iterations),)
        return auto_schedule(self.size)

    @property
    def work_scales(self) -> tuple[int, ...]:
        return tuple(side for side, _ in self.schedule)

    @property
    def weights(self) -> tuple[float, float]:
        """(content_weight, style_weight) with backbone defaults filled in."""
        content, style = LOSS_WEIGHTS[self.backbone]
        return (
            content if self.content_weight is None else self.content_weight,
            style if self.style_weight is None else self.style_weight,
        )

    @property
    def learning_rate(self) -> float:
        return DEFAULT_LR[self.optimizer] if self.lr is None else self.lr

    def layer_weights(self) -> tuple[float, ...]:
        return self.style_layer_weights or (1.0,) * len(self.style_layers)

    def blend_weights(self, n_styles: int) -> tuple[float, ...]:
        """Per-style weights normalised to sum to 1."""
        return blend_weights(self.style_blend, n_styles)

    def with_(self, **changes) -> GatysConfig:
        return replace(self, **changes)

    # --- validation ------------------------------------------------------------------------------------

    def validate(self) -> GatysConfig:
        """Raise a UsageError for the first setting that cannot work; return self otherwise."""
        from paintcli.nets.vgg import check_layers  # torch-free at config import time

        if self.backbone not in BACKBONES:
            raise UsageError(f"unknown backbone {self.backbone!r}", f"use one of: {', '.join(BACKBONES)}")
        for name in ("content_weight", "style_weight", "tv_weight", "lr", "style_scale"):
            non_negative(name, getattr(self, name))
        for name in ("style_layer_weights", "style_blend"):
            for value in getattr(self, name):
                non_negative(name, value)
        if self.style_blend and sum(self.style_blend) <= 0:
            raise UsageError("--style-blend weights sum to zero", "give at least one positive weight")
        if self.style_scale == 0:
            raise UsageError("--style-scale must be above 0", "use e.g. 0.5 for larger style features, 2 for smaller")
        if self.iterations is not None and self.iterations < 1:
            raise UsageError(f"--iterations must be at least 1, got {self.iterations}", "use e.g. 500")
        if self.tol < 0 or math.isnan(self.tol):
            raise UsageError(f"--tol must not be negative, got {self.tol}", "use e.g. 0.001, or 0 to run every evaluation")
        if self.coarse_losses_above < 0:
            raise UsageError(f"coarse_losses_above must not be negative, got {self.coarse_losses_above}", "use e.g. 512, or 0 for every finer scale")
        check_precision(self.precision)
        if self.size < 1 or any(s < 1 for s in self.scales):
            raise UsageError("--size and --scales must be positive pixel counts", "use e.g. --size 512")
        if not self.content_layers and not self.style_layers:
            raise UsageError("no content or style layers chosen", "give --content-layers or --style-layers")
        check_layers(self.content_layers + self.style_layers)
        if self.style_layer_weights and len(self.style_layer_weights) != len(self.style_layers):
            raise UsageError(
                f"{len(self.style_layer_weights)} style layer weights for {len(self.style_layers)} style layers",
                "give one weight per layer, or decay:0.5",
            )
        if self.optimizer not in DEFAULT_LR:
            raise UsageError(f"unknown optimizer {self.optimizer!r}", "use lbfgs or adam")
        return self


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise UsageError(f"unknown --precision {precision!r}", f"use one of: {', '.join(PRECISIONS)}")


def non_negative(name: str, value: float | None) -> None:
    if value is not None and (value < 0 or math.isnan(value)):
        flag = "--" + name.replace("_", "-")
        raise UsageError(f"{flag} must not be negative, got {value}", f"use 0 to switch a term off, or a positive {flag}")


@dataclass(frozen=True)
class TranslateConfig:
    size: int | None = None  # longest side before translation; None: full resolution
    tile: int | None = None  # tile side in pixels; None: tile only when the image would not fit
    tile_overlap: int = 64
    eval_mode: bool = False  # running batch-norm statistics and no dropout
    seed: int | None = None  # makes dropout repeatable
    direction: str | None = None  # AtoB | BtoA: the input is an AB image; take that half
    precision: str = "auto"  # as OnePassConfig's: bf16 on a CPU with native bf16, else float32

    def validate(self) -> TranslateConfig:
        check_precision(self.precision)
        if self.size is not None and self.size < 1:
            raise UsageError("--size must be positive", "use e.g. --size 512")
        if self.tile is not None and self.tile < 16:
            raise UsageError(f"--tile {self.tile} is too small", "use 256 or more")
        if self.tile_overlap < 0 or (self.tile is not None and self.tile_overlap * 2 >= self.tile):
            raise UsageError("--tile-overlap must be at least 0 and less than half of --tile", "use e.g. --tile 512 --tile-overlap 32")
        if self.direction not in (None, "AtoB", "BtoA"):
            raise UsageError(f"unknown direction {self.direction!r}", "use AtoB or BtoA")
        return self


@dataclass(frozen=True)
class OnePassConfig:
    """What every one-pass network (fast style, translation, the instant styles) shares."""

    size: int | None = None  # longest side of the output; None: the picture's own size
    tile: int | None = None  # tile side; None: tiles only when a picture would not fit in memory
    tile_overlap: int = 64
    preserve_colors: bool = False  # keep the photo's colours, take only the luminance from the network
    work_size: int | None = None  # run the network at this longest side and scale the result up (faster)
    compile: bool = False  # torch.compile the network: slow once (tens of seconds), then faster; for many pictures
    precision: str = "auto"  # auto: bf16 where measured safe and the CPU computes it natively, int8 codes for the 8-bit network on x86 (device.one_pass_precision)

    def validate(self) -> OnePassConfig:
        check_precision(self.precision)
        for name in ("size", "work_size"):
            if getattr(self, name) is not None and getattr(self, name) < 16:
                raise UsageError(f"--{name.replace('_', '-')} {getattr(self, name)} is too small", "use 16 or more")
        if self.tile is not None and self.tile < 16:
            raise UsageError(f"--tile {self.tile} is too small", "use 256 or more")
        if self.tile_overlap < 0 or (self.tile is not None and self.tile_overlap * 2 >= self.tile):
            raise UsageError("--tile-overlap must be at least 0 and less than half of --tile", "use e.g. --tile 512 --tile-overlap 32")
        return self


@dataclass(frozen=True)
class AdaINConfig:
    """AdaIN (Huang and Belongie 2017): one pass, any style."""

    alpha: float = 1.0  # 0: the photo (through the decoder), 1: full style
    blend: tuple[float, ...] = ()  # one weight per style image; empty: equal
    size: int | None = 512  # longest side of the output; None: the photo's own size
    style_size: int | None = 512  # longest side of the style images; None: their own size
    preserve_colors: bool = False  # give the styles the photo's colours first (CORAL)
    tile: int | None = None
    tile_overlap: int = 64
    precision: str = "auto"  # as OnePassConfig's: bf16 on a CPU with native bf16, else float32

    def validate(self, n_styles: int, masked: bool) -> AdaINConfig:
        check_precision(self.precision)
        if not 0 <= self.alpha <= 1:
            raise UsageError(f"--alpha must be between 0 and 1, got {self.alpha}", "0 keeps the photo, 1 is full style")
        if masked and n_styles != 2:
            raise UsageError(f"--mask needs exactly two --style images, got {n_styles}", "the first styles the white region, the second the rest")
        if masked and self.tile:
            raise UsageError("--tile does not work with --mask", "leave --tile out, or use a smaller --size")
        blend_weights(self.blend, n_styles)
        return self


def blend_weights(blend: tuple[float, ...], n_styles: int) -> tuple[float, ...]:
    """Per-style weights normalised to sum to 1 (equal when none are given)."""
    raw = blend or (1.0,) * n_styles
    if len(raw) != n_styles:
        raise UsageError(
            f"--style-blend has {len(raw)} weights for {n_styles} style image(s)",
            "give one weight per --style, e.g. --style-blend 0.7,0.3",
        )
    if any(w < 0 for w in raw) or sum(raw) <= 0:
        raise UsageError("--style-blend weights must be non-negative and not all zero", "use e.g. 0.7,0.3")
    total = sum(raw)
    return tuple(w / total for w in raw)


# x264's presets, fastest first: each later one spends more time per frame for a smaller file at the same quality
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class ClipSettings:
    """How a video clip (or a folder of frames) is painted and written (engines/video.py)."""

    size: int | None = None  # longest side of every frame; None: the clip's own size
    temporal: float = 0.85  # share of the previous output, moved along the motion, kept where it can be followed; 0: frame by frame
    # H.264 quality, 0-51 (lower: better and larger), at x264's preset. On painted clips at 340x256 and
    # 640x482, crf 16 under veryfast gave the PSNR of crf 18 under medium in 2.6-2.8x less encoding
    # time, for files 16-17% larger.
    crf: int = 16
    start: float | None = None  # seconds into the clip
    end: float | None = None
    overwrite: bool = False  # replace an existing output folder of frames
    preset: str = "veryfast"  # x264's encoding speed against file size (X264_PRESETS, fastest first)

    def validate(self) -> ClipSettings:
        if not 0 <= self.temporal <= 1:
            raise UsageError(f"--temporal must be between 0 and 1, got {self.temporal}", "use e.g. 0.85, or 0 to paint frame by frame")
        if not 0 <= self.crf <= 51:
            raise UsageError(f"--crf must be between 0 and 51, got {self.crf}", "use e.g. 16 (lower: better and larger)")
        if self.preset not in X264_PRESETS:
            raise UsageError(f"--preset {self.preset!r} is not one of x264's presets", f"use one of {', '.join(X264_PRESETS)}")
        if (self.start is not None and self.start < 0) or (self.end is not None and self.end <= (self.start or 0)):
            raise UsageError(f"--start {self.start} and --end {self.end} leave nothing to paint", "--end must come after --start, both in seconds")
        return self


@dataclass(frozen=True)
class DreamConfig:
    """Deep Dream (Mordvintsev, Olah and Tyka 2015) on the bundled VGG19."""

    layers: tuple[str, ...] = ("relu4_2",)  # whose activations are amplified; mid-level: textures and parts
    size: int | None = 512  # longest side of the output; None: the photo's own size
    octaves: int = 4  # pyramid levels, coarse to fine
    octave_scale: float = 1.4  # size ratio between levels
    steps: int = 10  # gradient-ascent steps per octave
    lr: float = 0.008  # step size, on normalised gradients, for pixels in [0, 1]
    jitter: int = 16  # random shift (pixels) before each step, so no fixed grid shows
    smooth: float = 1.0  # Gaussian blur (sigma, pixels) of each gradient; 0: none
    tile: int | None = None  # compute gradients in tiles of this size (for large photos)
    seed: int | None = None

    def validate(self) -> DreamConfig:
        from paintcli.nets.vgg import check_layers

        check_layers(self.layers)
        if not self.layers:
            raise UsageError("no --layers given", "use e.g. relu4_2")
        for name in ("octaves", "steps"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name} must be at least 1", "use the default")
        if self.octave_scale <= 1:
            raise UsageError(f"--octave-scale must be above 1, got {self.octave_scale}", "use e.g. 1.4")
        for name in ("lr", "jitter", "smooth"):
            non_negative(name, getattr(self, name))
        if self.tile is not None and self.tile < 32:
            raise UsageError(f"--tile {self.tile} is too small", "use 256 or more")
        return self


# --- parsing helpers shared by the CLI and notebooks ------------------------------------------------------


def parse_layer_weights(text: str, n_layers: int) -> tuple[float, ...]:
    """'1,0.5,0.25' or 'decay:0.5' (each deeper layer weighted 0.5 times the one before) or 'equal'."""
    text = text.strip()
    if text in {"", "equal"}:
        return ()
    if text.startswith("decay:"):
        factor = parse_float(text.removeprefix("decay:"), "--style-layer-weights decay factor")
        non_negative("style_layer_weights", factor)
        return tuple(factor**i for i in range(n_layers))
    return parse_floats(text, "--style-layer-weights")


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    return tuple(parse_float(part, what) for part in text.split(",") if part.strip())


def parse_float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{what}: {text.strip()!r} is not a number", "use numbers like 0.5 or 1e-3") from None


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a list of whole numbers", "use e.g. 256,512,1024") from None


def parse_names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())

