"""`paint stylize --method adain`: any style image in one pass (Huang and Belongie 2017)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paintcli import console, imageio
from paintcli.cli.runner import Painted, one_pass_painter
from paintcli.config import parse_floats
from paintcli.config import AdaINConfig
from paintcli.errors import UsageError

PANEL = "adain: any style, instant"

Encoder = Annotated[str | None, typer.Option(help="A local vgg_normalised.pth instead of the downloaded one.", show_default=False, rich_help_panel=PANEL)]
Decoder = Annotated[str | None, typer.Option(help="A local decoder.pth instead of the downloaded one (e.g. from paint train adain).", show_default=False, rich_help_panel=PANEL)]
Alpha = Annotated[float, typer.Option(help="How much style, from 0 (the photo) to 1 (full style).", rich_help_panel=PANEL)]
StyleSize = Annotated[int | None, typer.Option(help="Longest side of the style images. Default: 512.", show_default=False, rich_help_panel=PANEL)]
Mask = Annotated[Path | None, typer.Option(help="An image whose white part gets the first --style and black part the second.", show_default=False, rich_help_panel=PANEL)]

OPTIONS = ("encoder", "decoder", "alpha", "style_size", "mask", "precision")


def painter(styles: list, size: int | None, style_blend: str | None, preserve_colors: bool, tile, tile_overlap, *,
            encoder, decoder, alpha, style_size, mask, precision, device, quiet: bool):  # fmt: skip
    if not styles:
        raise UsageError("--method adain needs at least one --style image", "e.g. --style wave.jpg")
    settings = AdaINConfig(
        alpha=alpha, blend=parse_floats(style_blend, "--style-blend") if style_blend else (), size=size or 512,
        style_size=style_size or 512, preserve_colors=preserve_colors, tile=tile, tile_overlap=tile_overlap, precision=precision.lower(),
    ).validate(len(styles), mask is not None)  # fmt: skip
    mask_img = imageio.load_image(mask) if mask else None

    def build():
        from paintcli.engines.adain import AdaINStylizer

        stylizer = AdaINStylizer(
            encoder=encoder or "adain-encoder", decoder_path=decoder or "adain-decoder", device=device,
            download_progress=console.DownloadBar(quiet),
        )  # fmt: skip
        if mask_img is None and not preserve_colors:  # the same network for every photo: build it once
            return one_pass_painter(stylizer.styled(styles, settings), method="adain", alpha=alpha)
        return _PerPhoto(stylizer, styles, settings, mask_img)

    return build


class _PerPhoto:
    """AdaIN whose network depends on each photo (its colours, or the mask drawn on it)."""

    own_progress, batch_size = False, 1

    def __init__(self, stylizer, styles, settings: AdaINConfig, mask):
        from dataclasses import asdict

        from paintcli import device as devices

        self.stylizer, self.styles, self.settings, self.mask = stylizer, styles, asdict(settings), mask
        self.device = devices.describe(stylizer.device)

    def frame_painter(self, clip):
        from paintcli.engines.video import from_first_frame

        return from_first_frame(lambda first: self.stylizer.for_photo(first, self.styles, mask=self.mask, **self.settings))

    def paint(self, images, jobs) -> list[Painted]:
        painter = self.stylizer.for_photo(images[0], self.styles, mask=self.mask, **self.settings)
        result = painter.run(images[0])
        fields = {"method": "adain", "alpha": self.settings["alpha"], "precision": painter.precision, **result.report()}
        return [Painted(result.image, result.seconds, fields)]
