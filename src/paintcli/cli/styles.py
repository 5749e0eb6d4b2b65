"""`paint styles`: the built-in styles: a table of their names, and a contact sheet on your photo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paintcli.cli.common import DeviceOpt, OverwriteOpt, QuietOpt, boundary

app = typer.Typer(help="The 26 built-in styles of `paint stylize --style NAME`: list them, or see them all on your photo.", no_args_is_help=True)


@app.command("sheet", no_args_is_help=True)
@boundary
def sheet(
    photo: Annotated[str, typer.Argument(help="The photo to show in every style.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the sheet. Default: <photo>_styles.png beside the photo.", show_default=False)] = None,
    tile: Annotated[int, typer.Option(help="Longest side of each picture on the sheet.")] = 256,
    columns: Annotated[int, typer.Option(help="Pictures per row.")] = 7,
    device: DeviceOpt = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """A contact sheet: the photo and the 26 built-in styles, each labelled with its number and name.

    Examples:\n
      paint styles sheet photo.jpg\n
      paint styles sheet photo.jpg -o sheet.jpg --tile 192 --columns 9
    """
    import time

    from paintcli import console, imageio
    from paintcli.errors import UsageError
    from paintcli.paths import plan_jobs

    if tile < 32 or columns < 1:
        raise UsageError("--tile must be at least 32 and --columns at least 1", "use e.g. --tile 256 --columns 7")
    job = plan_jobs([photo], output, suffix="_styles", overwrite=overwrite).jobs[0]
    image = imageio.load_image(job.source) if job.source else imageio.decode_image(typer.get_binary_stream("stdin").read())
    from paintcli.engines.instant import BuiltinStylizer, contact_sheet

    start = time.perf_counter()
    result = contact_sheet(image, BuiltinStylizer(device=device), tile=tile, columns=columns)
    if job.output is None:
        typer.get_binary_stream("stdout").write(imageio.encode_png(result))
        return
    imageio.save_image(result, job.output)
    typer.echo(f"{job.output}  {result.size[0]}x{result.size[1]}  {time.perf_counter() - start:.2f}s")
    console.info("names and numbers: paint stylize --list-styles", quiet)


@app.command("list")
def list_() -> None:
    """The built-in styles by number and name (the same as `paint stylize --list-styles`)."""
    from rich.console import Console
    from rich.table import Table

    from paintcli import registry

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("number")
    table.add_column("name")
    for number, name in enumerate(registry.BUILTIN_STYLES):
        table.add_row(str(number), name)
    Console(soft_wrap=False).print(table)
