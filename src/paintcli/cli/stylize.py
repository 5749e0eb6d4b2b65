"""`paint stylize`: style transfer by Gatys optimisation, a fast feed-forward model, or AdaIN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paintcli import console, imageio
from paintcli.cli.common import INTERRUPTED_EXIT, DeviceOpt, JsonOpt, OverwriteOpt, QuietOpt, boundary, report_output
from paintcli.config import GatysConfig, parse_floats, parse_ints, parse_layer_weights, parse_names
from paintcli.errors import UsageError
from paintcli.paths import collect_inputs, numbered, plan_outputs

D = GatysConfig()  # defaults live in the dataclass; the options below only show them


METHODS = ("gatys", "fast", "adain")


@boundary
def command(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(help="Photos, folders of photos, or glob patterns.", show_default=False)] = None,
    style: Annotated[list[Path] | None, typer.Option("--style", "-s", help="Style image; repeat for several (gatys, adain).", show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", help="gatys (best quality, minutes), fast (a trained --model, instant) or adain (any --style, instant).")] = "gatys",
    model: Annotated[str | None, typer.Option("--model", "-m", help="fast: a style model name (candy, mosaic, rain_princess, udnie) or a TransformerNet .pth.", show_default=False)] = None,
    encoder: Annotated[str | None, typer.Option(help="adain: a local vgg_normalised.pth instead of the downloaded one.", show_default=False)] = None,
    decoder: Annotated[str | None, typer.Option(help="adain: a local decoder.pth instead of the downloaded one.", show_default=False)] = None,
    alpha: Annotated[float, typer.Option(help="adain: how much style, from 0 (the photo) to 1 (full style).")] = 1.0,
    style_size: Annotated[int | None, typer.Option(help="adain: longest side of the style images. Default: 512.", show_default=False)] = None,
    mask: Annotated[Path | None, typer.Option(help="adain: an image whose white part gets the first --style and black part the second.", show_default=False)] = None,
    tile: Annotated[int | None, typer.Option(help="fast: translate in tiles of this many pixels (for very large images).", show_default=False)] = None,
    tile_overlap: Annotated[int, typer.Option(help="fast: overlap between tiles.")] = 64,
    list_styles: Annotated[bool, typer.Option("--list-styles", help="List the pretrained styles and models, then exit.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (one input) or folder (several). Default: <input>_stylized.png beside each input.", show_default=False)] = None,
    size: Annotated[int, typer.Option(help="Longest side of the output in pixels (aspect ratio kept). fast: full resolution unless given.")] = D.size,
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
    """Paint photos in the style of paintings: three methods, from best quality to fastest.

    gatys (default): optimises every pixel against VGG19 features (Gatys et al. 2016). The best quality and any style image, but it takes minutes on a CPU (about 2 s per iteration at 512 px on two cores); a GPU is far faster. --scales 256,512 gets large results sooner.

    fast: one pass through a network trained for one style (Johnson et al. 2016): instant, full resolution, but only the styles it was trained on (--model, see --list-styles; train more with `paint train fast-style`).

    adain: one pass through AdaIN (Huang and Belongie 2017): instant and any --style image, a little less faithful than gatys. --alpha, --style-blend, --preserve-colors and --mask apply.

    Examples:\n
      paint stylize photo.jpg --style wave.jpg\n
      paint stylize photo.jpg -s starry.jpg -s scream.jpg --style-blend 0.7,0.3 -o out.png\n
      paint stylize photos/ -s wave.jpg -o painted/ --size 384 --preserve-colors\n
      paint stylize photo.jpg --method fast --model candy\n
      paint stylize photo.jpg --method adain -s wave.jpg --alpha 0.8\n
      paint stylize photo.jpg --method adain -s wave.jpg -s starry.jpg --mask sky.png
    """
    if list_styles:
        _print_styles()
        return
    if not inputs:
        raise UsageError("no input images given", "pass photos, folders or globs, e.g. paint stylize photo.jpg --style wave.jpg")
    method = method.lower()
    if method not in METHODS:
        raise UsageError(f"unknown --method {method!r}", "use gatys, fast or adain")
    common = dict(output=output, overwrite=overwrite, json_=json_, quiet=quiet, device=device)
    if method == "fast":
        if style:
            raise UsageError("--method fast uses a trained --model, not --style", "use --method adain or gatys for any style image")
        if not model:
            raise UsageError("--method fast needs --model", "e.g. --model candy (see paint stylize --list-styles)")
        given_size = ctx.get_parameter_source("size").name == "COMMANDLINE"
        _fast(inputs, model, size if given_size else None, tile, tile_overlap, preserve_colors, **common)
        return
    if not style:
        raise UsageError(f"--method {method} needs at least one --style image", "e.g. --style wave.jpg")
    if method == "adain":
        blend = parse_floats(style_blend, "--style-blend") if style_blend else ()
        settings = dict(alpha=alpha, blend=blend, size=size, style_size=style_size or 512, preserve_colors=preserve_colors)
        _adain(inputs, style, encoder, decoder, mask, settings, **common)
        return
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


def _fast(inputs, model, size, tile, tile_overlap, preserve_colors, *, output, overwrite, json_, quiet, device) -> None:
    from paintcli import device as devices
    from paintcli.engines.fast_style import FastStylizer

    pairs = _pairs(inputs, output, overwrite)
    stylizer = FastStylizer(model, device=device, tile=tile, tile_overlap=tile_overlap, download_progress=console.DownloadBar(quiet))
    for src, out in _each(pairs, quiet):
        result = stylizer.run(imageio.load_image(src), size=size, preserve_colors=preserve_colors)
        imageio.save_image(result.image, out)
        report_output(src, out, result.image.size, result.seconds, devices.describe(stylizer.device), json_=json_,
                      method="fast", model=stylizer.name, tiles=result.tiles)  # fmt: skip


def _adain(inputs, style, encoder, decoder, mask, settings, *, output, overwrite, json_, quiet, device) -> None:
    from paintcli import device as devices
    from paintcli.engines.adain import AdaINStylizer

    styles = [imageio.load_image(p) for p in style]
    mask_img = imageio.load_image(mask) if mask else None
    pairs = _pairs(inputs, output, overwrite)
    stylizer = AdaINStylizer(
        encoder=encoder or "adain-encoder", decoder_path=decoder or "adain-decoder", device=device,
        download_progress=console.DownloadBar(quiet),
    )  # fmt: skip
    for src, out in _each(pairs, quiet):
        result = stylizer.run(imageio.load_image(src), styles, mask=mask_img, **settings)
        imageio.save_image(result.image, out)
        report_output(src, out, result.image.size, result.seconds, devices.describe(stylizer.device), json_=json_,
                      method="adain", alpha=settings["alpha"])  # fmt: skip


def _pairs(inputs, output, overwrite) -> list[tuple[Path, Path]]:
    """(input, output) paths, checked before any model is loaded."""
    sources = collect_inputs(inputs)
    return list(zip(sources, plan_outputs(sources, output, suffix="_stylized", overwrite=overwrite), strict=True))


def _each(pairs, quiet: bool):
    """The pairs, one at a time, behind a progress bar when there are several."""
    with console.ItemBar("stylizing", total=len(pairs), quiet=quiet or len(pairs) == 1) as bar:
        for pair in pairs:
            yield pair
            bar.advance()


def _print_styles() -> None:
    from rich.table import Table

    from paintcli import cache, registry

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "method", "cached", "description"):
        table.add_column(column)
    for entry in registry.entries("model"):
        if entry.family in ("fast-style", "adain") and not entry.name.endswith("-models"):
            method = "fast (--model)" if entry.family == "fast-style" else "adain"
            table.add_row(entry.name, method, "yes" if cache.is_cached(entry) else "no", entry.description)
    table.add_row("any image", "gatys, adain (--style)", "", "any painting or picture as the style")
    from rich.console import Console

    Console(soft_wrap=False, width=200).print(table)


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
    report_output(
        source, out, result.image.size, result.seconds, result.device, json_=json_,
        note=f"  {result.iterations} iterations", digits=1, iterations=result.iterations,
        content_loss=result.content_loss, style_loss=result.style_loss, tv_loss=result.tv_loss,
    )  # fmt: skip


def _snapshot_paths(out: Path, config: GatysConfig, every: int) -> dict[tuple[int, int], Path]:
    """{(scale, iteration): path} for --save-every, so existing files can be checked up front."""
    if not every:
        return {}
    return {
        (scale, i): numbered(out, f"s{scale}_{i:04d}")
        for scale in range(1, len(config.work_scales) + 1)
        for i in range(every, config.iterations + 1, every)
    }
