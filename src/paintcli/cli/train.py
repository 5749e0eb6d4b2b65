"""`paint train cyclegan|pix2pix|fast-style|adain`: the published recipes, every hyperparameter an option.

Each command is built from its recipe's settings dataclass (training/settings.py): one option per
field, with the field's default and help, so `paint train pix2pix --help` shows unet256, batch
norm and vanilla GAN, and the resume rules come from the same fields.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import threading
import typing
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from paintcli import console, memory
from paintcli.cli.common import DeviceOpt, QuietOpt, boundary
from paintcli.errors import UsageError
from paintcli.training.settings import RECIPES, TrainSettings, for_recipe, from_saved, resumable

app = typer.Typer(
    help="Train CycleGAN, pix2pix, fast-style and AdaIN models with the published recipes; resumable, on one or several processes.",
    no_args_is_help=True,
)


def _train(
    ctx: typer.Context,
    recipe: str,
    out: Path | None,
    resume: Path | None,
    devices: int,
    device: str | None,
    quiet: bool,
    **settings: Any,
) -> None:
    import sys

    from paintcli import launch

    if devices > 1 and "WORLD_SIZE" not in os.environ:
        raise typer.Exit(launch.torchrun(devices, launch.argv_without_devices(sys.argv[1:])))
    from paintcli.training.loop import train

    memory.resume_collector()  # torch is imported: start-up is over
    given = {k for k in settings if ctx.get_parameter_source(k).name == "COMMANDLINE"}
    if resume is not None:
        cfg = _resumed_config(resume, recipe, {k: settings[k] for k in given})
        run_dir = resume
    else:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()}
        cfg = for_recipe(recipe, **settings).validate()
        run_dir = out or Path("runs") / f"{cfg.data_name()}_{recipe}"
        if (run_dir / "checkpoints").exists():
            raise UsageError(f"the run folder {run_dir} already holds a run", f"continue it with --resume {run_dir}, or choose --out")
    main = os.environ.get("RANK", "0") == "0"
    _announce_watching(cfg, run_dir, quiet or not main)
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


def _announce_watching(cfg: TrainSettings, run_dir: Path, quiet: bool) -> None:
    from paintcli.training.watch import PLOTS_EXTRA, can_plot

    if cfg.tensorboard:
        console.info(console.escape(f"TensorBoard: tensorboard --logdir {run_dir.parent}"), quiet)
    if not can_plot():
        console.info(console.escape(f"losses.png will not be drawn: matplotlib is missing ({PLOTS_EXTRA})"), quiet)


def _resumed_config(run_dir: Path, recipe: str, given: dict) -> TrainSettings:
    settings_file = run_dir / "settings.json"
    if not settings_file.is_file():
        raise UsageError(f"{run_dir} is not a paint training run (no settings.json)", "pass the folder a previous `paint train` wrote")
    cfg = from_saved(json.loads(settings_file.read_text()))
    if cfg.recipe != recipe:
        raise UsageError(f"{run_dir} is a {cfg.recipe} run", f"resume it with `paint train {cfg.recipe} --resume {run_dir}`")
    allowed = resumable(type(cfg))
    fixed = sorted(set(given) - allowed)
    if fixed:
        names = ", ".join("DATASET" if name == "dataset" else name for name in fixed)
        raise UsageError(f"cannot change {names} when resuming", f"only {', '.join(sorted(allowed))} may change")
    return replace(cfg, **given).validate()


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
    """A Typer command for `recipe` whose options are its settings' fields, with their defaults."""
    cls = RECIPES[recipe]
    hints = typing.get_type_hints(cls)

    def command(ctx: typer.Context, **kwargs: Any) -> None:
        _train(ctx, recipe, **kwargs)

    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    if "dataset" in hints:
        dataset_help = "A dataset name from `paint download --list` (e.g. monet2photo, facades); downloaded on first use."
        params.append(_param("dataset", str | None, None, typer.Argument(help=dataset_help, show_default=False)))
    params += [
        _param("out", Path | None, None, typer.Option("--out", help="Run folder. Default: runs/<data>_<recipe>.", show_default=False)),
        _param("resume", Path | None, None, typer.Option("--resume", help="Continue the run in this folder exactly where it stopped.", show_default=False)),
        _param("devices", int, 1, typer.Option("--devices", help="Train on this many processes (GPUs) of this machine; launches torchrun.")),
        _param("device", str | None, None, DeviceOpt.__metadata__[0]),
        _param("quiet", bool, False, QuietOpt.__metadata__[0]),
    ]
    for f in fields(cls):
        if not f.metadata.get("cli", True):
            continue
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        option = typer.Option(flag, help=f.metadata["help"], show_default=f.default is not None)
        params.append(_param(f.name, hints[f.name], f.default, option))
    command.__signature__ = inspect.Signature(params)
    command.__doc__ = _DOCS[recipe]
    return boundary(command)


def _param(name, annotation, default, info) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info])


_DOCS = {
    "cyclegan": """Train CycleGAN (Zhu et al. 2017) on unpaired images.

    Two ResNet generators and two 70x70 PatchGAN discriminators, LSGAN loss, cycle and identity losses, an image pool of 50, Adam 2e-4 for 100 epochs then 100 of linear decay: the published recipe.

    Examples:\n
      paint train cyclegan monet2photo\n
      paint train cyclegan --data-a summer/ --data-b winter/ --netG resnet6 --crop-size 128\n
      paint train cyclegan --resume runs/monet2photo_cyclegan\n
      paint train cyclegan horse2zebra --devices 4
    """,
    "pix2pix": """Train pix2pix (Isola et al. 2017) on paired images.

    A U-Net 256 generator with dropout, a conditional PatchGAN on (input, output), vanilla GAN loss plus 100 x L1, Adam 2e-4 for 100 epochs then 100 of linear decay: the published recipe.

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

_WATCHING = """
    Watching: the run folder gets metrics.jsonl (every step), samples/ (each epoch) and losses.png (the curves, redrawn at every save; needs paintcli\\[plots]); --tensorboard also writes TensorBoard events (tensorboard --logdir runs; needs paintcli\\[tensorboard]).
    """

for _recipe in RECIPES:
    _DOCS[_recipe] = _DOCS[_recipe].rstrip() + "\n" + _WATCHING
    app.command(_recipe, no_args_is_help=True)(_command(_recipe))
