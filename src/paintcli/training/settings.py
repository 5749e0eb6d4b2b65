"""The settings of each training recipe: one frozen dataclass per recipe, its published defaults
written once, over a common part.

Every field carries its help text and whether it may change when a run is resumed; `paint train
RECIPE` builds its options, its --help and its resume checks from these fields, and the Python API
takes the same classes. Cheap to import (no torch).

    CycleGAN   junyanz/pytorch-CycleGAN-and-pix2pix train_options.py + cycle_gan_model.py
    pix2pix    the same repository, pix2pix_model.py
    fast-style pytorch/examples fast_neural_style (Johnson et al. 2016)
    AdaIN      naoto0804/pytorch-AdaIN train.py (Huang and Belongie 2017)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from paintcli.config import check_precision, non_negative
from paintcli.errors import UsageError

# (architecture, residual blocks or downsamplings) behind each --netG name
GENERATORS = {"resnet6": ("resnet", 6), "resnet9": ("resnet", 9), "unet128": ("unet", 7), "unet256": ("unet", 8)}


def option(default: Any, help: str, *, flag: str | None = None, resumable: bool = False, cli: bool = True):
    """A settings field: its default, its --help text, its flag if not derived from the name, and
    whether --resume may change it."""
    return field(default=default, metadata={"help": help, "flag": flag, "resumable": resumable, "cli": cli})


def recipe_default(base: type, name: str, default: Any):
    """`base`'s field `name` with another default (the help and flags stay the base's)."""
    inherited = next(f for f in fields(base) if f.name == name)
    return field(default=default, metadata=inherited.metadata)


@dataclass(frozen=True)
class TrainSettings:
    """What every recipe shares: crops, the optimiser and its schedule, and the bookkeeping."""

    recipe: ClassVar[str] = ""
    generators: ClassVar[tuple[str, ...]] = ()  # the networks exported for use after training

    load_size: int = option(286, "Resize images to this square size...")
    crop_size: int = option(256, "...then crop a random square of this size.")
    flip: bool = option(True, "Random horizontal flips (the same for both halves of a pair).", flag="--flip/--no-flip")
    epochs: int = option(100, "Epochs at the initial learning rate...", resumable=True)
    epochs_decay: int = option(100, "...then epochs of linear decay to zero.", resumable=True)
    batch_size: int = option(1, "Images per step in each process (the total is this times --devices).")
    lr: float = option(2e-4, "Adam learning rate.")
    beta1: float = option(0.5, "Adam beta1.")
    beta2: float = option(0.999, "Adam beta2.")
    seed: int = option(0, "Seed for initialisation, data order, crops and flips.")
    save_every: int = option(5, "Epochs between numbered checkpoints (latest is saved every epoch).", resumable=True)
    max_steps: int | None = option(None, "Stop after this many steps in all (saving latest).", resumable=True)
    workers: int | None = option(None, "Data-loading processes. Default: up to 8 on a GPU, few on a CPU.", resumable=True)
    precision: str = option("auto", "auto (float32, TF32 on CUDA: measured faster than bf16 at batch 1 on an H100), fp32, or bf16 (autocast for the networks, GAN losses in float32).")
    compile: bool = option(False, "torch.compile the networks: a minute more at the start, then faster steps on a GPU.",
                           flag="--compile/--no-compile", resumable=True)
    tensorboard: bool = option(False, "Also write TensorBoard events to <run>/tensorboard: every loss, lr, img/s and the "
                               "samples of each epoch (tensorboard --logdir runs; needs paintcli[tensorboard]).",
                               flag="--tensorboard/--no-tensorboard", resumable=True)

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    @property
    def crop_multiple(self) -> int:
        """Crops must be multiples of this for the networks to keep their size."""
        return 4

    @property
    def per_step_decay(self) -> float:
        """lr / (1 + decay * step) per step when above 0; else constant, then linear decay per epoch."""
        return 0.0

    def data_name(self) -> str:
        """The name of the run folder's data part: runs/<data>_<recipe>."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, **asdict(self)}

    def validate(self) -> TrainSettings:
        """Raise a UsageError for the first setting that cannot work; return self otherwise."""
        if self.tensorboard:
            from paintcli.training.watch import require_tensorboard

            require_tensorboard()
        check_precision(self.precision)
        if self.crop_size > self.load_size:
            raise UsageError(f"--crop-size {self.crop_size} is larger than --load-size {self.load_size}", "crop at most the loaded size")
        for name in ("load_size", "crop_size", "batch_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1", "use the default")
        for name in ("lr", "epochs", "epochs_decay"):
            non_negative(name, getattr(self, name))
        if self.crop_size % self.crop_multiple:
            raise UsageError(f"--crop-size {self.crop_size} must be a multiple of {self.crop_multiple} here", "use e.g. 256")
        if self.total_epochs < 1:
            raise UsageError("--epochs plus --epochs-decay must be at least 1", "use e.g. --epochs 100 --epochs-decay 100")
        return self


@dataclass(frozen=True)
class GANSettings(TrainSettings):
    """CycleGAN and pix2pix: a dataset, a generator and a PatchGAN discriminator."""

    dataset: str | None = option(None, "A dataset name from `paint download --list`; downloaded on first use.", cli=False)
    data: str | None = option(None, "A dataset folder in the official layout (trainA/ trainB/, or train/ of AB images).")
    data_a: str | None = option(None, "A plain folder of A images (use with --data-b).")
    data_b: str | None = option(None, "A plain folder of B images (paired with A by file name for pix2pix).")
    netG: str = option("resnet9", "Generator: resnet6, resnet9, unet128 or unet256.")
    ngf: int = option(64, "Generator width (filters in the first layer).")
    ndf: int = option(64, "Discriminator width.")
    n_layers_D: int = option(3, "PatchGAN depth (3: 70x70 patches).", flag="--n-layers-d")
    norm: str = option("instance", "instance, batch or none.")
    dropout: bool = option(False, "Dropout in the generator.", flag="--dropout/--no-dropout")
    gan_loss: str = option("lsgan", "lsgan (least squares) or vanilla (cross-entropy).")

    @property
    def crop_multiple(self) -> int:
        arch, blocks = GENERATORS.get(self.netG, ("resnet", 0))
        return 2**blocks if arch == "unet" else 4

    def data_name(self) -> str:
        if self.dataset:
            return self.dataset.replace("/", "_")
        return Path(self.data or self.data_a).resolve().name

    def validate(self) -> GANSettings:
        for name, allowed in (("norm", ("instance", "batch", "none")), ("gan_loss", ("lsgan", "vanilla"))):
            if getattr(self, name) not in allowed:
                raise UsageError(f"unknown --{name.replace('_', '-')} {getattr(self, name)!r}", f"use one of: {', '.join(allowed)}")
        if self.netG not in GENERATORS:
            raise UsageError(f"unknown --netG {self.netG!r}", f"use one of: {', '.join(GENERATORS)}")
        for name in ("ngf", "ndf", "n_layers_D"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-').lower()} must be at least 1", "use the default")
        super().validate()
        sources = sum(x is not None for x in (self.dataset, self.data, self.data_a or self.data_b))
        if sources != 1 or bool(self.data_a) != bool(self.data_b):
            raise UsageError("give one data source", "a dataset name, or --data DIR, or both --data-a DIR and --data-b DIR")
        return self


@dataclass(frozen=True)
class CycleGANSettings(GANSettings):
    """CycleGAN (Zhu et al. 2017): two ResNet generators, two PatchGANs, LSGAN, cycle and identity losses."""

    recipe: ClassVar[str] = "cyclegan"
    generators: ClassVar[tuple[str, ...]] = ("G_A", "G_B")

    lambda_cycle: float = option(10.0, "Weight of the cycle-consistency losses.")
    lambda_identity: float = option(0.5, "Identity loss weight, as a fraction of --lambda-cycle.")
    pool_size: int = option(50, "Earlier fakes kept for the discriminators (0: none).")

    def validate(self) -> CycleGANSettings:
        for name in ("lambda_cycle", "lambda_identity", "pool_size"):
            non_negative(name, getattr(self, name))
        return super().validate()


@dataclass(frozen=True)
class Pix2PixSettings(GANSettings):
    """pix2pix (Isola et al. 2017): a U-Net with dropout, a conditional PatchGAN, vanilla GAN loss plus L1."""

    recipe: ClassVar[str] = "pix2pix"
    generators: ClassVar[tuple[str, ...]] = ("G",)

    netG: str = recipe_default(GANSettings, "netG", "unet256")
    norm: str = recipe_default(GANSettings, "norm", "batch")
    dropout: bool = recipe_default(GANSettings, "dropout", True)
    gan_loss: str = recipe_default(GANSettings, "gan_loss", "vanilla")
    direction: str = option("AtoB", "AtoB or BtoA: which half of an aligned pair is the input (facades: BtoA for labels to photos).")
    lambda_l1: float = option(100.0, "Weight of the L1 loss to the target.")

    def validate(self) -> Pix2PixSettings:
        if self.direction not in ("AtoB", "BtoA"):
            raise UsageError(f"unknown --direction {self.direction!r}", "use one of: AtoB, BtoA")
        non_negative("lambda_l1", self.lambda_l1)
        return super().validate()


# pytorch/examples fast_neural_style trains VGG16 on ImageNet-normalised input with weights 1e5 and
# 1e10; the bundled Caffe VGG19 sees ~58x larger activations, so its content (squared) and style
# (fourth power) weights are those divided by 58^2 and 58^4.
FAST_STYLE_WEIGHTS = {"vgg19": (30.0, 900.0), "vgg16-torchvision": (1e5, 1e10)}


@dataclass(frozen=True)
class FastStyleSettings(TrainSettings):
    """Johnson et al.'s perceptual loss: 256 px, batch 4, Adam 1e-3, 2 epochs over COCO."""

    recipe: ClassVar[str] = "fast-style"
    generators: ClassVar[tuple[str, ...]] = ("transformer",)

    load_size: int = recipe_default(TrainSettings, "load_size", 256)
    flip: bool = recipe_default(TrainSettings, "flip", False)
    epochs: int = recipe_default(TrainSettings, "epochs", 2)
    epochs_decay: int = recipe_default(TrainSettings, "epochs_decay", 0)
    batch_size: int = recipe_default(TrainSettings, "batch_size", 4)
    lr: float = recipe_default(TrainSettings, "lr", 1e-3)
    beta1: float = recipe_default(TrainSettings, "beta1", 0.9)
    save_every: int = recipe_default(TrainSettings, "save_every", 1)
    style: str | None = option(None, "The painting the network learns.")
    data: str | None = option(None, "A folder of photos to learn on (sub-folders are searched too; the paper used COCO 2014 train).")
    content_weight: float | None = option(None, "Weight of the content (feature) loss. Default: 30 (vgg19), 1e5 (vgg16-torchvision).")
    style_weight: float | None = option(None, "Weight of the style loss. Default: 900 (vgg19), 1e10 (vgg16-torchvision).")
    backbone: str = option("vgg19", "Loss network: vgg19 (bundled) or vgg16-torchvision (the paper's; downloaded).")

    @property
    def weights(self) -> tuple[float, float]:
        """(content, style) with the backbone's defaults filled in."""
        content, style = FAST_STYLE_WEIGHTS.get(self.backbone, FAST_STYLE_WEIGHTS["vgg19"])
        return (content if self.content_weight is None else self.content_weight, style if self.style_weight is None else self.style_weight)

    def data_name(self) -> str:
        return Path(self.style).stem

    def validate(self) -> FastStyleSettings:
        if not self.style:
            raise UsageError("fast-style training needs --style", "give the painting to learn, e.g. --style wave.jpg")
        if self.backbone not in FAST_STYLE_WEIGHTS:
            raise UsageError(f"unknown --backbone {self.backbone!r}", f"use {' or '.join(FAST_STYLE_WEIGHTS)}")
        if not self.data:
            raise UsageError("fast-style training needs --data DIR", "a folder of photos (the paper used COCO 2014 train)")
        for name in ("content_weight", "style_weight"):
            non_negative(name, getattr(self, name))
        return super().validate()


@dataclass(frozen=True)
class AdaINSettings(TrainSettings):
    """The AdaIN decoder: 512 px loads, 256 px crops, batch 8, Adam 1e-4 decaying as 1/(1 + 5e-5 step),
    content weight 1, style weight 10 (160,000 iterations: about 16 epochs of COCO)."""

    recipe: ClassVar[str] = "adain"
    generators: ClassVar[tuple[str, ...]] = ("decoder",)

    load_size: int = recipe_default(TrainSettings, "load_size", 512)
    flip: bool = recipe_default(TrainSettings, "flip", False)
    epochs: int = recipe_default(TrainSettings, "epochs", 16)
    epochs_decay: int = recipe_default(TrainSettings, "epochs_decay", 0)
    batch_size: int = recipe_default(TrainSettings, "batch_size", 8)
    lr: float = recipe_default(TrainSettings, "lr", 1e-4)
    beta1: float = recipe_default(TrainSettings, "beta1", 0.9)
    save_every: int = recipe_default(TrainSettings, "save_every", 1)
    content_dir: str | None = option(None, "A folder of photos (sub-folders too).")
    style_dir: str | None = option(None, "A folder of paintings (sub-folders too).")
    encoder: str = option("adain-encoder", "The fixed encoder: adain-encoder (downloaded) or a vgg_normalised.pth.")
    content_weight: float = option(1.0, "Weight of the content (feature) loss.")
    style_weight: float = option(10.0, "Weight of the style loss.")
    lr_decay: float = option(5e-5, "Learning rate / (1 + lr-decay x step).")

    @property
    def crop_multiple(self) -> int:
        return 8

    @property
    def per_step_decay(self) -> float:
        return self.lr_decay

    def data_name(self) -> str:
        return Path(self.content_dir).resolve().name

    def validate(self) -> AdaINSettings:
        if not (self.content_dir and self.style_dir):
            raise UsageError("AdaIN training needs --content-dir and --style-dir", "two folders of photos and of paintings")
        for name in ("content_weight", "style_weight", "lr_decay"):
            non_negative(name, getattr(self, name))
        return super().validate()


RECIPES: dict[str, type[TrainSettings]] = {
    cls.recipe: cls for cls in (CycleGANSettings, Pix2PixSettings, FastStyleSettings, AdaINSettings)
}
# Keys of settings.json files that paint wrote before each recipe had its own settings.
_RENAMED = {"adain": {"data_a": "content_dir", "data_b": "style_dir"}}


def for_recipe(recipe: str, **changes: Any) -> TrainSettings:
    """The published settings of `recipe`, with `changes` applied (None values are ignored)."""
    return RECIPES[recipe](**{k: v for k, v in changes.items() if v is not None})


def from_saved(saved: dict[str, Any]) -> TrainSettings:
    """Settings read back from a run folder's settings.json (also those of earlier versions)."""
    cls = RECIPES[saved.get("recipe", "cyclegan")]
    renamed = {_RENAMED.get(cls.recipe, {}).get(k, k): v for k, v in saved.items()}
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in renamed.items() if k in known})


def resumable(cls: type[TrainSettings]) -> set[str]:
    """The fields that may change when a run is resumed."""
    return {f.name for f in fields(cls) if f.metadata.get("resumable")}
