"""`paint translate`: pix2pix and CycleGAN generators on photos, folders and globs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from paintcli import console, imageio
from paintcli.cli.common import DeviceOpt, JsonOpt, OverwriteOpt, QuietOpt, boundary, report_output
from paintcli.config import TranslateConfig
from paintcli.errors import UsageError
from paintcli.paths import collect_inputs, plan_outputs


@boundary
def command(
    inputs: Annotated[list[str], typer.Argument(help="Images, folders of images, or glob patterns.", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="A model name from `paint download --list` (e.g. facades, horse2zebra, monet) or a generator .pth file.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (one input) or folder (several). Default: <input>_<model>.png beside each input.", show_default=False)] = None,
    size: Annotated[int | None, typer.Option(help="Resize the longest side to this first. Default: full resolution.", show_default=False)] = None,
    tile: Annotated[int | None, typer.Option(help="Translate in tiles of this many pixels (for images too large for memory). Default: only when needed.", show_default=False)] = None,
    tile_overlap: Annotated[int, typer.Option(help="Overlap between tiles, blended so no seams show.")] = TranslateConfig.tile_overlap,
    direction: Annotated[str | None, typer.Option(help="AtoB or BtoA: the inputs are side-by-side AB images (pix2pix datasets); use the A (left) or B (right) half as input.", show_default=False)] = None,
    ab: Annotated[bool, typer.Option("--ab", help="The inputs are AB images: take the half this model expects.")] = False,
    eval_: Annotated[bool, typer.Option("--eval", help="Use running batch-norm statistics and no dropout (the official default is per-image statistics with dropout).")] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable dropout.", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(help="Images of the same size translated together.")] = 4,
    device: DeviceOpt = None,
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Translate images with a pretrained pix2pix or CycleGAN generator, at full resolution.

    Official checkpoints load as they are (the architecture is read from the file). Any size and aspect ratio works: images are padded to what the network needs and cropped back.

    Examples:\n
      paint translate labels.png --model facades\n
      paint translate photos/ --model monet -o paintings/\n
      paint translate horse.jpg --model horse2zebra --size 1024\n
      paint translate datasets/facades/val/ --model facades --ab -o out/\n
      paint translate big.jpg --model style_vangogh --tile 1024
    """
    from paintcli.engines.translate import Translator  # heavy: imported when run

    if direction and ab:
        raise UsageError("--direction and --ab both given", "use one: --ab takes the model's own direction")
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1", "use e.g. 4")
    config = TranslateConfig(size=size, tile=tile, tile_overlap=tile_overlap, eval_mode=eval_, seed=seed, direction=direction)
    config.validate()
    sources = collect_inputs(inputs)
    translator = Translator(model, config, device=device, download_progress=console.DownloadBar(quiet))
    if ab:
        chosen = translator.default_direction()
        if chosen is None:
            raise UsageError(f"model {translator.name} has no AB convention", "pass --direction AtoB or --direction BtoA")
        translator.config = replace(config, direction=chosen)
    if translator.config.direction:
        half = "left (A)" if translator.config.direction == "AtoB" else "right (B)"
        console.info(f"{translator.config.direction}: using the {half} half of each AB image as input", quiet)
    outputs = plan_outputs(sources, output, suffix=f"_{translator.name}", overwrite=overwrite)
    if not translator.batch_independent:
        batch_size = 1  # per-image batch-norm statistics: a batch would mix images
    _translate_all(translator, sources, outputs, batch_size, json_=json_, quiet=quiet)


def _translate_all(translator, sources, outputs, batch_size, *, json_: bool, quiet: bool) -> None:
    from paintcli import device as devices

    device = devices.describe(translator.device)
    with console.ItemBar("translating", total=len(sources), quiet=quiet or len(sources) == 1) as bar:
        for start in range(0, len(sources), batch_size):
            chunk = list(zip(sources[start : start + batch_size], outputs[start : start + batch_size], strict=True))
            images = [imageio.load_image(src) for src, _ in chunk]
            for (src, out), result in zip(chunk, translator.run_many(images), strict=True):
                imageio.save_image(result.image, out)
                note = f"  {result.tiles} tiles" if result.tiles > 1 else ""
                report_output(src, out, result.image.size, result.seconds, device, json_=json_, note=note,
                              model=translator.name, tiles=result.tiles)  # fmt: skip
                bar.advance()
