"""`paint stylize --method arbitrary|builtin`: the bundled instant networks (offline, one pass).

arbitrary: any picture as the style (Magenta's arbitrary stylization network); builtin: the 26
built-in styles by name or number, or mixes like starry:0.5,wave:0.5.
"""

from __future__ import annotations

from typing import Annotated

import typer

from paintcli import imageio
from paintcli.cli.runner import Painted, one_pass_painter
from paintcli.config import OnePassConfig, parse_floats
from paintcli.errors import UsageError

PANEL = "arbitrary, builtin: bundled, instant, offline"

Strength = Annotated[float, typer.Option(help="How much style, from 0 to 1. arbitrary: moves the style toward the photo's own; builtin: mixes the result with the photo.", rich_help_panel=PANEL)]

OPTIONS = ("strength", "precision")


def arbitrary_painter(styles: list[str], style_blend: str | None, strength: float, config: OnePassConfig, *, device, quiet: bool):
    from paintcli.engines.instant import check_strength

    if not styles:
        raise UsageError("--method arbitrary needs at least one --style image", "e.g. --style wave.jpg")
    check_strength(strength)
    pictures = [imageio.load_image(s) for s in styles]
    blend = parse_floats(style_blend, "--style-blend") if style_blend else ()

    def build():
        from paintcli.engines.instant import ArbitraryStylizer

        stylizer = ArbitraryStylizer(device=device)
        vector = stylizer.mix(pictures, blend)
        if strength == 1:  # the same network for every photo: build it once
            return one_pass_painter(stylizer.painter(vector, config), method="arbitrary", strength=strength)
        return _TowardEachPhoto(stylizer, vector, strength, config)

    return build


def builtin_painter(styles: list[str], strength: float, config: OnePassConfig, *, device, quiet: bool):
    from paintcli.engines.instant import check_strength, parse_styles

    if len(styles) != 1:
        raise UsageError("--method builtin takes one --style: a name, a number or a mix", "e.g. --style starry or --style starry:0.5,wave:0.5")
    weights = parse_styles(styles[0])
    check_strength(strength)

    def build():
        from paintcli.engines.instant import BuiltinStylizer

        painter = BuiltinStylizer(device=device).painter(weights, config, strength=strength)
        return one_pass_painter(painter, method="builtin", style=styles[0], strength=strength)

    return build


def looks_builtin(styles: list[str]) -> bool:
    """True when every --style names built-in styles (and is not a file): then --method builtin is meant."""
    from pathlib import Path

    from paintcli.engines.instant import parse_styles
    from paintcli.errors import UnknownNameError

    if not styles or any(Path(s).exists() or Path(s).suffix.lower() in imageio.IMAGE_SUFFIXES for s in styles):
        return False
    try:
        for s in styles:
            parse_styles(s)
    except UnknownNameError:
        return True  # a misspelt name: --method builtin says which ones are close
    except UsageError:
        return False
    return True


class _TowardEachPhoto:
    """--strength below 1: each photo's own style vector takes part, so each photo gets its network."""

    own_progress, batch_size = False, 1

    def __init__(self, stylizer, vector, strength: float, config: OnePassConfig):
        from paintcli import device as devices

        self.stylizer, self.vector, self.strength, self.config = stylizer, vector, strength, config
        self.device = devices.describe(stylizer.device)

    def frame_painter(self, clip):
        from paintcli.engines.video import from_first_frame

        return from_first_frame(lambda first: self.stylizer.painter(self.stylizer.toward_photo(self.vector, first, self.strength), self.config))

    def paint(self, images, jobs) -> list[Painted]:
        vector = self.stylizer.toward_photo(self.vector, images[0], self.strength)
        painter = self.stylizer.painter(vector, self.config)
        result = painter.run(images[0])
        fields = {"method": "arbitrary", "strength": self.strength, "precision": painter.precision, **result.report()}
        return [Painted(result.image, result.seconds, fields)]
