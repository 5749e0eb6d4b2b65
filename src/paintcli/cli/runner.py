"""The one loop behind every command that turns pictures into pictures: stylize, translate, dream.

A command parses its options, plans the jobs (paths.plan_jobs) and says how to build its painter;
this module does the rest the same way for all of them: the model is loaded once (after the first
picture was read, so a bad input fails before a long load), pictures are read one batch at a time,
painted, written atomically (or to standard output), and reported on stdout as a line or as JSON.
A bad picture among several is reported on one line and the others go on; the command then says
how many failed and exits 2. Ctrl-C during an optimisation saves the picture so far.

Video clips (and folders of frames with --frames) are jobs like pictures: each is painted frame by
frame through the painter's `frame_painter` (engines/video.py), with a bar over its frames, and
reported with its frame count and speed. Under torchrun each process takes whole clips.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import typer
from PIL import Image

from paintcli import console, imageio, memory
from paintcli.cli.common import INTERRUPTED_EXIT, report
from paintcli.errors import PaintError
from paintcli.paths import STDIO, Job, Plan

if TYPE_CHECKING:
    from paintcli.engines.video import ClipResult, ClipSettings, FramePainter


@dataclass(frozen=True)
class Painted:
    """One finished picture and what its report line says about it."""

    image: Image.Image
    seconds: float
    fields: dict[str, Any] = field(default_factory=dict)  # extra --json fields (iterations, tiles, ...)
    note: str = ""  # appended to the summary line


class Painter(Protocol):
    device: str  # described for the report, e.g. "cuda:0 (NVIDIA H100)"
    batch_size: int  # pictures per call of paint()
    own_progress: bool  # draws its own bar for each picture (then no bar over the pictures)

    def paint(self, images: list[Image.Image], jobs: list[Job]) -> list[Painted]: ...

    # Painters that can paint clips also have:
    # def frame_painter(self, clip: ClipSettings) -> FramePainter: ...


@dataclass(frozen=True)
class Reporting:
    """How results are reported: one line per output, or --json; bars unless --quiet."""

    json: bool = False
    quiet: bool = False
    label: str = "painting"  # the progress bar's label
    digits: int = 2  # decimals of the seconds on the summary line


def run(plan: Plan, make_painter: Callable[[], Painter], reporting: Reporting, clip: ClipSettings | None = None) -> None:
    """Paint every job of `plan` with the painter `make_painter()` builds; clips with `clip`'s settings
    (None: this command paints pictures only)."""
    jobs = plan.jobs
    if plan.skipped:
        console.info(f"skipping {plan.skipped} output(s) that already exist (--skip-existing)", reporting.quiet)
    if not jobs:
        return
    single = len(jobs) == 1
    if any(job.clip for job in jobs):
        _check_clips(jobs, clip, single)
    first = _read(jobs[0]) if single and not jobs[0].clip else None  # a bad lone input fails before the model loads
    painter = make_painter()
    memory.resume_collector()  # start-up (imports, networks) is over
    failed = 0
    with console.ItemBar(reporting.label, total=len(jobs), quiet=reporting.quiet or single or painter.own_progress) as bar:
        for chunk in _chunks(jobs, painter.batch_size):
            if chunk[0].clip:
                try:
                    _paint_clip(chunk[0], painter, clip, reporting)
                except PaintError as exc:
                    failed += _failure(exc, single)
                bar.advance(1)
                continue
            ready: list[tuple[Job, Image.Image]] = []
            for job in chunk:
                try:
                    ready.append((job, first if first is not None else _read(job)))
                except PaintError as exc:
                    failed += _failure(exc, single)
            try:
                results = painter.paint([img for _, img in ready], [job for job, _ in ready]) if ready else []
            except PaintError as exc:
                failed += len(ready) * _failure(exc, single)
                results, ready = [], []
            except KeyboardInterrupt as stop:
                _save_partial(stop, ready)
                raise
            for (job, _), result in zip(ready, results, strict=True):
                _write(job, result.image)
                _report(job, result, painter.device, reporting)
            bar.advance(len(chunk))
    if failed:
        raise PaintError(f"{failed} of {len(jobs)} pictures failed", "the others were written; fix the failed inputs and run again with --skip-existing")


def _check_clips(jobs: Sequence[Job], clip: ClipSettings | None, single: bool) -> None:
    """Before any model loads: can this command paint clips, is the video extra there, and (for a
    lone clip) can it be decoded."""
    from paintcli import video

    if clip is None:
        names = ", ".join(job.label for job in jobs if job.clip)
        raise PaintError(f"this command paints pictures, not video clips ({names})", "use paint stylize or paint translate for video")
    video.require()
    if single and not jobs[0].frames:
        video.probe(jobs[0].source)


def _paint_clip(job: Job, painter: Painter, clip: ClipSettings, reporting: Reporting) -> None:
    from paintcli.engines.video import paint_clip

    if not hasattr(painter, "frame_painter"):
        raise PaintError(f"{job.label}: this method paints pictures, not video clips", "choose another method for video")
    with console.FrameBar(job.label, quiet=reporting.quiet) as bar:
        result = paint_clip(job.source, job.output, painter.frame_painter(clip), clip, on_frame=bar.update)
    _report_clip(job, result, painter.device, reporting)


def _report_clip(job: Job, result: ClipResult, device: str, reporting: Reporting) -> None:
    """`output  WxH  N frames  F frames/s  Ns  device`, or the JSON object with frames and speeds."""
    if reporting.json:
        record = {"input": str(job.source), "output": str(job.output), "size": list(result.size), "frames": result.frames,
                  "fps": round(result.fps, 3), "seconds": round(result.seconds, 3),
                  "frames_per_second": round(result.frames_per_second, 3), "device": device}  # fmt: skip
        typer.echo(json.dumps(record))
        return
    size = f"{result.size[0]}x{result.size[1]}"
    typer.echo(f"{job.output}  {size}  {result.frames} frames  {result.frames_per_second:.1f} frames/s  {result.seconds:.1f}s  {device}")


def _read(job: Job) -> Image.Image:
    if job.source is None:
        return imageio.decode_image(sys.stdin.buffer.read())
    return imageio.load_image(job.source)


def _write(job: Job, image: Image.Image) -> None:
    if job.output is None:
        sys.stdout.buffer.write(imageio.encode_png(image))
        sys.stdout.buffer.flush()
    else:
        imageio.save_image(image, job.output)


def _failure(exc: PaintError, single: bool) -> int:
    """Report one bad picture and count it; a lone input's error is the command's error."""
    if single:
        raise exc
    report(console.escape(str(exc)))
    return 1


def _save_partial(stop: KeyboardInterrupt, ready: Sequence[tuple[Job, Image.Image]]) -> None:
    """Ctrl-C inside an optimisation: write the picture it carries, then exit 130."""
    partial = getattr(stop, "image", None)
    if partial is None or len(ready) != 1:
        return
    job = ready[0][0]
    _write(job, partial)
    where = "standard output" if job.output is None else str(job.output)
    console.err().print(f"interrupted: saved the image so far to {console.escape(where)}")
    raise typer.Exit(INTERRUPTED_EXIT) from None


def _report(job: Job, result: Painted, device: str, reporting: Reporting) -> None:
    """The line for one written picture: a JSON object (input, output, size, seconds, device, then the
    painter's fields) with --json, else `output  WxH  Ns<note>  device`. With `-o -` the picture owns
    stdout, so the line goes to stderr."""
    src = str(job.source) if job.source else STDIO
    out = str(job.output) if job.output else STDIO
    size = result.image.size
    if reporting.json:
        record = {"input": src, "output": out, "size": list(size), "seconds": round(result.seconds, 3), "device": device}
        line = json.dumps({**record, **result.fields})
    else:
        line = f"{out}  {size[0]}x{size[1]}  {result.seconds:.{reporting.digits}f}s{result.note}  {device}"
    if job.output is None:
        console.info(console.escape(line), reporting.quiet)
    else:
        typer.echo(line)


def _chunks(jobs: Sequence[Job], size: int) -> Iterator[list[Job]]:
    """Pictures in batches of `size`; each clip alone."""
    batch: list[Job] = []
    for job in jobs:
        if job.clip:
            if batch:
                yield batch
                batch = []
            yield [job]
            continue
        batch.append(job)
        if len(batch) >= max(1, size):
            yield batch
            batch = []
    if batch:
        yield batch


class _OnePassPainter:
    """Any one-pass engine (engines.one_pass.OnePass) as a Painter; `fields` go into every report."""

    own_progress = False

    def __init__(self, engine, batch_size: int, fields: dict[str, Any]):
        from paintcli import device as devices

        self.engine, self.batch_size = engine, batch_size
        self.fields = {**fields, "precision": engine.precision}
        self.device = devices.describe(engine.device)

    def frame_painter(self, clip: ClipSettings) -> FramePainter:
        from paintcli.engines.video import one_pass_frames

        return one_pass_frames(self.engine)

    def paint(self, images: list[Image.Image], jobs: list[Job]) -> list[Painted]:
        painted = []
        for result in self.engine.run_many(images):
            note = f"  {result.tiles} tiles" if result.tiles > 1 else ""
            painted.append(Painted(result.image, result.seconds, {**self.fields, **result.report()}, note))
        return painted


def one_pass_painter(engine, *, batch_size: int = 1, **fields: Any) -> Painter:
    return _OnePassPainter(engine, batch_size, fields)
