"""`paint dream`: Deep Dream on photos, folders and globs."""

from __future__ import annotations

from typing import Annotated

import typer

from paintcli import console
from paintcli.cli.common import (
    DeviceOpt, DevicesOpt, JsonOpt, OutputOpt, OverwriteOpt, QuietOpt, SkipExistingOpt, boundary, launch_shards,
)  # fmt: skip
from paintcli.cli.runner import Painted, Reporting, run
from paintcli.config import DreamConfig, parse_names

D = DreamConfig()


@boundary
def command(
    inputs: Annotated[list[str], typer.Argument(help="Photos, folders of photos, glob patterns, or - for one photo on standard input.", show_default=False)],
    output: OutputOpt = None,
    layers: Annotated[str, typer.Option(help="Comma-separated VGG19 layers to amplify: relu3_x for strokes and patterns, relu4_x for eyes and parts, relu5_x for whole things.")] = ",".join(D.layers),
    size: Annotated[int, typer.Option(help="Longest side of the output in pixels; 0 keeps the photo's size.")] = D.size,
    octaves: Annotated[int, typer.Option(help="Levels of the image pyramid, worked coarse to fine.")] = D.octaves,
    octave_scale: Annotated[float, typer.Option(help="Size ratio between pyramid levels.")] = D.octave_scale,
    steps: Annotated[int, typer.Option(help="Gradient-ascent steps per octave.")] = D.steps,
    lr: Annotated[float, typer.Option(help="Step size (stronger dreams with more).")] = D.lr,
    jitter: Annotated[int, typer.Option(help="Random shift in pixels before each step.")] = D.jitter,
    smooth: Annotated[float, typer.Option(help="Blur of each gradient (sigma in pixels); 0 turns it off.")] = D.smooth,
    tile: Annotated[int | None, typer.Option(help="Compute gradients in tiles of this size, for large photos.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable jitter.", show_default=False)] = None,
    device: DeviceOpt = None,
    devices: DevicesOpt = 1,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Deep Dream: make the network paint what it sees in a photo (Mordvintsev et al. 2015).

    Examples:\\n
      paint dream photo.jpg\\n
      paint dream photo.jpg --layers relu3_3 --octaves 5 -o patterns.png\\n
      paint dream big.jpg --size 0 --tile 512
    """
    from paintcli.paths import Shard, plan_jobs

    launch_shards(devices)
    config = DreamConfig(
        layers=parse_names(layers), size=size or None, octaves=octaves, octave_scale=octave_scale, steps=steps,
        lr=lr, jitter=jitter, smooth=smooth, tile=tile, seed=seed,
    ).validate()  # fmt: skip
    plan = plan_jobs(inputs, output, suffix="_dream", overwrite=overwrite, skip_existing=skip_existing, shard=Shard.from_env())
    run(plan, lambda: _DreamPainter(config, device, quiet), Reporting(json=json_, quiet=quiet, label="dreaming", digits=1))


class _DreamPainter:
    own_progress, batch_size = True, 1

    def __init__(self, config: DreamConfig, device, quiet: bool):
        from paintcli import device as devices
        from paintcli.engines.dream import Dreamer

        self.dreamer, self.quiet = Dreamer(config, device=device), quiet
        self.device = devices.describe(self.dreamer.device)

    def paint(self, images, jobs) -> list[Painted]:
        config = self.dreamer.config
        with console.DreamBar(jobs[0].label, total=config.octaves * config.steps, quiet=self.quiet) as bar:
            result = self.dreamer.run(images[0], on_event=bar.update)
        gain = result.activation_after / max(result.activation_before, 1e-12)
        fields = {"activation_before": result.activation_before, "activation_after": result.activation_after}
        return [Painted(result.image, result.seconds, fields, note=f"  activation x{gain:.1f}")]
