"""`paint translate`: pix2pix and CycleGAN generators on photos, folders, globs and standard input."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from paintcli import console
from paintcli.cli.common import (
    CrfOpt, DeviceOpt, DevicesOpt, EndOpt, FramesOpt, JsonOpt, OutputOpt, OverwriteOpt, QuietOpt,
    PresetOpt, SkipExistingOpt, StartOpt, TemporalOpt, boundary, launch_shards,
)  # fmt: skip
from paintcli.cli.runner import Reporting, one_pass_painter, run
from paintcli.config import ClipSettings, TranslateConfig
from paintcli.errors import UsageError


@boundary
def command(
    inputs: Annotated[list[str], typer.Argument(help="Images, folders of images, glob patterns, or - for one image on standard input.", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="A model name from `paint download --list` (e.g. facades, horse2zebra, monet) or a generator .pth file.", show_default=False)],
    output: OutputOpt = None,
    size: Annotated[int | None, typer.Option(help="Resize the longest side to this first. Default: full resolution.", show_default=False)] = None,
    tile: Annotated[int | None, typer.Option(help="Translate in tiles of this many pixels (for images too large for memory). Default: only when needed.", show_default=False)] = None,
    tile_overlap: Annotated[int, typer.Option(help="Overlap between tiles, blended so no seams show.")] = TranslateConfig.tile_overlap,
    direction: Annotated[str | None, typer.Option(help="AtoB or BtoA: the inputs are side-by-side AB images (pix2pix datasets); use the A (left) or B (right) half as input.", show_default=False)] = None,
    ab: Annotated[bool, typer.Option("--ab", help="The inputs are AB images: take the half this model expects.")] = False,
    eval_: Annotated[bool, typer.Option("--eval", help="Use running batch-norm statistics and no dropout (the official default is per-image statistics with dropout).")] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable dropout. Default: none for pictures, 0 for clips (the same dropout in every frame).", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(help="Images of the same size translated together.")] = 4,
    precision: Annotated[str, typer.Option(help="auto, fp32 or bf16. bf16 runs the generator in bfloat16 (within 40 dB of float32); auto does so on a CPU with native bf16 (AVX512-BF16 or AMX: 1.2-1.8x faster on 2 cores), else float32.")] = TranslateConfig.precision,
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
    """Translate images with a pretrained pix2pix or CycleGAN generator, at full resolution.

    Official checkpoints load as they are (the architecture is read from the file). Any size and aspect ratio works: images are padded to what the network needs and cropped back.

    Examples:\n
      paint translate labels.png --model facades\n
      paint translate photos/ --model monet -o paintings/\n
      paint translate horse.jpg --model horse2zebra --size 1024\n
      paint translate datasets/facades/val/ --model facades --ab -o out/\n
      paint translate big.jpg --model style_vangogh --tile 1024\n
      paint translate horse.mp4 --model horse2zebra --size 512\n
      torchrun --nproc-per-node 4 -m paintcli translate photos/ --model monet -o out/ --skip-existing
    """
    from paintcli import models
    from paintcli.paths import Shard, plan_jobs

    launch_shards(devices)
    if direction and ab:
        raise UsageError("--direction and --ab both given", "use one: --ab takes the model's own direction")
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1", "use e.g. 4")
    config = TranslateConfig(size=size, tile=tile, tile_overlap=tile_overlap, eval_mode=eval_, seed=seed, direction=direction, precision=precision.lower()).validate()
    entry, _ = models.identify(model)
    if ab:
        direction = entry.direction if entry else None
        if direction is None:
            raise UsageError(f"model {models.name_of(model)} has no AB convention", "pass --direction AtoB or --direction BtoA")
        config = replace(config, direction=direction)
    clip = ClipSettings(size, temporal, crf, start, end, overwrite=overwrite, preset=preset).validate()
    plan = plan_jobs(inputs, output, suffix=f"_{models.name_of(model)}", overwrite=overwrite, skip_existing=skip_existing, shard=Shard.from_env(), frames=frames)
    if seed is None and any(job.clip for job in plan.jobs):  # the same dropout in every frame, or the clip flickers
        config = replace(config, seed=0)
    if direction:
        half = "left (A)" if direction == "AtoB" else "right (B)"
        console.info(f"{direction}: using the {half} half of each AB image as input", quiet)

    def painter():
        from paintcli.engines.translate import Translator

        translator = Translator(model, config, device=device, download_progress=console.DownloadBar(quiet))
        return one_pass_painter(translator, batch_size=batch_size, model=translator.name)

    run(plan, painter, Reporting(json=json_, quiet=quiet, label="translating"), clip)
