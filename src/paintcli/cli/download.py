"""`paint download`: list the registry, or fetch named files into the cache."""

from __future__ import annotations

from typing import Annotated

import typer

from paintcli import console, memory, registry
from paintcli.cli.common import QuietOpt, boundary
from paintcli.errors import UnknownNameError, UsageError


@boundary
def command(
    names: Annotated[list[str] | None, typer.Argument(help="Names from --list to fetch.", show_default=False)] = None,
    list_: Annotated[bool, typer.Option("--list", "-l", help="Show every name, its size and whether it is cached.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Fetch pretrained weights, translation models and datasets into the cache, verified and resumable.

    The cache is under your user cache folder (move it with PAINT_CACHE_DIR). Each fetched file's path
    is printed on stdout.

    Examples:\n
      paint download --list\n
      paint download horse2zebra\n
      paint download cyclegan/monet2photo\n
      paint download pix2pix/facades
    """
    from paintcli import cache, downloader  # requests and filelock: only when the command runs

    if list_:
        _print_table()
        return
    if not names:
        raise UsageError("no name given", "run `paint download --list` to see the names, then `paint download NAME`")
    memory.resume_collector()  # no networks to build: the work begins here
    entries = [_lookup(name) for name in names]  # unknown names fail before any download starts
    for name, entry in zip(names, entries, strict=True):
        also = [d.name for d in registry.datasets_named(name) if d is not entry]
        if also:
            console.info(f"note: {name} is also a dataset name; `paint download {also[0]}` fetches the dataset", quiet)
        if not cache.is_cached(entry) and not cache.offline():
            console.info(f"downloading {entry.name} ({_size(entry.size)}) from {downloader.mirror_url(entry.urls[0])}", quiet)
        path = cache.fetch(entry, progress=console.DownloadBar(quiet))
        typer.echo(str(path))


def _lookup(name: str) -> registry.Entry:
    """A registry name or alias; a bare dataset name (`edges2handbags`) when it names one dataset."""
    try:
        return registry.get(name)
    except UnknownNameError:
        datasets = registry.datasets_named(name)
        if len(datasets) == 1:
            return datasets[0]
        if datasets:
            names = " or ".join(d.name for d in datasets)
            raise UnknownNameError(f"{name} names several datasets", f"say which: paint download {names}") from None
        raise


def _print_table() -> None:
    from rich.console import Console
    from rich.table import Table

    from paintcli import cache

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "kind", "size", "cached", "description"):
        table.add_column(column, no_wrap=column != "description")
    for entry in registry.entries():
        state = "bundled" if entry.bundled else ("yes" if cache.is_cached(entry) else "no")
        approx = "~" if entry.size is None and entry.approx_size else ""
        table.add_row(entry.name, entry.kind, approx + _size(entry.display_size), state, entry.description)
    aliases = ", ".join(f"{short}={full}" for short, full in registry.ALIASES.items())
    out = Console(soft_wrap=False)
    if not out.is_terminal:
        out = Console(soft_wrap=False, width=250)  # piped: one line per entry, for grep and scripts
    out.print(table)
    console.info(f"aliases: {aliases}")
    console.info(f"cache: {cache.cache_root()}")


def _size(nbytes: int | None) -> str:
    if nbytes is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return ""
