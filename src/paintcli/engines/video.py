"""Painting a clip: frames decoded, painted, made steady from frame to frame, and encoded.

One-pass networks paint each frame; the result is blended with the previous output warped along the
input's motion (engines/temporal.py). Gatys (Ruder, Dosovitskiy and Brox 2016) starts each frame
from the previous result warped to it and adds a temporal loss that keeps the trusted pixels close to
it; the first frame gets the full schedule, later ones one scale with fewer evaluations, since they
start close to their answer. The clip keeps its frame count, frame rate, duration and audio.

A frame painter works in three steps: `start` (in frame order: the motion from the previous input
frame and the grid lock, which need the input frames only), `paint` (the network, on any thread) and
`finish` (in frame order: the blend with the previous output). So on a CPU a one-pass network paints
several frames at once, each on a share of the cores: small frames keep the cores busier side by side
than one frame split across all of them (see `frames_at_once`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from paintcli import functional as fn, imageio, video
from paintcli.config import ClipSettings
from paintcli.engines.temporal import GridLock, Motion, Steadier

GATYS_TEMPORAL_WEIGHT = 400.0  # x --temporal, per pixel on the 0-255 scale (Ruder et al. use 200)
GATYS_LATER_EVALUATIONS = 150  # at most, for every frame after the first (at the output size only)
GRID_LOCK_MAX_PERIOD = 16  # above this stride (pix2pix's U-Net: 256) only the fraction of a pixel is locked:
# padding by the stride could double the picture the network pads to its multiple
MAX_FRAMES_AT_ONCE = 4  # on a CPU: one frame more than there are cores, up to this many


@dataclass(frozen=True)
class ClipResult:
    path: Path
    frames: int
    size: tuple[int, int]
    seconds: float
    fps: float  # the clip's frame rate (0 for a folder of frames)

    @property
    def frames_per_second(self) -> float:
        """Painting speed: frames painted per second of work."""
        return self.frames / max(self.seconds, 1e-9)


class FramePainter(Protocol):
    """Paints a clip's frames: `start` and `finish` are called in frame order on the calling thread,
    `paint` on up to `workers` threads at once (read after the first `start`)."""

    workers: int

    def start(self, picture: Image.Image, steadier: Steadier) -> Any: ...

    def paint(self, job: Any) -> torch.Tensor | None: ...

    def finish(self, job: Any, painted: torch.Tensor | None, steadier: Steadier) -> torch.Tensor:
        """The frame's (1, 3, H, W) output in [0, 1]."""
        ...


def paint_clip(
    source: Path,
    output: Path,
    painter: FramePainter,
    settings: ClipSettings,
    *,
    on_frame: Callable[[int, int | None], None] | None = None,
) -> ClipResult:
    """Paint a clip (or a folder of frames) into `output`; `on_frame(done, total)` follows the
    progress (total None when the container does not say)."""
    frames, writer, total, fps = _open(source, output, settings)
    steadier = Steadier(settings.temporal)
    threads = torch.get_num_threads()
    start, count, size = time.perf_counter(), 0, None
    in_flight: _InFlight | None = None

    def write_oldest() -> None:
        nonlocal count
        pts, job, painted = in_flight.pop()
        writer.write(np.asarray(fn.to_pil(painter.finish(job, painted, steadier))), pts)
        count += 1
        if on_frame is not None:
            on_frame(count, total)

    try:
        for frame in frames:
            picture = Image.fromarray(frame.rgb)
            if size is None:  # every frame the size of the first (a folder's frames may differ), even for H.264
                size = _frame_size(picture.size, settings.size, even=writer.even)
            job = painter.start(imageio.resize(picture, size), steadier)
            if in_flight is None:
                in_flight = _InFlight(painter.paint, painter.workers)
                torch.set_num_threads(max(1, threads // painter.workers))  # each frame in flight its share of the cores
            in_flight.submit(frame.pts, job)
            while in_flight.full:
                write_oldest()
        while in_flight is not None and in_flight.pending:
            write_oldest()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        if in_flight is not None:
            in_flight.close()
        torch.set_num_threads(threads)
    return ClipResult(output, count, size or (0, 0), time.perf_counter() - start, fps)


class _InFlight:
    """Frames handed to `paint`, on `workers` threads (none for one), taken back in order."""

    def __init__(self, paint: Callable[[Any], torch.Tensor | None], workers: int):
        self.paint, self.workers = paint, workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="paint-frame") if workers > 1 else None
        self.pending: deque[tuple[int, Any, Future | None]] = deque()

    def submit(self, pts: int, job: Any) -> None:
        self.pending.append((pts, job, self.pool.submit(self.paint, job) if self.pool else None))

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.workers

    def pop(self) -> tuple[int, Any, torch.Tensor | None]:
        pts, job, future = self.pending.popleft()
        return pts, job, future.result() if future is not None else self.paint(job)

    def close(self) -> None:
        if self.pool is not None:  # after Ctrl-C or an error: drop the frames not begun, wait for the rest
            self.pool.shutdown(wait=True, cancel_futures=True)


def _frame_size(size: tuple[int, int], longest: int | None, *, even: bool) -> tuple[int, int]:
    w, h = imageio.fit_longest_side(size, longest) if longest else size
    return (max(2, w - w % 2), max(2, h - h % 2)) if even else (w, h)


def _open(source: Path, output: Path, settings: ClipSettings):
    """(frames, writer, expected frame count, frame rate) for a clip file or a folder of frames."""
    if source.is_dir():
        names, frames = video.folder_frames(source)
        return frames, video.FolderWriter(output, names, overwrite=settings.overwrite), len(names), 0.0
    info = video.probe(source)
    frames = video.frames(info, start=settings.start, end=settings.end)
    writer = video.ClipWriter(output, info, crf=settings.crf, preset=settings.preset, audio_from=info, end=settings.end)
    return frames, writer, _expected_frames(info, settings), float(info.rate)


@dataclass(frozen=True)
class _Frame:
    picture: Image.Image
    motion: Motion | None
    lock: GridLock | None


class OnePassFrames:
    """Frames through a one-pass engine (engines.one_pass.OnePass), locked to its grid and steadied."""

    def __init__(self, engine):
        self.engine = engine
        self.period = engine.net.multiple if engine.net.multiple <= GRID_LOCK_MAX_PERIOD else 1
        self.workers = frames_at_once(engine)

    def start(self, picture: Image.Image, steadier: Steadier) -> _Frame:
        motion = steadier.follow(np.asarray(picture))
        return _Frame(picture, motion, steadier.lock(self.period))

    def paint(self, job: _Frame) -> torch.Tensor:
        engine, picture = self.engine, job.picture
        x = engine.tensor(picture)
        if job.lock is None:
            y, _ = engine.forward(x)
        else:
            lock = job.lock.scaled(x.shape[-1] / picture.width)
            y = lock.back(engine.forward(lock.into(x))[0])
        if engine.settings.preserve_colors:
            y = fn.combine_luma_chroma(y, x)
        y = y.float()
        if y.shape[-2:] != (picture.height, picture.width):  # --work-size: painted smaller, shown at full size
            y = fn.resize_tensor(y, picture.size).clamp(0, 1)
        return y

    def finish(self, job: _Frame, painted: torch.Tensor, steadier: Steadier) -> torch.Tensor:
        return steadier.blend(painted, job.motion)


def one_pass_frames(engine) -> OnePassFrames:
    return OnePassFrames(engine)


def frames_at_once(engine) -> int:
    """How many frames a one-pass engine paints at once. On a CPU, one more than there are cores (at
    most MAX_FRAMES_AT_ONCE), each frame on its share of them: the extra frame keeps the cores busy
    while this thread measures motion, blends and encodes (on 2 cores, 340x256, built-in style,
    --temporal 0.7, median of 4: 12.7 frames/s one at a time, 15.6 two at once, 18.5 three, 18.3
    four). One on a GPU, and when frames would share state: tiles (the norms' shared statistics are
    hooks on the network), torch.compile, or a seed set before every call."""
    settings = engine.settings
    if engine.device.type != "cpu" or settings.tile or settings.compile or engine.hooked:
        return 1
    return min(MAX_FRAMES_AT_ONCE, torch.get_num_threads() + 1)


class FirstFrameEngine:
    """One-pass frames through an engine that depends on the photo (AdaIN's mask and colours, the
    arbitrary network's --strength): built once from the first frame, so every frame gets the same
    network and the clip does not flicker from a style that changes with each frame."""

    def __init__(self, make_engine: Callable[[Image.Image], object]):
        self.make_engine = make_engine
        self.frames: OnePassFrames | None = None

    @property
    def workers(self) -> int:
        return self.frames.workers if self.frames is not None else 1

    def start(self, picture: Image.Image, steadier: Steadier) -> _Frame:
        if self.frames is None:
            self.frames = OnePassFrames(self.make_engine(picture))
        return self.frames.start(picture, steadier)

    def paint(self, job: _Frame) -> torch.Tensor:
        return self.frames.paint(job)

    def finish(self, job: _Frame, painted: torch.Tensor, steadier: Steadier) -> torch.Tensor:
        return self.frames.finish(job, painted, steadier)


def from_first_frame(make_engine: Callable[[Image.Image], object]) -> FirstFrameEngine:
    return FirstFrameEngine(make_engine)


class GatysFrames:
    """Gatys on video: the first frame as a photo; later ones start from the previous result warped to
    them, with a temporal loss on the trusted pixels (Ruder et al. 2016). Each frame needs the one
    before it painted, so all the work is in `finish`, one frame at a time."""

    workers = 1

    def __init__(self, stylizer, styles, strength: float):
        self.stylizer, self.styles, self.strength = stylizer, styles, strength
        self.later_evaluations = min(GATYS_LATER_EVALUATIONS, stylizer.config.schedule[-1][1])

    def start(self, picture: Image.Image, steadier: Steadier) -> tuple[Image.Image, Motion | None]:
        return picture, steadier.follow(np.asarray(picture))  # None when --temporal is 0

    def paint(self, job) -> None:
        return None

    def finish(self, job: tuple[Image.Image, Motion | None], painted: None, steadier: Steadier) -> torch.Tensor:
        picture, motion = job
        if motion is None:
            result = self.stylizer.run(picture, self.styles)
        else:
            warped = steadier.warped(motion)
            # one scale, at the frame's own size (so the warped result and the mask fit it exactly)
            later = self.stylizer.with_config(replace(self.stylizer.config, scales=(max(picture.size),), iterations=self.later_evaluations))
            trust = torch.from_numpy(motion.trusted).to(warped.device)[None, None]
            start = trust * warped + (1 - trust) * fn.to_tensor(picture, warped.device)
            result = later.run(picture, self.styles, init=start, temporal=(warped, trust, GATYS_TEMPORAL_WEIGHT * self.strength))
        out = fn.to_tensor(imageio.resize(result.image, picture.size), self.stylizer.device)
        steadier.remember(out)
        return out


def gatys_frames(stylizer, styles, strength: float) -> GatysFrames:
    return GatysFrames(stylizer, styles, strength)


def _expected_frames(info: video.ClipInfo, settings: ClipSettings) -> int | None:
    if info.frames is None:
        return None
    if settings.start is None and settings.end is None:
        return info.frames
    duration = info.frames / float(info.rate)
    part = min(settings.end or duration, duration) - (settings.start or 0)
    return max(0, round(part * float(info.rate)))
