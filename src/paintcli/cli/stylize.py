"""`paint stylize`: Gatys neural style transfer on one photo, several, or a folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from paintcli import console, imageio
from paintcli.cli.common import INTERRUPTED_EXIT, DeviceOpt, JsonOpt, OverwriteOpt, QuietOpt, boundary
from paintcli.config import GatysConfig, parse_floats, parse_ints, parse_layer_weights, parse_names
from paintcli.errors import UsageError
from paintcli.paths import collect_inputs, numbered, plan_outputs

D = GatysConfig()  # defaults live in the dataclass; the options below only show them


@boundary
def command(
    inputs: Annotated[list[str], typer.Argument(help="Photos, folders of photos, or glob patterns.", show_default=False)],
    style: Annotated[list[Path], typer.Option("--style", "-s", help="Style image; repeat for several.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (one input) or folder (several). Default: <input>_stylized.png beside each input.", show_default=False)] = None,
    size: Annotated[int, typer.Option(help="Longest side of the output in pixels (aspect ratio kept).")] = D.size,
    scales: Annotated[str | None, typer.Option(help="Coarse-to-fine longest sides, e.g. 256,512,1024; the last is the output size. Each scale starts from the previous result.", show_default=False)] = None,
    iterations: Annotated[int, typer.Option("--iterations", "-n", help="Loss evaluations per scale, whatever the optimizer.")] = D.iterations,
    content_weight: Annotated[float | None, typer.Option(help="Weight of the content loss. Default: 5 (vgg19), 1 (vgg19-torchvision).", show_default=False)] = None,
    style_weight: Annotated[float | None, typer.Option(help="Weight of the style loss. Default: 100 (vgg19), 1e6 (vgg19-torchvision).", show_default=False)] = None,
    tv_weight: Annotated[float, typer.Option(help="Weight of the total-variation (smoothness) loss; 0 turns it off.")] = D.tv_weight,
    content_layers: Annotated[str, typer.Option(help="Comma-separated VGG19 layers for the content loss.")] = ",".join(D.content_layers),
    style_layers: Annotated[str, typer.Option(help="Comma-separated VGG19 layers for the style loss.")] = ",".join(D.style_layers),
    style_layer_weights: Annotated[str, typer.Option(help="'equal', a list like 1,0.5,0.25,... (one per style layer), or decay:0.5 (each deeper layer weighted half the one before).")] = "equal",
    optimizer: Annotated[str, typer.Option(help="lbfgs (better images) or adam (less memory).")] = D.optimizer,
    lr: Annotated[float | None, typer.Option(help="Learning rate. Default: 1 for lbfgs, 2 for adam (pixels 0-255).", show_default=False)] = None,
    init: Annotated[str, typer.Option(help="Starting image: content, noise, style, or a path to an image.")] = D.init,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable runs.", show_default=False)] = None,
    style_scale: Annotated[float, typer.Option(help="Size of the style image relative to --size (smaller: larger brush strokes).")] = D.style_scale,
    style_blend: Annotated[str | None, typer.Option(help="Weights for several --style images, e.g. 0.7,0.3.", show_default=False)] = None,
    preserve_colors: Annotated[bool, typer.Option("--preserve-colors", help="Transfer the style to the luminance only and keep the photo's colours.")] = False,
    backbone: Annotated[str, typer.Option(help="Feature network: vgg19 (bundled, original weights) or vgg19-torchvision (downloaded once).")] = D.backbone,
    save_every: Annotated[int, typer.Option(help="Also save the image every N iterations (as <output>_s<scale>_<iter>.png); 0: never.")] = 0,
    device: DeviceOpt = None,
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Paint photos in the style of one or more paintings (Gatys et al. neural style transfer).

    Optimises every pixel, so it takes a while on a CPU (about 2 s per iteration at 512 px on two cores); a GPU is far faster. --scales 256,512 gets large results sooner.

    Examples:\n
      paint stylize photo.jpg --style wave.jpg\n
      paint stylize photo.jpg -s starry.jpg -s scream.jpg --style-blend 0.7,0.3 -o out.png\n
      paint stylize photos/ -s wave.jpg -o painted/ --size 384 --preserve-colors\n
      paint stylize photo.jpg -s wave.jpg --scales 256,512,1024 --iterations 300
    """
    from paintcli.engines.gatys import GatysStylizer  # heavy: imported only when the command runs

    config = GatysConfig(
        size=size,
        scales=parse_ints(scales, "--scales") if scales else (),
        iterations=iterations,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        content_layers=parse_names(content_layers),
        style_layers=parse_names(style_layers),
        style_layer_weights=parse_layer_weights(style_layer_weights, len(parse_names(style_layers))),
        optimizer=optimizer.lower(),  # type: ignore[arg-type]
        lr=lr,
        init=init,
        seed=seed,
        style_scale=style_scale,
        style_blend=parse_floats(style_blend, "--style-blend") if style_blend else (),
        preserve_colors=preserve_colors,
        backbone=backbone,
    ).validate()
    if scales and size != D.size and config.scales[-1] != size:
        raise UsageError(f"--size {size} disagrees with the last of --scales {scales}", "give only one of them")
    if save_every < 0:
        raise UsageError("--save-every must not be negative", "use 0 to save only the final image")
    if config.init not in {"content", "noise", "style"} and not Path(config.init).is_file():
        raise UsageError(f"--init {config.init!r} is not content, noise, style or an existing image", "check the path")

    # Read and check everything before the long work starts.
    sources = collect_inputs(inputs)
    styles = [imageio.load_image(p) for p in style]
    outputs = plan_outputs(sources, output, suffix="_stylized", overwrite=overwrite)
    snapshots = [_snapshot_paths(out, config, save_every) for out in outputs]
    for paths in snapshots:
        for path in paths.values():
            imageio.check_output_path(path, overwrite=overwrite)
    contents = [imageio.load_image(p) for p in sources]

    stylizer = GatysStylizer(config, device=device, download_progress=console.DownloadBar(quiet))
    for source, content, out, snaps in zip(sources, contents, outputs, snapshots, strict=True):
        _run_one(stylizer, source, content, styles, out, snaps, json_=json_, quiet=quiet)


@dataclass
class _Summary:
    input: str
    output: str
    size: list[int]
    seconds: float
    device: str
    iterations: int
    content_loss: float
    style_loss: float
    tv_loss: float


def _run_one(stylizer, source: Path, content, styles, out: Path, snaps, *, json_: bool, quiet: bool) -> None:
    from paintcli.engines.gatys import Interrupted

    def on_event(step) -> None:
        bar.update(step)
        path = snaps.get((step.scale, step.iteration))
        if path is not None:
            imageio.save_image(step.preview(), path)

    try:
        with console.StepBar(source.name, quiet=quiet) as bar:
            result = stylizer.run(content, styles, on_event=on_event)
    except Interrupted as stop:
        imageio.save_image(stop.image, out)
        console.err().print(f"interrupted: saved the image so far to {console.escape(str(out))}")
        raise typer.Exit(INTERRUPTED_EXIT) from None
    imageio.save_image(result.image, out)
    summary = _Summary(
        input=str(source),
        output=str(out),
        size=list(result.image.size),
        seconds=round(result.seconds, 3),
        device=result.device,
        iterations=result.iterations,
        content_loss=result.content_loss,
        style_loss=result.style_loss,
        tv_loss=result.tv_loss,
    )
    if json_:
        typer.echo(json.dumps(summary.__dict__))
    else:
        w, h = result.image.size
        typer.echo(f"{out}  {w}x{h}  {result.seconds:.1f}s  {result.iterations} iterations  {result.device}")


def _snapshot_paths(out: Path, config: GatysConfig, every: int) -> dict[tuple[int, int], Path]:
    """{(scale, iteration): path} for --save-every, so existing files can be checked up front."""
    if not every:
        return {}
    return {
        (scale, i): numbered(out, f"s{scale}_{i:04d}")
        for scale in range(1, len(config.work_scales) + 1)
        for i in range(every, config.iterations + 1, every)
    }
