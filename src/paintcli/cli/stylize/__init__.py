"""`paint stylize`: style transfer by Gatys optimisation, a fast feed-forward model, or AdaIN.

This module holds the command's signature, the options every method shares, and the dispatch;
each method's own options and painter live in its module (gatys.py, fast.py, adain.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paintcli.cli.common import (
    DeviceOpt, DevicesOpt, JsonOpt, OutputOpt, OverwriteOpt, QuietOpt, SkipExistingOpt, boundary, launch_shards,
)  # fmt: skip
from paintcli.cli.runner import Reporting, run
from paintcli.cli.stylize import adain, fast, gatys
from paintcli.errors import UsageError

METHODS = {"gatys": gatys, "fast": fast, "adain": adain}
ONE_PASS = "one-pass methods (fast, adain)"


@boundary
def command(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(help="Photos, folders of photos, glob patterns, or - for one photo on standard input.", show_default=False)] = None,
    style: Annotated[list[Path] | None, typer.Option("--style", "-s", help="Style image; repeat for several (gatys, adain).", show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", help="gatys (best quality, minutes), fast (a trained --model, instant) or adain (any --style, instant).")] = "gatys",
    output: OutputOpt = None,
    size: Annotated[int | None, typer.Option(help="Longest side of the output in pixels (aspect ratio kept). Default: 512 (gatys, adain), the photo's own size (fast).", show_default=False)] = None,
    style_blend: Annotated[str | None, typer.Option(help="Weights for several --style images, e.g. 0.7,0.3 (gatys, adain).", show_default=False)] = None,
    preserve_colors: Annotated[bool, typer.Option("--preserve-colors", help="Keep the photo's colours: transfer the style to the luminance only.")] = False,
    list_styles: Annotated[bool, typer.Option("--list-styles", help="List the pretrained styles and models, then exit.")] = False,
    # gatys
    scales: gatys.Scales = None,
    iterations: gatys.Iterations = gatys.D.iterations,
    content_weight: gatys.ContentWeight = None,
    style_weight: gatys.StyleWeight = None,
    tv_weight: gatys.TvWeight = gatys.D.tv_weight,
    content_layers: gatys.ContentLayers = ",".join(gatys.D.content_layers),
    style_layers: gatys.StyleLayers = ",".join(gatys.D.style_layers),
    style_layer_weights: gatys.StyleLayerWeights = "equal",
    optimizer: gatys.Optimizer = gatys.D.optimizer,
    lr: gatys.Lr = None,
    init: gatys.Init = gatys.D.init,
    seed: gatys.Seed = None,
    style_scale: gatys.StyleScale = gatys.D.style_scale,
    backbone: gatys.Backbone = gatys.D.backbone,
    save_every: gatys.SaveEvery = 0,
    # fast
    model: fast.Model = None,
    # adain
    encoder: adain.Encoder = None,
    decoder: adain.Decoder = None,
    alpha: adain.Alpha = 1.0,
    style_size: adain.StyleSize = None,
    mask: adain.Mask = None,
    # every one-pass method
    tile: Annotated[int | None, typer.Option(help="Paint in tiles of this many pixels (for very large images). Default: only when memory is short.", show_default=False, rich_help_panel=ONE_PASS)] = None,
    tile_overlap: Annotated[int, typer.Option(help="Overlap between tiles, blended so no seams show.", rich_help_panel=ONE_PASS)] = 64,
    device: DeviceOpt = None,
    devices: DevicesOpt = 1,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
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
      cat photo.jpg | paint stylize - --method fast --model mosaic -o - > mosaic.png
    """
    if list_styles:
        _print_styles()
        return
    if not inputs:
        raise UsageError("no input images given", "pass photos, folders or globs, e.g. paint stylize photo.jpg --style wave.jpg")
    method = method.lower()
    if method not in METHODS:
        raise UsageError(f"unknown --method {method!r}", f"use {', '.join(METHODS)}")
    launch_shards(devices)
    _refuse_other_methods_options(ctx, method)
    from paintcli import imageio
    from paintcli.config import OnePassConfig
    from paintcli.paths import Shard, plan_jobs

    o = ctx.params
    styles = [imageio.load_image(p) for p in style or []]
    common = dict(device=device, quiet=quiet)
    if method == "gatys":
        if not styles:
            raise UsageError("--method gatys needs at least one --style image", "e.g. --style wave.jpg")
        cfg = gatys.config(size, style_blend, preserve_colors, **{k: o[k] for k in gatys.OPTIONS})
    elif method == "fast":
        settings = OnePassConfig(size=size, tile=tile, tile_overlap=tile_overlap, preserve_colors=preserve_colors)
        build = fast.painter(model, styles, settings, **common)
    else:
        build = adain.painter(styles, size, style_blend, preserve_colors, tile, tile_overlap, **{k: o[k] for k in adain.OPTIONS}, **common)
    plan = plan_jobs(inputs, output, suffix="_stylized", overwrite=overwrite, skip_existing=skip_existing, shard=Shard.from_env())
    if method == "gatys":
        build = gatys.painter(cfg, styles, plan, save_every, overwrite=overwrite, **common)
    run(plan, build, Reporting(json=json_, quiet=quiet, label="stylizing", digits=1 if method == "gatys" else 2))


def _refuse_other_methods_options(ctx: typer.Context, method: str) -> None:
    """An option of another method is a mistake worth saying, not something to ignore silently."""
    for other, module in METHODS.items():
        if other == method:
            continue
        for name in module.OPTIONS:
            if name not in METHODS[method].OPTIONS and ctx.get_parameter_source(name).name == "COMMANDLINE":
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} is an option of --method {other}, not {method}", f"use --method {other}, or leave {flag} out")


def _print_styles() -> None:
    from rich.console import Console
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
    Console(soft_wrap=False, width=200).print(table)
