"""The `paint` command line: parse, call the Python API, render. The only package that imports typer."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from paintcli import __version__, memory
from paintcli.cli import download, dream, styles, stylize, train, translate
from paintcli.cli.common import State

app = typer.Typer(
    name="paint",
    help="Turn photos into art with deep learning: neural style transfer, pix2pix and CycleGAN.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"paint {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="PAINT_DEBUG", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    """Turn photos into art with deep learning."""
    State.debug = debug


app.command("stylize", no_args_is_help=True)(stylize.command)
app.command("translate", no_args_is_help=True)(translate.command)
app.add_typer(train.app, name="train")
app.command("dream", no_args_is_help=True)(dream.command)
app.add_typer(styles.app, name="styles")
app.command("download")(download.command)


def main() -> None:
    memory.pause_collector()  # until the work begins (cli.common.boundary's commands resume it)
    try:
        app(prog_name="paint")
    finally:
        # At exit the interpreter's last garbage collections walk every object torch made (0.4-0.8 s
        # of a 3 s command here) and find nothing to finalize: every file is closed and renamed by then.
        # Frozen objects are left for the operating system to free with the process.
        gc.freeze()
