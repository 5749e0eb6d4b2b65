"""What every command shares: the error boundary and a few option types."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Annotated, Any

import typer

from paintcli import console, memory
from paintcli.config import X264_PRESETS
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
        memory.keep_freed_memory()  # the process is ours: large CPU tensors reuse memory instead of page-faulting
        try:
            return func(*args, **kwargs)  # which resumes the collector once its work begins (memory.pause_collector)
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
        finally:
            memory.resume_collector()

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


VIDEO = "video clips (mp4, mov, mkv, webm, avi, animated GIF; the video extra)"
TemporalOpt = Annotated[float, typer.Option(help="Steadiness from frame to frame, 0 to 1: how much of the previous painted frame, moved along the clip's motion, is kept where that motion can be followed (and, above 0, each frame is painted on the network's pixel grid where the first frame was, following the camera); 0 paints each frame on its own.", rich_help_panel=VIDEO)]
CrfOpt = Annotated[int, typer.Option(help="H.264 quality of the written clip, 0-51: lower is better and larger (the default looks lossless; 23 is FFmpeg's default).", rich_help_panel=VIDEO)]
PresetOpt = Annotated[str, typer.Option(help=f"x264's encoding speed against file size, fastest first: {', '.join(X264_PRESETS)}. medium makes files about a seventh smaller for the same picture quality (give it a --crf about 2 higher) and takes nearly three times as long to encode.", rich_help_panel=VIDEO)]
StartOpt = Annotated[float | None, typer.Option(help="Begin this many seconds into each clip.", show_default=False, rich_help_panel=VIDEO)]
EndOpt = Annotated[float | None, typer.Option(help="Stop this many seconds into each clip.", show_default=False, rich_help_panel=VIDEO)]
FramesOpt = Annotated[bool, typer.Option("--frames", help="Each input is a folder holding the frames of one clip (painted in name order, steadily); the output is a folder of PNG frames.", rich_help_panel=VIDEO)]

