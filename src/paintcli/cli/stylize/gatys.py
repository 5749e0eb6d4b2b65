"""`paint stylize --method gatys` (the default): its options, and the painter that shows a bar per picture."""

from __future__ import annotations

import math
import time
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

Scales = Annotated[str | None, typer.Option(help="Coarse-to-fine longest sides by hand, e.g. 256,512,1024 (the last is the output size; 500 evaluations each unless --iterations). Default: chosen from --size, see --iterations.", show_default=False, rich_help_panel=PANEL)]
Iterations = Annotated[int | None, typer.Option("--iterations", "-n", help="Loss evaluations per scale. Default: a coarse-to-fine schedule from --size: halve it down to no less than 192 px, 250 evaluations at the smallest scale, then 100, 50, 30 at each larger one (512: 256→512, 250+100; 1024: 256→512→1024, 250+100+50); up to 383 px one scale of 300. Each scale starts from the previous result upsampled.", show_default=False, rich_help_panel=PANEL)]
Tol = Annotated[float, typer.Option(help="Stop a scale when the loss fell less than this share over the last 20 evaluations; 0 runs every evaluation.", rich_help_panel=PANEL)]
CoarseLosses = Annotated[bool, typer.Option("--coarse-losses/--no-coarse-losses", help="Above 512 px, keep the large strokes painted at 512 px: the picture shrunk to the last scale up to 512 px stays that scale's result, and only finer detail is optimised; at 2048 px the losses are also taken on it shrunk to 1024. --no-coarse-losses: the full-size losses alone (the photo shows through more).", rich_help_panel=PANEL)]
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

OPTIONS = ("scales", "iterations", "tol", "coarse_losses", "content_weight", "style_weight", "tv_weight", "content_layers", "style_layers",
           "style_layer_weights", "optimizer", "lr", "init", "seed", "style_scale", "backbone", "save_every", "precision")  # fmt: skip


def config(size: int | None, style_blend: str | None, preserve_colors: bool, **o) -> GatysConfig:
    """The GatysConfig these options describe, checked."""
    cfg = GatysConfig(
        size=size or D.size, scales=parse_ints(o["scales"], "--scales") if o["scales"] else (), iterations=o["iterations"],
        tol=o["tol"], coarse_losses=o["coarse_losses"], precision=o["precision"].lower(),
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
        from paintcli import device as devices
        from paintcli.engines.gatys import GatysStylizer

        self.stylizer = GatysStylizer(cfg, device=device, download_progress=console.DownloadBar(quiet))
        self.styles, self.snapshots, self.quiet = styles, snapshots, quiet
        self.device = devices.describe(self.stylizer.device)
        self.warned = False
        # --save-every needs events at exactly those evaluations (on a GPU they otherwise come every 10)
        saved_at = [i for paths in snapshots.values() for (_, i) in paths]
        self.report_every = math.gcd(*saved_at) if saved_at else None
        stops = "each scale stops early when done, --tol 0 runs them all" if cfg.tol else "every evaluation runs (--tol 0)"
        self.announcement = f"gatys: {self.stylizer.describe_schedule()} ({stops})"

    def frame_painter(self, clip):
        from paintcli.engines.video import gatys_frames

        return gatys_frames(self.stylizer, self.styles, clip.temporal)

    def paint(self, images, jobs) -> list[Painted]:
        snaps = self.snapshots[jobs[0]]
        started = time.perf_counter()

        def on_event(step) -> None:
            if self.announcement:  # the first line once the run has started (not before an error)
                console.info(self.announcement, self.quiet)
                self.announcement = ""
            bar.update(step)
            self._estimate_once(step, time.perf_counter() - started)
            path = snaps.get((step.scale, step.iteration))
            if path is not None:
                imageio.save_image(step.preview(), path)

        with console.StepBar(jobs[0].label, quiet=self.quiet) as bar:
            result = self.stylizer.run(images[0], self.styles, on_event=on_event, report_every=self.report_every)
        fields = {"iterations": result.iterations, "evaluations": list(result.evaluations),
                  "schedule": [list(s) for s in result.schedule], "content_loss": result.content_loss,
                  "style_loss": result.style_loss, "tv_loss": result.tv_loss}  # fmt: skip
        return [Painted(result.image, result.seconds, fields, note=f"  {result.iterations} iterations")]

    def _estimate_once(self, step, elapsed: float) -> None:
        """On a CPU, once the pace is known, say how long it will take if that is over a minute."""
        if self.warned or self.stylizer.device.type != "cpu" or elapsed < 3 or step.progress <= 0:
            return
        self.warned = True
        expected = elapsed / step.progress
        if expected > 60:
            console.info(
                f"this will take up to about {expected / 60:.0f} min on this CPU (less if it converges sooner); "
                "--method arbitrary paints any style in under a second", self.quiet,
            )  # fmt: skip


def _snapshot_paths(job: Job, cfg: GatysConfig, every: int) -> dict[tuple[int, int], Path]:
    """{(scale, iteration): path} for --save-every, so existing files can be checked up front."""
    if not every:
        return {}
    if job.output is None:
        raise UsageError("--save-every needs an output file, not standard output", "give -o FILE")
    if job.clip:
        raise UsageError(f"--save-every saves the steps of one picture, and {job.label} is a video clip", "leave --save-every out for video")
    return {
        (scale, i): numbered(job.output, f"s{scale}_{i:04d}")
        for scale, (_, evaluations) in enumerate(cfg.schedule, start=1)
        for i in range(every, evaluations + 1, every)
    }
