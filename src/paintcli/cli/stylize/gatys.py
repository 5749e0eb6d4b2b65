"""`paint stylize --method gatys` (the default): its options, and the painter that shows a bar per picture."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paintcli import console, imageio
from paintcli.cli.runner import Painted
from paintcli.config import GatysConfig, parse_floats, parse_ints, parse_layer_weights, parse_names
from paintcli.errors import UsageError
from paintcli.paths import Job, Plan, numbered

D = GatysConfig()  # defaults live in the dataclass; the options below only show them
PANEL = "gatys (default): optimisation, best quality"

Scales = Annotated[str | None, typer.Option(help="Coarse-to-fine longest sides, e.g. 256,512,1024; the last is the output size. Each scale starts from the previous result.", show_default=False, rich_help_panel=PANEL)]
Iterations = Annotated[int, typer.Option("--iterations", "-n", help="Loss evaluations per scale, whatever the optimizer.", rich_help_panel=PANEL)]
ContentWeight = Annotated[float | None, typer.Option(help="Weight of the content loss. Default: 5 (vgg19), 1 (vgg19-torchvision).", show_default=False, rich_help_panel=PANEL)]
StyleWeight = Annotated[float | None, typer.Option(help="Weight of the style loss. Default: 100 (vgg19), 1e6 (vgg19-torchvision).", show_default=False, rich_help_panel=PANEL)]
TvWeight = Annotated[float, typer.Option(help="Weight of the total-variation (smoothness) loss; 0 turns it off.", rich_help_panel=PANEL)]
ContentLayers = Annotated[str, typer.Option(help="Comma-separated VGG19 layers for the content loss.", rich_help_panel=PANEL)]
StyleLayers = Annotated[str, typer.Option(help="Comma-separated VGG19 layers for the style loss.", rich_help_panel=PANEL)]
StyleLayerWeights = Annotated[str, typer.Option(help="'equal', a list like 1,0.5,0.25,... (one per style layer), or decay:0.5 (each deeper layer weighted half the one before).", rich_help_panel=PANEL)]
Optimizer = Annotated[str, typer.Option(help="lbfgs (better images) or adam (less memory).", rich_help_panel=PANEL)]
Lr = Annotated[float | None, typer.Option(help="Learning rate. Default: 1 for lbfgs, 2 for adam (pixels 0-255).", show_default=False, rich_help_panel=PANEL)]
Init = Annotated[str, typer.Option(help="Starting image: content, noise, style, or a path to an image.", rich_help_panel=PANEL)]
Seed = Annotated[int | None, typer.Option(help="Random seed, for repeatable runs.", show_default=False, rich_help_panel=PANEL)]
StyleScale = Annotated[float, typer.Option(help="Size of the style image relative to --size (smaller: larger brush strokes).", rich_help_panel=PANEL)]
Backbone = Annotated[str, typer.Option(help="Feature network: vgg19 (bundled, original weights) or vgg19-torchvision (downloaded once).", rich_help_panel=PANEL)]
SaveEvery = Annotated[int, typer.Option(help="Also save the image every N iterations (as <output>_s<scale>_<iter>.png); 0: never.", rich_help_panel=PANEL)]

OPTIONS = ("scales", "iterations", "content_weight", "style_weight", "tv_weight", "content_layers", "style_layers",
           "style_layer_weights", "optimizer", "lr", "init", "seed", "style_scale", "backbone", "save_every")  # fmt: skip


def config(size: int | None, style_blend: str | None, preserve_colors: bool, **o) -> GatysConfig:
    """The GatysConfig these options describe, checked."""
    cfg = GatysConfig(
        size=size or D.size, scales=parse_ints(o["scales"], "--scales") if o["scales"] else (), iterations=o["iterations"],
        content_weight=o["content_weight"], style_weight=o["style_weight"], tv_weight=o["tv_weight"],
        content_layers=parse_names(o["content_layers"]), style_layers=parse_names(o["style_layers"]),
        style_layer_weights=parse_layer_weights(o["style_layer_weights"], len(parse_names(o["style_layers"]))),
        optimizer=o["optimizer"].lower(), lr=o["lr"], init=o["init"], seed=o["seed"], style_scale=o["style_scale"],
        style_blend=parse_floats(style_blend, "--style-blend") if style_blend else (), preserve_colors=preserve_colors,
        backbone=o["backbone"],
    ).validate()  # fmt: skip
    if o["scales"] and size is not None and cfg.scales[-1] != size:
        raise UsageError(f"--size {size} disagrees with the last of --scales {o['scales']}", "give only one of them")
    if o["save_every"] < 0:
        raise UsageError("--save-every must not be negative", "use 0 to save only the final image")
    if cfg.init not in {"content", "noise", "style"} and not Path(cfg.init).is_file():
        raise UsageError(f"--init {cfg.init!r} is not content, noise, style or an existing image", "check the path")
    return cfg


def painter(cfg: GatysConfig, styles, plan: Plan, save_every: int, *, device, quiet: bool, overwrite: bool):
    """A function that builds the painter, after checking that no snapshot would overwrite a file."""
    snapshots = {job: _snapshot_paths(job, cfg, save_every) for job in plan.jobs}
    for paths in snapshots.values():
        for path in paths.values():
            imageio.check_output_path(path, overwrite=overwrite)
    return lambda: _GatysPainter(cfg, styles, snapshots, device, quiet)


class _GatysPainter:
    own_progress, batch_size = True, 1

    def __init__(self, cfg: GatysConfig, styles, snapshots, device, quiet: bool):
        from paintcli.engines.gatys import GatysStylizer

        self.stylizer = GatysStylizer(cfg, device=device, download_progress=console.DownloadBar(quiet))
        self.styles, self.snapshots, self.quiet = styles, snapshots, quiet
        from paintcli import device as devices

        self.device = devices.describe(self.stylizer.device)

    def paint(self, images, jobs) -> list[Painted]:
        snaps = self.snapshots[jobs[0]]

        def on_event(step) -> None:
            bar.update(step)
            path = snaps.get((step.scale, step.iteration))
            if path is not None:
                imageio.save_image(step.preview(), path)

        with console.StepBar(jobs[0].label, quiet=self.quiet) as bar:
            result = self.stylizer.run(images[0], self.styles, on_event=on_event)
        fields = {"iterations": result.iterations, "content_loss": result.content_loss, "style_loss": result.style_loss, "tv_loss": result.tv_loss}
        return [Painted(result.image, result.seconds, fields, note=f"  {result.iterations} iterations")]


def _snapshot_paths(job: Job, cfg: GatysConfig, every: int) -> dict[tuple[int, int], Path]:
    """{(scale, iteration): path} for --save-every, so existing files can be checked up front."""
    if not every:
        return {}
    if job.output is None:
        raise UsageError("--save-every needs an output file, not standard output", "give -o FILE")
    return {
        (scale, i): numbered(job.output, f"s{scale}_{i:04d}")
        for scale in range(1, len(cfg.work_scales) + 1)
        for i in range(every, cfg.iterations + 1, every)
    }
