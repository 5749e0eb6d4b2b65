"""`paint dream`: Deep Dream on photos, folders and globs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paintcli import console, imageio
from paintcli.cli.common import DeviceOpt, JsonOpt, OverwriteOpt, QuietOpt, boundary, report_output
from paintcli.config import DreamConfig, parse_names
from paintcli.paths import collect_inputs, plan_outputs

D = DreamConfig()


@boundary
def command(
    inputs: Annotated[list[str], typer.Argument(help="Photos, folders of photos, or glob patterns.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (one input) or folder (several). Default: <input>_dream.png beside each input.", show_default=False)] = None,
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
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Deep Dream: make the network paint what it sees in a photo (Mordvintsev et al. 2015).

    Examples:\\n
      paint dream photo.jpg\\n
      paint dream photo.jpg --layers relu3_3 --octaves 5 -o patterns.png\\n
      paint dream big.jpg --size 0 --tile 512
    """
    from paintcli.engines.dream import Dreamer

    config = DreamConfig(
        layers=parse_names(layers), size=size or None, octaves=octaves, octave_scale=octave_scale, steps=steps,
        lr=lr, jitter=jitter, smooth=smooth, tile=tile, seed=seed,
    ).validate()  # fmt: skip
    sources = collect_inputs(inputs)
    outputs = plan_outputs(sources, output, suffix="_dream", overwrite=overwrite)
    images = [imageio.load_image(p) for p in sources]
    dreamer = Dreamer(config, device=device)
    for src, img, out in zip(sources, images, outputs, strict=True):
        with console.DreamBar(src.name, total=config.octaves * config.steps, quiet=quiet) as bar:
            result = dreamer.run(img, on_event=bar.update)
        imageio.save_image(result.image, out)
        gain = result.activation_after / max(result.activation_before, 1e-12)
        report_output(
            src, out, result.image.size, result.seconds, result.device, json_=json_, note=f"  activation x{gain:.1f}",
            digits=1, activation_before=result.activation_before, activation_after=result.activation_after,
        )  # fmt: skip
