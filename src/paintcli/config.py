"""Settings for each engine as frozen dataclasses: the one place where defaults are written.

The CLI reads its defaults from these fields, so the command line and the Python API cannot drift.
Cheap to import (no torch).
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


@dataclass(frozen=True)
class GatysConfig:
    """Gatys et al. optimisation-based style transfer."""

    size: int = 512  # longest side of the output, in pixels
    scales: tuple[int, ...] = ()  # coarse-to-fine longest sides, e.g. (256, 512); the last is the output size
    iterations: int = 500  # forward-backward evaluations per scale, whatever the optimiser
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

    # --- derived values -------------------------------------------------------------------------------

    @property
    def work_scales(self) -> tuple[int, ...]:
        return self.scales or (self.size,)

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
            _non_negative(name, getattr(self, name))
        for name in ("style_layer_weights", "style_blend"):
            for value in getattr(self, name):
                _non_negative(name, value)
        if self.style_blend and sum(self.style_blend) <= 0:
            raise UsageError("--style-blend weights sum to zero", "give at least one positive weight")
        if self.style_scale == 0:
            raise UsageError("--style-scale must be above 0", "use e.g. 0.5 for larger style features, 2 for smaller")
        if self.iterations < 1:
            raise UsageError(f"--iterations must be at least 1, got {self.iterations}", "use e.g. 500")
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


def _non_negative(name: str, value: float | None) -> None:
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

    def validate(self) -> TranslateConfig:
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

    def validate(self, n_styles: int, masked: bool) -> AdaINConfig:
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


@dataclass(frozen=True)
class TrainConfig:
    """CycleGAN and pix2pix training. The defaults are the published recipes (the official
    train_options.py with cycle_gan_model.py / pix2pix_model.py); `for_recipe` picks each one's own."""

    recipe: Literal["cyclegan", "pix2pix", "fast-style", "adain"] = "cyclegan"
    # data
    dataset: str | None = None  # a registry name, e.g. monet2photo or facades
    data: str | None = None  # a folder in the official layout
    data_a: str | None = None  # two plain folders (paired by file name for pix2pix)
    data_b: str | None = None
    direction: Literal["AtoB", "BtoA"] = "AtoB"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    # networks
    netG: str = "resnet9"  # resnet6 | resnet9 | unet128 | unet256
    ngf: int = 64
    ndf: int = 64
    n_layers_D: int = 3
    norm: Literal["instance", "batch", "none"] = "instance"
    dropout: bool = False
    # losses
    gan_loss: Literal["lsgan", "vanilla"] = "lsgan"
    lambda_cycle: float = 10.0  # CycleGAN: weight of the A->B->A and B->A->B reconstructions
    lambda_identity: float = 0.5  # CycleGAN: identity loss weight, as a fraction of lambda_cycle
    lambda_l1: float = 100.0  # pix2pix: weight of the L1 loss to the target
    pool_size: int = 50  # CycleGAN: earlier fakes shown to the discriminators
    # one-pass style recipes
    style: str | None = None  # fast-style: the style image
    content_weight: float = 1.0  # fast-style, adain: weight of the content (feature) loss
    style_weight: float = 10.0  # fast-style, adain: weight of the style loss
    backbone: str = "vgg19"  # fast-style: the loss network (vgg19 bundled, or vgg16-torchvision)
    encoder: str = "adain-encoder"  # adain: the fixed encoder (a registry name or a vgg_normalised.pth)
    lr_decay: float = 0.0  # learning rate / (1 + lr_decay * step), per step (AdaIN's schedule); 0: off
    # optimisation
    epochs: int = 100  # at the initial learning rate
    epochs_decay: int = 100  # then decaying linearly to zero
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # bookkeeping
    seed: int = 0
    save_every: int = 5  # epochs between numbered checkpoints (latest is written every epoch)
    max_steps: int | None = None  # stop after this many steps in all (for smoke runs and tests)
    workers: int | None = None  # data-loading processes; None: chosen for the device
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast on CUDA GPUs that support it

    @classmethod
    def for_recipe(cls, recipe: str, **changes) -> TrainConfig:
        """The published defaults of `recipe`, with `changes` applied (None values are ignored)."""
        defaults = dict(RECIPE_DEFAULTS.get(recipe, {}))
        changes = {k: v for k, v in changes.items() if v is not None}
        if recipe == "fast-style" and changes.get("backbone") == "vgg16-torchvision":
            defaults["content_weight"], defaults["style_weight"] = FAST_STYLE_VGG16_WEIGHTS
        return cls(recipe=recipe, **{**defaults, **changes})

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    def validate(self) -> TrainConfig:
        for name, allowed in (
            ("direction", ("AtoB", "BtoA")), ("norm", ("instance", "batch", "none")),
            ("gan_loss", ("lsgan", "vanilla")), ("precision", ("auto", "fp32", "bf16")),
        ):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise UsageError(f"unknown --{name.replace('_', '-')} {getattr(self, name)!r}", f"use one of: {', '.join(allowed)}")
        if self.recipe == "fast-style":
            if not self.style:
                raise UsageError("fast-style training needs --style", "give the painting to learn, e.g. --style wave.jpg")
            if self.backbone not in ("vgg19", "vgg16-torchvision"):
                raise UsageError(f"unknown --backbone {self.backbone!r}", "use vgg19 or vgg16-torchvision")
        for name in ("content_weight", "style_weight", "lr_decay"):
            _non_negative(name, getattr(self, name))
        if self.netG not in GENERATORS:
            raise UsageError(f"unknown --netG {self.netG!r}", f"use one of: {', '.join(GENERATORS)}")
        if self.crop_size > self.load_size:
            raise UsageError(f"--crop-size {self.crop_size} is larger than --load-size {self.load_size}", "crop at most the loaded size")
        for name in ("load_size", "crop_size", "batch_size", "ngf", "ndf", "n_layers_D"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1", "use the default")
        for name in ("lambda_cycle", "lambda_identity", "lambda_l1", "lr", "pool_size", "epochs", "epochs_decay"):
            _non_negative(name, getattr(self, name))
        multiple = 2 ** GENERATORS[self.netG][1] if GENERATORS[self.netG][0] == "unet" else 4
        if self.recipe in ("fast-style", "adain"):
            multiple = 4 if self.recipe == "fast-style" else 8
        if self.crop_size % multiple:
            raise UsageError(f"--crop-size {self.crop_size} must be a multiple of {multiple} for {self.netG}", "use e.g. 256")
        if self.total_epochs < 1:
            raise UsageError("--epochs plus --epochs-decay must be at least 1", "use e.g. --epochs 100 --epochs-decay 100")
        sources = sum(x is not None for x in (self.dataset, self.data, self.data_a or self.data_b))
        if self.recipe == "adain" and not (self.data_a and self.data_b):
            raise UsageError("AdaIN training needs --content-dir and --style-dir", "two folders of photos and of paintings")
        if self.recipe == "fast-style" and not self.data:
            raise UsageError("fast-style training needs --data DIR", "a folder of photos (the paper used COCO 2014 train)")
        if sources != 1 or bool(self.data_a) != bool(self.data_b):
            raise UsageError("give one data source", "a dataset name, or --data DIR, or both --data-a DIR and --data-b DIR")
        return self


# (architecture, residual blocks or downsamplings) behind each --netG name
GENERATORS = {"resnet6": ("resnet", 6), "resnet9": ("resnet", 9), "unet128": ("unet", 7), "unet256": ("unet", 8)}
PIX2PIX_DEFAULTS = dict(netG="unet256", norm="batch", dropout=True, gan_loss="vanilla", pool_size=0, direction="AtoB")
RECIPE_DEFAULTS = {
    "pix2pix": PIX2PIX_DEFAULTS,
    # pytorch/examples fast_neural_style: 256 px, batch 4, Adam 1e-3, 2 epochs over COCO; content at
    # relu2_2, style at relu1_2/relu2_2/relu3_3/relu4_3. Its weights 1e5 and 1e10 are for VGG16 on
    # ImageNet-normalised input; the bundled Caffe VGG19 sees ~58x larger activations, so its content
    # (squared) and style (fourth power) weights are those divided by 58^2 and 58^4.
    "fast-style": dict(load_size=256, crop_size=256, flip=False, epochs=2, epochs_decay=0, batch_size=4, lr=1e-3,
                       beta1=0.9, content_weight=30.0, style_weight=900.0, save_every=1),
    # naoto0804/pytorch-AdaIN train.py: 512 px loads, 256 px crops, batch 8, Adam 1e-4 decaying as
    # 1/(1 + 5e-5 step), content weight 1, style weight 10 (160,000 iterations ~ 16 epochs of COCO).
    "adain": dict(load_size=512, crop_size=256, flip=False, epochs=16, epochs_decay=0, batch_size=8, lr=1e-4,
                  beta1=0.9, lr_decay=5e-5, content_weight=1.0, style_weight=10.0, save_every=1),
}
FAST_STYLE_VGG16_WEIGHTS = (1e5, 1e10)  # the published values, for --backbone vgg16-torchvision


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
            _non_negative(name, getattr(self, name))
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
        _non_negative("style_layer_weights", factor)
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

