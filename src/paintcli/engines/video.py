"""Painting a clip: frames decoded, painted, made steady from frame to frame, and encoded.

One-pass networks paint each frame; the result is blended with the previous output warped along the
input's motion (engines/temporal.py). Gatys (Ruder, Dosovitskiy and Brox 2016) starts each frame
from the previous result warped to it and adds a temporal loss that keeps the trusted pixels close to
it; the first frame gets the full schedule, later ones one scale with fewer evaluations, since they
start close to their answer. The clip keeps its frame count, frame rate, duration and audio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from paintcli import functional as fn, imageio, video
from paintcli.config import ClipSettings
from paintcli.engines.temporal import Steadier

GATYS_TEMPORAL_WEIGHT = 400.0  # x --temporal, per pixel on the 0-255 scale (Ruder et al. use 200)
GATYS_LATER_EVALUATIONS = 150  # at most, for every frame after the first (at the output size only)
GRID_LOCK_MAX_PERIOD = 16  # above this stride (pix2pix's U-Net: 256) only the fraction of a pixel is locked:
# padding by the stride could double the picture the network pads to its multiple


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


FramePainter = Callable[[Image.Image, Steadier], torch.Tensor]


def paint_clip(
    source: Path,
    output: Path,
    paint_frame: FramePainter,
    settings: ClipSettings,
    *,
    on_frame: Callable[[int, int | None], None] | None = None,
) -> ClipResult:
    """Paint a clip (or a folder of frames) into `output` frame by frame. `paint_frame(frame, steadier)`
    returns the (1, 3, H, W) painting of one frame in [0, 1], having used the steadier;
    `on_frame(done, total)` follows the progress (total None when the container does not say)."""
    frames, writer, total, fps = _open(source, output, settings)
    steadier = Steadier(settings.temporal)
    start, count, size = time.perf_counter(), 0, None
    try:
        for frame in frames:
            picture = Image.fromarray(frame.rgb)
            if size is None:  # every frame the size of the first (a folder's frames may differ), even for H.264
                size = _frame_size(picture.size, settings.size, even=writer.even)
            picture = imageio.resize(picture, size)
            rgb = np.asarray(fn.to_pil(paint_frame(picture, steadier)))
            writer.write(rgb, frame.pts)
            count += 1
            if on_frame is not None:
                on_frame(count, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return ClipResult(output, count, size or (0, 0), time.perf_counter() - start, fps)


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
    writer = video.ClipWriter(output, info, crf=settings.crf, audio_from=info, end=settings.end)
    return frames, writer, _expected_frames(info, settings), float(info.rate)


def one_pass_frames(engine) -> FramePainter:
    """A frame painter for any one-pass engine (engines.one_pass.OnePass), steadied by the clip's Steadier."""

    period = engine.net.multiple if engine.net.multiple <= GRID_LOCK_MAX_PERIOD else 1

    def paint(picture: Image.Image, steadier: Steadier) -> torch.Tensor:
        frame = np.asarray(picture)
        x = engine.tensor(picture)
        moved = steadier.motion(frame)
        lock = steadier.lock(moved, period)
        if lock is None:
            y, _ = engine.forward(x)
        else:
            lock = lock.scaled(x.shape[-1] / picture.width)
            y = lock.back(engine.forward(lock.into(x))[0])
        if engine.settings.preserve_colors:
            y = fn.combine_luma_chroma(y, x)
        y = y.float()
        if y.shape[-2:] != (picture.height, picture.width):  # --work-size: painted smaller, shown at full size
            y = fn.resize_tensor(y, picture.size).clamp(0, 1)
        return steadier.blend(frame, y, moved)

    return paint


def from_first_frame(make_engine: Callable[[Image.Image], object]) -> FramePainter:
    """A one-pass frame painter whose engine depends on the photo (AdaIN's mask and colours, the
    arbitrary network's --strength): built once from the first frame, so every frame gets the same
    network and the clip does not flicker from a style that changes with each frame."""
    built: list[FramePainter] = []

    def paint(picture: Image.Image, steadier: Steadier) -> torch.Tensor:
        if not built:
            built.append(one_pass_frames(make_engine(picture)))
        return built[0](picture, steadier)

    return paint


def gatys_frames(stylizer, styles, strength: float) -> FramePainter:
    """A frame painter for Gatys on video: the first frame as a photo; later ones start from the previous
    result warped to them, with a temporal loss on the trusted pixels (Ruder et al. 2016)."""
    cfg = stylizer.config
    later_evaluations = min(GATYS_LATER_EVALUATIONS, cfg.schedule[-1][1])

    def paint(picture: Image.Image, steadier: Steadier) -> torch.Tensor:
        frame = np.asarray(picture)
        motion = steadier.motion(frame)  # None when --temporal is 0
        if motion is None:
            result = stylizer.run(picture, styles)
        else:
            _, mask, warped = motion
            # one scale, at the frame's own size (so the warped result and the mask fit it exactly)
            later = stylizer.with_config(replace(cfg, scales=(max(picture.size),), iterations=later_evaluations))
            trust = torch.from_numpy(mask).to(warped.device)[None, None]
            start = trust * warped + (1 - trust) * fn.to_tensor(picture, warped.device)
            result = later.run(picture, styles, init=start, temporal=(warped, trust, GATYS_TEMPORAL_WEIGHT * strength))
        out = fn.to_tensor(imageio.resize(result.image, picture.size), stylizer.device)
        steadier.remember(frame, out)
        return out

    return paint


def _expected_frames(info: video.ClipInfo, settings: ClipSettings) -> int | None:
    if info.frames is None:
        return None
    if settings.start is None and settings.end is None:
        return info.frames
    duration = info.frames / float(info.rate)
    part = min(settings.end or duration, duration) - (settings.start or 0)
    return max(0, round(part * float(info.rate)))
