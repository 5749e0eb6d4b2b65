"""`paint stylize`: style transfer by Gatys optimisation, a trained fast model, AdaIN, or the bundled
instant networks (any style image, or 26 built-in styles).

This module holds the command's signature, the options every method shares, and the dispatch;
each method's own options and painter live in its module (gatys.py, fast.py, adain.py, instant.py).
"""

from __future__ import annotations

from typing import Annotated

import typer

from paintcli.cli.common import (
    CrfOpt, DeviceOpt, DevicesOpt, EndOpt, FramesOpt, JsonOpt, OutputOpt, OverwriteOpt, QuietOpt,
    PresetOpt, SkipExistingOpt, StartOpt, TemporalOpt, boundary, launch_shards,
)  # fmt: skip
from paintcli.cli.runner import Reporting, run
from paintcli.cli.stylize import adain, fast, gatys, instant
from paintcli.config import ClipSettings
from paintcli.errors import UsageError

METHODS = {"gatys": gatys, "fast": fast, "adain": adain, "arbitrary": instant, "builtin": instant}
ONE_PASS = "one-pass methods (fast, adain, arbitrary, builtin)"
Precision = Annotated[str, typer.Option(help="auto, fp32 or bf16. gatys: auto is float32 (TF32 on CUDA); bf16 autocasts the VGG passes on CUDA, Gram matrices and losses in float32. builtin, fast, adain: bf16 runs the network in bfloat16 (within 40 dB of float32); auto does so on a CPU with native bf16 (AVX512-BF16 or AMX: 1.2-2x faster on 2 cores), else float32. arbitrary: auto convolves its int8 codes on an x86 CPU (oneDNN, the release's own integer arithmetic: 1.1-1.6x faster on 2 cores), fp32 in float32.")]


@boundary
def command(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(help="Photos, folders of photos, glob patterns, or - for one photo on standard input.", show_default=False)] = None,
    style: Annotated[list[str] | None, typer.Option("--style", "-s", help="A style image (repeat for several), or a built-in style: a name or number from --list-styles, or a mix like starry:0.5,wave:0.5.", show_default=False)] = None,
    method: Annotated[str | None, typer.Option("--method", help="gatys (best quality, minutes), arbitrary (any --style, bundled, instant), builtin (26 bundled styles, instant), fast (a trained --model) or adain (any --style, downloaded). Default: builtin when --style names built-in styles, else gatys.", show_default=False)] = None,
    output: OutputOpt = None,
    size: Annotated[int | None, typer.Option(help="Longest side of the output in pixels (aspect ratio kept). Default: 512 (gatys, adain), the photo's own size (fast, arbitrary, builtin).", show_default=False)] = None,
    style_blend: Annotated[str | None, typer.Option(help="Weights for several --style images, e.g. 0.7,0.3 (gatys, adain, arbitrary).", show_default=False)] = None,
    preserve_colors: Annotated[bool, typer.Option("--preserve-colors", help="Keep the photo's colours: transfer the style to the luminance only.")] = False,
    list_styles: Annotated[bool, typer.Option("--list-styles", help="List the pretrained styles and models, then exit.")] = False,
    # gatys
    scales: gatys.Scales = None,
    iterations: gatys.Iterations = None,
    tol: gatys.Tol = gatys.D.tol,
    coarse_losses: gatys.CoarseLosses = gatys.D.coarse_losses,
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
    # arbitrary, builtin
    strength: instant.Strength = 1.0,
    # every one-pass method
    tile: Annotated[int | None, typer.Option(help="Paint in tiles of this many pixels (for very large images). Default: only when memory is short.", show_default=False, rich_help_panel=ONE_PASS)] = None,
    tile_overlap: Annotated[int, typer.Option(help="Overlap between tiles, blended so no seams show.", rich_help_panel=ONE_PASS)] = 64,
    work_size: Annotated[int | None, typer.Option(help="Run the network at this longest side and scale the result up to the output size: faster, softer.", show_default=False, rich_help_panel=ONE_PASS)] = None,
    precision: Precision = "auto",
    compile_: Annotated[bool, typer.Option("--compile", help="Compile the network first (torch.compile): tens of seconds once, then about twice as fast; for folders and videos.", rich_help_panel=ONE_PASS)] = False,
    # video
    temporal: TemporalOpt = ClipSettings.temporal,
    crf: CrfOpt = ClipSettings.crf,
    preset: PresetOpt = ClipSettings.preset,
    start: StartOpt = None,
    end: EndOpt = None,
    frames: FramesOpt = False,
    device: DeviceOpt = None,
    devices: DevicesOpt = 1,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Paint photos in the style of paintings: five methods, from best quality to fastest.

    gatys (default): optimises every pixel against VGG19 features (Gatys et al. 2016), coarse to fine. The best quality and any style image; minutes on a CPU, seconds on a GPU.

    arbitrary: any --style image in one pass with Magenta's arbitrary stylization network (Ghiasi et al. 2017), which ships with paint: offline, under a second on a CPU. --strength and --style-blend apply.

    builtin: 26 built-in styles (Dumoulin et al. 2017), also shipped: --style starry, --style 7, or mixes like --style starry:0.5,wave:0.5 (see --list-styles, or `paint styles sheet photo.jpg`).

    fast: one pass through a network trained for one style (Johnson et al. 2016): --model candy, mosaic, ... (downloaded once) or one you trained with `paint train fast-style`.

    adain: any --style image in one pass through AdaIN (Huang and Belongie 2017), downloaded once. --alpha, --style-blend, --preserve-colors and --mask apply.

    Examples:\n
      paint stylize photo.jpg --style wave.jpg\n
      paint stylize photo.jpg --style starry\n
      paint stylize photo.jpg --method arbitrary -s wave.jpg --strength 0.7\n
      paint stylize photo.jpg -s starry.jpg -s scream.jpg --style-blend 0.7,0.3 -o out.png\n
      paint stylize photos/ -s wave.jpg -o painted/ --size 384 --preserve-colors\n
      paint stylize photo.jpg --method fast --model candy\n
      paint stylize clip.mp4 --style starry --size 640 -o starry.mp4\n
      cat photo.jpg | paint stylize - --style starry:0.5,wave:0.5 -o - > mix.png
    """
    if list_styles:
        _print_styles()
        return
    if not inputs:
        raise UsageError("no input images given", "pass photos, folders or globs, e.g. paint stylize photo.jpg --style wave.jpg")
    style = style or []
    method = (method or ("builtin" if instant.looks_builtin(style) else "gatys")).lower()
    if method not in METHODS:
        raise UsageError(f"unknown --method {method!r}", f"use {', '.join(METHODS)}")
    launch_shards(devices)
    _refuse_other_methods_options(ctx, method)
    from paintcli import imageio
    from paintcli.config import OnePassConfig
    from paintcli.paths import Shard, plan_jobs

    o = ctx.params
    common = dict(device=device, quiet=quiet)
    one_pass = OnePassConfig(size=size, tile=tile, tile_overlap=tile_overlap, preserve_colors=preserve_colors, work_size=work_size,
                             compile=compile_, precision=precision.lower()).validate()  # fmt: skip
    if method == "builtin":
        build = instant.builtin_painter(style, strength, one_pass, **common)
    elif method == "arbitrary":
        build = instant.arbitrary_painter(style, style_blend, strength, one_pass, **common)
    elif method == "fast":
        build = fast.painter(model, style, one_pass, **common)
    else:
        styles = [imageio.load_image(p) for p in style]
        if method == "adain":
            build = adain.painter(styles, size, style_blend, preserve_colors, tile, tile_overlap, **{k: o[k] for k in adain.OPTIONS}, **common)
        elif not styles:
            raise UsageError("--method gatys needs at least one --style image", "e.g. --style wave.jpg")
        else:
            cfg = gatys.config(size, style_blend, preserve_colors, **{k: o[k] for k in gatys.OPTIONS})
    frame_size = cfg.size if method == "gatys" else (size or 512) if method == "adain" else size
    clip = ClipSettings(frame_size, temporal, crf, start, end, overwrite=overwrite, preset=preset).validate()
    plan = plan_jobs(inputs, output, suffix="_stylized", overwrite=overwrite, skip_existing=skip_existing, shard=Shard.from_env(), frames=frames)
    if method == "gatys":
        build = gatys.painter(cfg, styles, plan, save_every, overwrite=overwrite, **common)
    run(plan, build, Reporting(json=json_, quiet=quiet, label="stylizing", digits=1 if method == "gatys" else 2), clip)


def _refuse_other_methods_options(ctx: typer.Context, method: str) -> None:
    """An option of another method is a mistake worth saying, not something to ignore silently."""
    for name in dict.fromkeys(n for module in METHODS.values() for n in module.OPTIONS):
        if name in METHODS[method].OPTIONS or ctx.get_parameter_source(name).name != "COMMANDLINE":
            continue
        owners = [m for m, module in METHODS.items() if name in module.OPTIONS]
        flag, named = "--" + name.replace("_", "-"), " or ".join([", ".join(owners[:-1]), owners[-1]] if len(owners) > 1 else owners)
        raise UsageError(f"{flag} is an option of --method {named}, not {method}", f"use --method {owners[0]}, or leave {flag} out")


def _print_styles() -> None:
    from rich.console import Console
    from rich.table import Table

    from paintcli import cache, registry

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "method", "cached", "description"):
        table.add_column(column)
    for number, name in enumerate(registry.BUILTIN_STYLES):
        table.add_row(name, f"builtin ({number})", "bundled", f"built-in style {number}; mix with e.g. {name}:0.5,wave:0.5")
    for entry in registry.entries("model"):
        if entry.family in ("fast-style", "adain") and not entry.name.endswith("-models"):
            method = "fast (--model)" if entry.family == "fast-style" else "adain"
            table.add_row(entry.name, method, "yes" if cache.is_cached(entry) else "no", entry.description)
    table.add_row("any image", "gatys, arbitrary, adain", "", "any painting or picture as the style (--style FILE)")
    Console(soft_wrap=False, width=200).print(table)
