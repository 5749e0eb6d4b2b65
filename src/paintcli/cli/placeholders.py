"""Commands whose engines have not landed yet: they exist in --help and say so plainly."""

from __future__ import annotations

import typer

from paintcli.cli.common import boundary
from paintcli.errors import PaintError


def _not_yet(name: str) -> None:
    raise PaintError(
        f"`paint {name}` is not yet available in paintcli {__import__('paintcli').__version__}",
        "it is planned for a coming release; see CHANGELOG.md",
    )


@boundary
def train(ctx: typer.Context) -> None:
    """Train CycleGAN, pix2pix and fast style models (not yet available)."""
    _not_yet("train")
