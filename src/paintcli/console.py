"""Everything that draws on the terminal. Progress and messages go to stderr; stdout carries results.

Bars are shown only on an interactive terminal and never with --quiet.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from paintcli.progress import ProgressHook

_stderr: Console | None = None


def err() -> Console:
    """The stderr console (created on first use, so tests can change the environment first)."""
    global _stderr
    if _stderr is None:
        _stderr = Console(stderr=True, highlight=False)
    return _stderr


def reset() -> None:
    """Forget the console, e.g. after a test redirected stderr."""
    global _stderr
    _stderr = None


def bars_enabled(quiet: bool) -> bool:
    return not quiet and err().is_terminal


class DownloadBar(ProgressHook):
    """Bytes, speed and ETA of one download at a time."""

    def __init__(self, quiet: bool = False):
        self.enabled = bars_enabled(quiet)
        self._progress: Progress | None = None

    def start(self, description: str, total: int | None, completed: int) -> None:
        if not self.enabled:
            return
        self._progress = _bar(DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), quiet=False)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, completed=completed)

    def advance(self, nbytes: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, nbytes)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _bar(*columns, quiet: bool) -> Progress:
    """A transient progress display on stderr, shown only where bars are enabled."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), *columns, console=err(), transient=True,
        disable=not bars_enabled(quiet),
    )  # fmt: skip


class _LiveBar:
    """A context manager around a rich Progress held in `self._progress`."""

    _progress: Progress

    def __enter__(self):
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()


class StepBar(_LiveBar):
    """One live bar for a whole optimisation, across its scales: the scale, losses, and an ETA from
    the share of the planned work done (Step.progress). Use as a context manager and call
    `update(step)` with each engine event."""

    def __init__(self, label: str, quiet: bool = False):
        self.label = label
        self.enabled = bars_enabled(quiet)
        self._progress = _bar(TextColumn("{task.fields[where]}"), TextColumn("{task.fields[losses]}"),
                              TimeElapsedColumn(), TimeRemainingColumn(), quiet=quiet)  # fmt: skip
        self._task = self._progress.add_task(label, total=1.0, where="", losses="")

    def update(self, step) -> None:
        if not self.enabled:
            return
        scale = f"{step.size[0]}x{step.size[1]} ({step.scale}/{step.scales}) " if step.scales > 1 else ""
        where = f"{scale}{step.iteration}/{step.iterations}"
        losses = f"loss {step.total_loss:.3g} (content {step.content_loss:.3g}, style {step.style_loss:.3g})"
        self._progress.update(self._task, completed=step.progress, where=where, losses=losses)


class TrainBar(_LiveBar):
    """Epoch, step, losses, images per second and ETA of a training run."""

    def __init__(self, quiet: bool = False):
        self._progress = _bar(
            MofNCompleteColumn(), TextColumn("{task.fields[losses]}"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), quiet=quiet,
        )  # fmt: skip
        self._task = None

    def update(self, step) -> None:
        if self._task is None:
            self._task = self._progress.add_task("", total=step.steps, completed=step.step - 1, losses="", rate="")
        losses = " ".join(f"{k} {v:.3g}" for k, v in step.losses.items())
        self._progress.update(
            self._task, completed=step.step, description=f"epoch {step.epoch}/{step.epochs}",
            losses=losses, rate=f"{step.images_per_second:.1f} img/s",
        )  # fmt: skip


class DreamBar(_LiveBar):
    """Octave, step and the activation being amplified."""

    def __init__(self, label: str, total: int, quiet: bool = False):
        self._progress = _bar(MofNCompleteColumn(), TextColumn("{task.fields[info]}"), TimeRemainingColumn(), quiet=quiet)
        self._task = self._progress.add_task(label, total=total, info="")

    def update(self, step) -> None:
        done = (step.octave - 1) * step.steps + step.step
        info = f"octave {step.octave}/{step.octaves} {step.size[0]}x{step.size[1]}  activation {step.activation:.3g}"
        self._progress.update(self._task, completed=done, info=info)


class FrameBar(_LiveBar):
    """The frames of one clip: done of total, frames per second and ETA. `update(done, total)`."""

    def __init__(self, label: str, quiet: bool = False):
        self._progress = _bar(MofNCompleteColumn(), TextColumn("frames {task.fields[rate]}"), TimeElapsedColumn(),
                              TimeRemainingColumn(), quiet=quiet)  # fmt: skip
        self._task = self._progress.add_task(label, total=None, rate="")
        self._started = time.perf_counter()

    def update(self, done: int, total: int | None) -> None:
        rate = done / max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, completed=done, total=total, rate=f"{rate:.1f}/s" if rate >= 1 else f"{1 / rate:.1f} s each")


class ItemBar(_LiveBar):
    """A bar over a known number of items (images in a folder), with a rate and ETA."""

    def __init__(self, label: str, total: int, quiet: bool = False):
        self._progress = _bar(MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), quiet=quiet)
        self._task = self._progress.add_task(label, total=total)

    def advance(self, items: int = 1) -> None:
        self._progress.advance(self._task, items)


def warn(message: str) -> None:
    err().print(f"[yellow]warning:[/] {message}")


def info(message: str, quiet: bool = False) -> None:
    if not quiet:
        err().print(message)


def escape(text: str) -> str:
    """Text safe to print with rich markup on (file names may contain [brackets])."""
    from rich.markup import escape as _escape

    return _escape(text)
