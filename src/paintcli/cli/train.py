"""`paint train cyclegan|pix2pix`: the published recipes, with every hyperparameter as an option.

Both commands are built from one table of options; each shows its own recipe's defaults (taken
from `TrainConfig.for_recipe`), so `paint train pix2pix --help` says unet256, batch norm, vanilla GAN.
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import threading
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from paintcli import console
from paintcli.cli.common import DeviceOpt, QuietOpt, boundary
from paintcli.config import TrainConfig
from paintcli.errors import UsageError

app = typer.Typer(
    help="Train CycleGAN, pix2pix, fast-style and AdaIN models with the published recipes; resumable, on one or several processes.",
    no_args_is_help=True,
)

# (field, option names, help, recipes it applies to)
OPTIONS: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = [
    ("data", ("--data",), "A dataset folder in the official layout (trainA/ trainB/, or train/ of AB images).", ("cyclegan", "pix2pix")),
    ("data_a", ("--data-a",), "A plain folder of A images (use with --data-b).", ("cyclegan", "pix2pix")),
    ("data_b", ("--data-b",), "A plain folder of B images (paired with A by file name for pix2pix).", ("cyclegan", "pix2pix")),
    ("direction", ("--direction",), "AtoB or BtoA: which half of an aligned pair is the input (facades: BtoA for labels to photos).", ("pix2pix",)),
    ("load_size", ("--load-size",), "Resize images to this square size...", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("crop_size", ("--crop-size",), "...then crop a random square of this size.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("flip", ("--flip/--no-flip",), "Random horizontal flips (the same for both halves of a pair).", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("netG", ("--netG",), "Generator: resnet6, resnet9, unet128 or unet256.", ("cyclegan", "pix2pix")),
    ("ngf", ("--ngf",), "Generator width (filters in the first layer).", ("cyclegan", "pix2pix")),
    ("ndf", ("--ndf",), "Discriminator width.", ("cyclegan", "pix2pix")),
    ("n_layers_D", ("--n-layers-d",), "PatchGAN depth (3: 70x70 patches).", ("cyclegan", "pix2pix")),
    ("norm", ("--norm",), "instance, batch or none.", ("cyclegan", "pix2pix")),
    ("dropout", ("--dropout/--no-dropout",), "Dropout in the generator.", ("cyclegan", "pix2pix")),
    ("gan_loss", ("--gan-loss",), "lsgan (least squares) or vanilla (cross-entropy).", ("cyclegan", "pix2pix")),
    ("lambda_cycle", ("--lambda-cycle",), "Weight of the cycle-consistency losses.", ("cyclegan",)),
    ("lambda_identity", ("--lambda-identity",), "Identity loss weight, as a fraction of --lambda-cycle.", ("cyclegan",)),
    ("pool_size", ("--pool-size",), "Earlier fakes kept for the discriminators (0: none).", ("cyclegan",)),
    ("lambda_l1", ("--lambda-l1",), "Weight of the L1 loss to the target.", ("pix2pix",)),
    ("epochs", ("--epochs",), "Epochs at the initial learning rate...", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("epochs_decay", ("--epochs-decay",), "...then epochs of linear decay to zero.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("batch_size", ("--batch-size",), "Images per step in each process (the total is this times --devices).", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("lr", ("--lr",), "Adam learning rate.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("beta1", ("--beta1",), "Adam beta1.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("beta2", ("--beta2",), "Adam beta2.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("seed", ("--seed",), "Seed for initialisation, data order, crops and flips.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("save_every", ("--save-every",), "Epochs between numbered checkpoints (latest is saved every epoch).", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("max_steps", ("--max-steps",), "Stop after this many steps in all (saving latest).", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("workers", ("--workers",), "Data-loading processes. Default: up to 8 on a GPU, few on a CPU.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("precision", ("--precision",), "auto (bf16 autocast on GPUs that support it), fp32 or bf16.", ("cyclegan", "pix2pix", "fast-style", "adain")),
    ("style", ("--style",), "The painting the network learns.", ("fast-style",)),
    ("data", ("--data",), "A folder of photos to learn on (sub-folders are searched too; the paper used COCO 2014 train).", ("fast-style",)),
    ("data_a", ("--content-dir",), "A folder of photos (sub-folders too).", ("adain",)),
    ("data_b", ("--style-dir",), "A folder of paintings (sub-folders too).", ("adain",)),
    ("content_weight", ("--content-weight",), "Weight of the content (feature) loss.", ("fast-style", "adain")),
    ("style_weight", ("--style-weight",), "Weight of the style loss.", ("fast-style", "adain")),
    ("backbone", ("--backbone",), "Loss network: vgg19 (bundled) or vgg16-torchvision (the paper's; downloaded; sets weights 1e5/1e10).", ("fast-style",)),
    ("encoder", ("--encoder",), "The fixed encoder: adain-encoder (downloaded) or a vgg_normalised.pth.", ("adain",)),
    ("lr_decay", ("--lr-decay",), "Learning rate / (1 + lr-decay x step).", ("adain",)),
]
RESUMABLE = {"max_steps", "epochs", "epochs_decay", "save_every", "workers"}  # may change on --resume
_TYPES = {f.name: f.type for f in fields(TrainConfig)}


def _train(
    ctx: typer.Context,
    recipe: str,
    dataset: str | None,
    out: Path | None,
    resume: Path | None,
    devices: int,
    device: str | None,
    quiet: bool,
    **settings: Any,
) -> None:
    from paintcli.training import distributed
    from paintcli.training.loop import train

    if devices > 1 and "WORLD_SIZE" not in os.environ:
        raise typer.Exit(distributed.launch(devices, _argv_without_devices(sys.argv[1:])))
    given = {k for k in settings if ctx.get_parameter_source(k).name == "COMMANDLINE"}
    if resume is not None:
        cfg = _resumed_config(resume, recipe, {k: settings[k] for k in given}, dataset)
        run_dir = resume
    else:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()}
        cfg = TrainConfig.for_recipe(recipe, dataset=dataset, **settings).validate()
        run_dir = out or Path("runs") / f"{_data_name(cfg)}_{recipe}"
        if (run_dir / "checkpoints").exists():
            raise UsageError(f"the run folder {run_dir} already holds a run", f"continue it with --resume {run_dir}, or choose --out")
    main = os.environ.get("RANK", "0") == "0"
    stop = threading.Event()
    with _graceful_stop(stop, quiet or not main), console.TrainBar(quiet=quiet or not main) as bar:
        result = train(cfg, run_dir, device=device, resume=resume is not None, on_step=bar.update, stop=stop,
                       download_progress=console.DownloadBar(quiet))  # fmt: skip
    if main:
        for path in result.exports:
            typer.echo(str(path))
        console.info(f"{result.steps} steps, {result.epochs_done} epochs done; run folder {run_dir}", quiet)
    if stop.is_set():
        raise typer.Exit(130)


def _resumed_config(run_dir: Path, recipe: str, given: dict, dataset: str | None) -> TrainConfig:
    import json

    settings_file = run_dir / "settings.json"
    if not settings_file.is_file():
        raise UsageError(f"{run_dir} is not a paint training run (no settings.json)", "pass the folder a previous `paint train` wrote")
    saved = json.loads(settings_file.read_text())
    cfg = TrainConfig(**{k: v for k, v in saved.items() if k in _TYPES})
    if cfg.recipe != recipe:
        raise UsageError(f"{run_dir} is a {cfg.recipe} run", f"resume it with `paint train {cfg.recipe} --resume {run_dir}`")
    fixed = sorted(set(given) - RESUMABLE) + (["DATASET"] if dataset else [])
    if fixed:
        raise UsageError(f"cannot change {', '.join(fixed)} when resuming", f"only {', '.join(sorted(RESUMABLE))} may change")
    return replace(cfg, **given).validate()


def _data_name(cfg: TrainConfig) -> str:
    if cfg.recipe == "fast-style":
        return Path(cfg.style).stem
    if cfg.dataset:
        return cfg.dataset.replace("/", "_")
    return Path(cfg.data or cfg.data_a).resolve().name


def _argv_without_devices(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--devices":
            skip = True
        elif not arg.startswith("--devices="):
            out.append(arg)
    return out


class _graceful_stop:
    """The first Ctrl-C asks the loop to stop after the current step and save; a second one aborts."""

    def __init__(self, stop: threading.Event, quiet: bool):
        self.stop, self.quiet = stop, quiet

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self

        def handler(signum, frame):
            if self.stop.is_set():
                raise KeyboardInterrupt
            self.stop.set()
            console.info("stopping after this step and saving the run (Ctrl-C again to abort)", self.quiet)

        self.previous = signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        if hasattr(self, "previous"):
            signal.signal(signal.SIGINT, self.previous)


def _command(recipe: str):
    """A Typer command for `recipe` whose options show that recipe's defaults."""
    defaults = TrainConfig.for_recipe(recipe)

    def command(ctx: typer.Context, **kwargs: Any) -> None:
        _train(ctx, recipe, **kwargs)

    dataset_help = "A dataset name from `paint download --list` (e.g. monet2photo, facades); downloaded on first use."
    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        _param("dataset", str | None, None, typer.Argument(help=dataset_help, show_default=False, hidden=recipe not in ("cyclegan", "pix2pix"))),
        _param("out", Path | None, None, typer.Option("--out", help="Run folder. Default: runs/<data>_<recipe>.", show_default=False)),
        _param("resume", Path | None, None, typer.Option("--resume", help="Continue the run in this folder exactly where it stopped.", show_default=False)),
        _param("devices", int, 1, typer.Option("--devices", help="Train on this many processes (GPUs) of this machine; launches torchrun.")),
        _param("device", str | None, None, DeviceOpt.__metadata__[0]),
        _param("quiet", bool, False, QuietOpt.__metadata__[0]),
    ]
    for name, flags, help_text, recipes in OPTIONS:
        if recipe in recipes:
            default = getattr(defaults, name)
            kind = _TYPES[name]
            option = typer.Option(*flags, help=help_text, show_default=default is not None)
            params.append(_param(name, _annotation(kind, default), default, option))
    command.__signature__ = inspect.Signature(params)
    command.__doc__ = _DOCS[recipe]
    return boundary(command)


def _param(name, annotation, default, info) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info])


def _annotation(kind: str, default):
    """The Python type Typer should parse for a TrainConfig field (its annotation is a string)."""
    if kind.startswith("int"):
        return int | None if "None" in kind else int
    if kind.startswith("float"):
        return float
    if kind == "bool":
        return bool
    return str | None if "None" in kind else str


_DOCS = {
    "cyclegan": """Train CycleGAN (Zhu et al. 2017) on unpaired images.

    Two ResNet generators and two 70x70 PatchGAN discriminators, LSGAN loss, cycle and identity losses,
    an image pool of 50, Adam 2e-4 for 100 epochs then 100 of linear decay: the published recipe.

    Examples:\n
      paint train cyclegan monet2photo\n
      paint train cyclegan --data-a summer/ --data-b winter/ --netG resnet6 --crop-size 128\n
      paint train cyclegan --resume runs/monet2photo_cyclegan\n
      paint train cyclegan horse2zebra --devices 4
    """,
    "pix2pix": """Train pix2pix (Isola et al. 2017) on paired images.

    A U-Net 256 generator with dropout, a conditional PatchGAN on (input, output), vanilla GAN loss plus
    100 x L1, Adam 2e-4 for 100 epochs then 100 of linear decay: the published recipe.

    Examples:\n
      paint train pix2pix facades --direction BtoA\n
      paint train pix2pix --data-a sketches/ --data-b photos/\n
      paint train pix2pix --resume runs/facades_pix2pix
    """,
    "fast-style": """Train a feed-forward network for one style (Johnson et al. 2016), for `paint stylize --method fast`.

    The perceptual loss of the paper: content at relu2_2, Gram style losses at relu1_2, relu2_2, relu3_3 and relu4_3 of a fixed VGG (the bundled VGG19, or --backbone vgg16-torchvision as in the paper); Adam 1e-3, batch 4, 256 px, 2 epochs.

    Examples:\n
      paint train fast-style --style wave.jpg --data coco/train2014/\n
      paint stylize photo.jpg --method fast --model runs/wave_fast-style/latest_net_transformer.pth
    """,
    "adain": """Train an AdaIN decoder (Huang and Belongie 2017), for `paint stylize --method adain --decoder`.

    The paper's recipe: a fixed VGG encoder, AdaIN at relu4_1, content loss at relu4_1 and style loss on feature means and standard deviations at relu1_1 to relu4_1; Adam 1e-4 decaying as 1/(1 + 5e-5 step), batch 8, 256 px crops of 512 px images.

    Examples:\n
      paint train adain --content-dir coco/ --style-dir wikiart/\n
      paint stylize photo.jpg --method adain -s wave.jpg --decoder runs/coco_adain/latest_net_decoder.pth
    """,
}

app.command("cyclegan", no_args_is_help=True)(_command("cyclegan"))
app.command("pix2pix", no_args_is_help=True)(_command("pix2pix"))
app.command("fast-style", no_args_is_help=True)(_command("fast-style"))
app.command("adain", no_args_is_help=True)(_command("adain"))
