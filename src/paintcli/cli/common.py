"""What every command shares: the error boundary and a few option types."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Annotated, Any

import typer

from paintcli import console
from paintcli.errors import PaintError

INTERRUPTED_EXIT = 130


class State:
    """Set by the root callback for the current invocation."""

    debug = False


def report(message: str) -> None:
    console.err().print(f"[bold red]Error:[/] {message}", soft_wrap=True, markup=True, highlight=False)


def boundary(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn PaintErrors into a one-line message and exit code 2; unexpected errors into exit 1.

    With --debug (or PAINT_DEBUG=1) the traceback is shown as well.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except PaintError as exc:
            if State.debug:
                traceback.print_exc()
            report(console.escape(str(exc)))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            report("interrupted")
            raise typer.Exit(INTERRUPTED_EXIT) from None
        except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
            if State.debug:
                raise
            report(console.escape(f"unexpected {type(exc).__name__}: {exc}") + " (run with --debug for a traceback)")
            raise typer.Exit(1) from None

    return wrapper


DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device",
        envvar="PAINT_DEVICE",
        help="auto, cpu, cuda, cuda:N or mps. Default: CUDA, then MPS, then CPU.",
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages on stderr.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace output files that already exist.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object per output on stdout instead of a summary.")]
SkipExistingOpt = Annotated[bool, typer.Option("--skip-existing", help="Leave outputs that already exist alone and paint only the rest (continue a stopped batch).")]
DevicesOpt = Annotated[
    int,
    typer.Option(
        "--devices",
        help="Share the pictures among this many processes (one per GPU, or the CPU cores divided); the same as torchrun --nproc-per-node N.",
    ),
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output", "-o",
        help="Output file (one input) or folder (several); - writes the picture (PNG) to standard output.",
        show_default=False,
    ),
]


def launch_shards(devices: int) -> None:
    """With --devices N (and not already one of N processes), run the command as N processes and exit."""
    from paintcli import launch

    if devices < 1:
        raise PaintError(f"--devices must be at least 1, got {devices}", "use e.g. --devices 2")
    if devices > 1 and "WORLD_SIZE" not in os.environ:
        raise typer.Exit(launch.run_shards(devices, launch.argv_without_devices(sys.argv[1:])))
