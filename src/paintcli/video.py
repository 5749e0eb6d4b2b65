"""Reading and writing video clips (PyAV, an FFmpeg binding; the `paintcli[video]` extra).

A clip is read frame by frame as RGB arrays with each frame's time, and written back with the same
times (so the frame count, frame rate and duration stay), as H.264 in yuv420p (an odd side is made
even by repeating the last row or column), with the source's audio copied packet by packet. A clip
is written to a temporary file and renamed when complete, so Ctrl-C or a crash leaves nothing
half-written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from paintcli.atomic import atomic_path
from paintcli.errors import PaintError

if TYPE_CHECKING:  # numpy and PyAV are imported where they are used: importing this module is cheap
    import numpy as np

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}  # and animated GIFs (is_clip)
WRITE_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".m4v": "mp4"}


class VideoError(PaintError):
    """A clip that cannot be read or written."""


def is_clip(path: str | os.PathLike[str]) -> bool:
    """A video file by its name, or a GIF with more than one frame."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif" and path.is_file():
        from PIL import Image

        try:
            with Image.open(path) as img:
                return getattr(img, "n_frames", 1) > 1
        except OSError:
            return False
    return suffix in VIDEO_SUFFIXES


def require() -> None:
    """Fail with the one line that says what to install when PyAV or OpenCV is missing."""
    try:
        import av  # noqa: F401
        import cv2  # noqa: F401
    except ImportError:
        raise PaintError("video clips need the video extra (PyAV and OpenCV)", 'pip install "paintcli[video]"') from None


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray  # (H, W, 3) uint8
    pts: int  # presentation time in the clip's time base
    index: int  # 0-based, in the part read


@dataclass(frozen=True)
class ClipInfo:
    path: Path
    width: int
    height: int
    rate: Fraction  # frames per second (average)
    time_base: Fraction
    frames: int | None  # the container's count, when it gives one
    has_audio: bool


def probe(path: str | os.PathLike[str]) -> ClipInfo:
    """What a clip holds, or a one-line VideoError."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path} does not exist", "check the path")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path} has no video stream", "pass a video clip (mp4, mov, mkv, webm, avi or an animated GIF)")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            return ClipInfo(path, stream.width, stream.height, Fraction(rate), Fraction(stream.time_base),
                            stream.frames or None, bool(container.streams.audio))  # fmt: skip
    except av.FFmpegError as exc:
        raise VideoError(f"{path} cannot be decoded ({type(exc).__name__})", "check that the file is a complete video clip") from None


def frames(info: ClipInfo, *, start: float | None = None, end: float | None = None) -> Iterator[Frame]:
    """The clip's frames between `start` and `end` seconds, as RGB arrays with their times."""
    import av

    count = 0
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                seconds = float(frame.pts * info.time_base) if frame.pts is not None else count / float(info.rate)
                if start is not None and seconds < start:
                    continue
                if end is not None and seconds >= end:
                    break
                pts = frame.pts if frame.pts is not None else round(count / info.rate / info.time_base)
                yield Frame(frame.to_ndarray(format="rgb24"), pts, count)  # numpy (H, W, 3)
                count += 1
    except av.FFmpegError as exc:
        raise VideoError(f"{info.path} cannot be decoded after {count} frames ({type(exc).__name__})", "the file may be truncated") from None
    if count == 0:
        raise VideoError(f"{info.path} holds no frames{' in the chosen part' if start or end else ''}", "check --start and --end, or the file")


class ClipWriter:
    """Writes frames (with their source times) to `path` through a temporary file; `close()` renames it.

    mp4, mov, mkv: H.264, yuv420p, `crf` quality (lower is better; 23 is FFmpeg's default) at x264's
    `preset` (config.ClipSettings holds the defaults and why); sides padded to even (yuv420p's chroma
    is half the size); the audio of `audio_from` for the same span, copied when the container takes its codec, else re-encoded as
    AAC, and interleaved with the frames. gif: an animated GIF, no audio.
    """

    def __init__(self, path: Path, info: ClipInfo, *, crf: int, preset: str, audio_from: ClipInfo | None = None, end: float | None = None):
        import av

        suffix = path.suffix.lower()
        if suffix not in WRITE_FORMATS and suffix != ".gif":
            raise VideoError(f"cannot write {path}: unknown video type {suffix!r}", "end the output name with .mp4, .mov, .mkv or .gif")
        self.path, self.info, self.crf, self.preset, self.gif = path, info, crf, preset, suffix == ".gif"
        self.even = not self.gif  # yuv420p halves the chroma: sides must be even
        self.audio_from = audio_from if audio_from is not None and audio_from.has_audio and not self.gif else None
        self.audio_end = Fraction(end) if end is not None else None  # seconds in the source (--end)
        self._atomic = atomic_path(path)
        self.tmp = self._atomic.__enter__()
        self.container = av.open(str(self.tmp), mode="w", format=WRITE_FORMATS.get(suffix, "gif"))
        self.stream = None
        self.first_pts: int | None = None
        self.audio: list = []  # audio packets not yet muxed, in order
        self.frames = 0

    def write(self, rgb: np.ndarray, pts: int) -> None:
        import av
        import numpy as np

        if self.stream is None:
            self.first_pts = pts
            self._open_streams(rgb.shape[1], rgb.shape[0])
        if not self.gif:
            rgb = _even(rgb)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts - self.first_pts, self.info.time_base
        self._mux_audio_until((pts - self.first_pts) * self.info.time_base)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file (flush the encoder and the rest of the audio) and give it its name."""
        try:
            if self.stream is None:
                raise VideoError(f"no frames to write to {self.path}", "check the input clip")
            for packet in self.stream.encode():
                self.container.mux(packet)
            self._mux_audio_until(None)
            self.container.close()
        except BaseException as exc:
            self.abort()
            if isinstance(exc, Exception) and not isinstance(exc, PaintError):
                raise VideoError(f"cannot write {self.path} ({type(exc).__name__}: {exc})", "check the output folder and its free space") from None
            raise
        self._atomic.__exit__(None, None, None)
        return self.path

    def abort(self) -> None:
        """Throw the unfinished file away (Ctrl-C, a failed frame)."""
        try:
            self.container.close()
        except Exception:
            pass
        Path(self.tmp).unlink(missing_ok=True)

    def _open_streams(self, width: int, height: int) -> None:
        """The video stream (and the audio one: every stream must exist before the first packet)."""
        if self.gif:
            self.stream = self.container.add_stream("gif", rate=self.info.rate)
            self.stream.pix_fmt = "rgb8"
        else:
            self.stream = self.container.add_stream("libx264", rate=self.info.rate)
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = {"crf": str(self.crf), "preset": self.preset}
            width, height = width + width % 2, height + height % 2
        self.stream.width, self.stream.height = width, height
        self.stream.time_base = self.info.time_base
        if self.audio_from is not None:
            start = self.first_pts * self.info.time_base
            self.audio = _audio_packets(self.audio_from.path, self.container, start, self.audio_end)

    def _mux_audio_until(self, seconds: Fraction | None) -> None:
        """Mux the audio packets up to `seconds` of output time (all of them for None), so the file
        is interleaved as players expect."""
        while self.audio and (seconds is None or self.audio[0].pts * self.audio[0].time_base <= seconds):
            self.container.mux(self.audio.pop(0))


# containers that take these audio codecs as they are; anything else is re-encoded as AAC
AUDIO_COPY = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    "matroska": None,  # any
}


def _audio_packets(source: Path, container, start: Fraction, end: Fraction | None) -> list:
    """The source's first audio stream from `start` to `end` seconds, as packets for `container`
    with times starting at 0: copied when the container takes the codec, else encoded as AAC."""
    import av

    packets = []
    with av.open(str(source)) as src:
        audio = src.streams.audio[0]
        accepted = AUDIO_COPY.get(container.format.name.split(",")[0], set())
        if accepted is None or audio.codec_context.name in accepted:
            out = container.add_stream_from_template(audio)
            for packet in src.demux(audio):
                if packet.pts is None or packet.size == 0:
                    continue
                seconds = packet.pts * audio.time_base
                if seconds < start or (end is not None and seconds >= end):
                    continue
                shift = round(start / audio.time_base)
                packet.pts, packet.dts = packet.pts - shift, (packet.dts if packet.dts is not None else packet.pts) - shift
                packet.stream = out
                packets.append(packet)
            return packets
        out = container.add_stream("aac", rate=audio.codec_context.sample_rate)
        for frame in src.decode(audio):
            seconds = frame.pts * audio.time_base if frame.pts is not None else start
            if seconds < start or (end is not None and seconds >= end):
                continue
            frame.pts = round((seconds - start) * audio.codec_context.sample_rate)
            frame.time_base = Fraction(1, audio.codec_context.sample_rate)
            packets.extend(out.encode(frame))
        packets.extend(out.encode())
    return packets


def _even(rgb: np.ndarray) -> np.ndarray:
    """The frame padded by its own last row and column to even sides (yuv420p needs them)."""
    import numpy as np

    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def folder_frames(folder: Path) -> tuple[list[str], Iterator[Frame]]:
    """The image files of a folder of frames, in name order: their names and their frames (times are indices)."""
    from PIL import Image

    from paintcli.imageio import IMAGE_SUFFIXES, load_image

    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise VideoError(f"the folder {folder} holds no frames", "put the frames in it as .png or .jpg files, named in order")

    def read() -> Iterator[Frame]:
        import numpy as np

        size = None
        for index, path in enumerate(files):
            image = load_image(path)
            size = size or image.size
            if image.size != size:  # one clip, one size: later frames follow the first
                image = image.resize(size, Image.Resampling.LANCZOS)
            yield Frame(np.asarray(image), index, index)

    return [p.stem + ".png" for p in files], read()


class FolderWriter:
    """Writes frames as PNGs into a temporary folder beside `path` and renames it to `path` when complete."""

    def __init__(self, path: Path, names: list[str], *, overwrite: bool = False):
        import tempfile

        self.path, self.names, self.overwrite, self.frames = path, names, overwrite, 0
        self.even = False
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))

    def write(self, rgb: np.ndarray, pts: int) -> None:
        from PIL import Image

        Image.fromarray(rgb).save(self.tmp / self.names[self.frames])
        self.frames += 1

    def close(self) -> Path:
        import shutil

        old = None
        if self.path.exists():
            if not self.overwrite:
                self.abort()
                raise VideoError(f"{self.path} already exists", "pass --overwrite to replace it")
            old = self.path.rename(self.path.with_name(f".{self.path.name}.old-{os.getpid()}"))
        self.tmp.rename(self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)
