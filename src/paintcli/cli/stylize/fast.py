"""`paint stylize --method fast`: a network trained for one style (pytorch/examples' or your own)."""

from __future__ import annotations

from typing import Annotated

import typer

from paintcli import console
from paintcli.cli.runner import one_pass_painter
from paintcli.config import OnePassConfig
from paintcli.errors import UsageError

PANEL = "fast: one trained style, instant"

Model = Annotated[str | None, typer.Option("--model", "-m", help="A style model name (candy, mosaic, rain_princess, udnie; see --list-styles) or a TransformerNet .pth.", show_default=False, rich_help_panel=PANEL)]

OPTIONS = ("model", "precision")


def painter(model: str | None, styles: list[str], settings: OnePassConfig, *, device, quiet: bool):
    if styles:
        raise UsageError("--method fast uses a trained --model, not --style", "use --method adain or gatys for any style image")
    if not model:
        raise UsageError("--method fast needs --model", "e.g. --model candy (see paint stylize --list-styles)")
    from paintcli import models

    models.identify(model, family="fast-style")  # a wrong name fails before anything is read

    def build():
        from paintcli.engines.fast_style import FastStylizer

        stylizer = FastStylizer(model, settings, device=device, download_progress=console.DownloadBar(quiet))
        return one_pass_painter(stylizer, method="fast", model=stylizer.name)

    return build
