"""Video: clips in and out (frame count, rate, audio, cuts, odd sizes, GIFs, folders of frames), steadiness
from frame to frame, Gatys on clips, translation of clips, and the errors of bad clips."""

from __future__ import annotations

import json
import sys
from fractions import Fraction

import pytest
import torch
from typer.testing import CliRunner

from paintcli.cli import app
from paintcli.config import ClipSettings
from paintcli.engines.temporal import GridLock, Motion, Steadier, shift, warp, warping_error
from paintcli.engines.video import paint_clip
from paintcli.paths import Shard, plan_jobs

av = pytest.importorskip("av")  # the video extra; the test extra installs it, so CI runs these
np = pytest.importorskip("numpy")
pytest.importorskip("cv2")

runner = CliRunner()
FPS = 12


def moving_frames(count: int = 12, size: tuple[int, int] = (64, 48), step: int = 2) -> list[np.ndarray]:
    """A smooth random landscape sliding `step` pixels per frame to the left: motion that optical
    flow can follow, with texture that a style network answers differently frame to frame."""
    w, h = size
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.random((1, 3, h // 6, (w + step * count) // 6)).astype(np.float32))
    wide = torch.nn.functional.interpolate(coarse, size=(h, w + step * count), mode="bicubic", align_corners=False)
    wide = (wide.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    return [np.ascontiguousarray(wide[:, i * step : i * step + w]) for i in range(count)]


def write_clip(path, frames: list[np.ndarray], *, fps: int = FPS, audio: bool = True) -> None:
    """An H.264 clip (and one second of 440 Hz AAC per second of video) written with PyAV."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        sound = out.add_stream("aac", rate=44100) if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        if sound is not None:
            samples = round(len(frames) / fps * 44100)
            for start in range(0, samples, 1024):
                t = np.arange(start, start + 1024) / 44100
                chunk = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 44100, start
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)


def read_clip(path) -> tuple[list[np.ndarray], dict]:
    with av.open(str(path)) as clip:
        stream = clip.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in clip.decode(stream)]
        audio = clip.streams.audio[0] if clip.streams.audio else None
        info = {
            "rate": stream.average_rate, "codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height), "audio": audio.codec_context.name if audio else None,
        }  # fmt: skip
    if audio is not None:
        with av.open(str(path)) as clip:
            packets = [p for p in clip.demux(audio=0) if p.pts is not None]
            info["audio_seconds"] = float((packets[-1].pts + packets[-1].duration - packets[0].pts) * packets[0].time_base)
    return frames, info


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.mp4"
    write_clip(path, moving_frames())
    return path


def paint(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_stylized_clip_keeps_frames_rate_and_audio(clip, tmp_path):
    result = paint("stylize", clip, "--style", "starry", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    out = tmp_path / "clip_stylized.mp4"
    assert record["output"] == str(out) and record["frames"] == 12 and record["fps"] == FPS
    frames, info = read_clip(out)
    assert len(frames) == 12 and info["rate"] == FPS and info["size"] == (64, 48)
    assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p")
    assert info["audio"] == "aac" and info["audio_seconds"] == pytest.approx(1.0, abs=0.05)
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".*"))


def test_x264_preset_veryfast_by_default_and_chosen_by_preset(clip, tmp_path):
    """x264 writes its settings into the stream: subme=2 is veryfast's motion search, 7 medium's."""
    for extra, settings in (([], b"subme=2"), (["--preset", "medium", "--crf", "18"], b"subme=7")):
        out = tmp_path / f"clip{len(extra)}.mp4"
        result = paint("stylize", clip, "--style", "starry", "--end", "0.25", "-o", out, *extra)
        assert result.exit_code == 0, result.output
        data = out.read_bytes()
        assert settings in data and (b"crf=18.0" in data) == bool(extra)


def test_consistent_output_is_steadier_than_frame_by_frame(clip, tmp_path):
    """Steady by default: the clip painted as a user paints it flickers less than frame by frame."""
    inputs, _ = read_clip(clip)
    errors = {}
    for name, options in (("frame by frame", ["--temporal", "0"]), ("default", [])):
        out = tmp_path / f"{len(options)}.mp4"
        result = paint("stylize", clip, "--style", "starry", *options, "-o", out)
        assert result.exit_code == 0, result.output
        errors[name] = warping_error(inputs, read_clip(out)[0])
    steady_input = warping_error(inputs, inputs)
    assert steady_input < errors["default"] < 0.8 * errors["frame by frame"], errors


def test_cut_odd_size_other_containers_and_gif(clip, tmp_path):
    result = paint("stylize", clip, "--style", "3", "--size", "47", "--start", "0.25", "--end", "0.75", "-o", tmp_path / "cut.mkv")
    assert result.exit_code == 0, result.output
    frames, info = read_clip(tmp_path / "cut.mkv")
    assert len(frames) == 6 and info["size"] == (46, 34)  # 47x35 made even for yuv420p
    assert info["audio_seconds"] == pytest.approx(0.5, abs=0.05)
    gif = tmp_path / "moving.gif"
    assert paint("stylize", clip, "--style", "3", "-o", gif).exit_code == 0
    from PIL import Image

    with Image.open(gif) as img:
        assert img.n_frames == 12
    result = paint("stylize", gif, "--style", "3", "--json")  # an animated GIF in: an mp4 out
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"].endswith("moving_stylized.mp4")
    assert len(read_clip(tmp_path / "moving_stylized.mp4")[0]) == 12


def test_folder_of_frames_in_and_out(tmp_path):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, rgb in enumerate(moving_frames(6)):
        Image.fromarray(rgb).save(folder / f"{i:04d}.jpg")
    result = paint("stylize", folder, "--frames", "--style", "starry", "-o", tmp_path / "painted")
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "painted").iterdir())
    assert written == [f"{i:04d}.png" for i in range(6)]
    again = paint("stylize", folder, "--frames", "--style", "starry", "-o", tmp_path / "painted")
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_translate_clip_with_a_zoo_layout_generator(clip, tmp_path):
    from tests.test_translate import official_resnet_file

    official_resnet_file(tmp_path / "latest_net_G.pth")
    result = paint("translate", clip, "--model", tmp_path / "latest_net_G.pth", "--size", "32", "-o", tmp_path / "zebra.mp4")
    assert result.exit_code == 0, result.output
    frames, info = read_clip(tmp_path / "zebra.mp4")
    assert len(frames) == 12 and info["size"] == (32, 24) and info["audio"] == "aac"


def test_gatys_on_a_clip_starts_each_frame_from_the_last(clip, tmp_path, images):
    _, style = images
    out = tmp_path / "gatys.mp4"
    result = paint("stylize", clip, "--method", "gatys", "--style", style, "--size", "32", "-n", "8", "--end", "0.25", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frames"] == 3
    assert len(read_clip(out)[0]) == 3


@pytest.mark.parametrize(
    ("make", "extra", "expected"),
    [
        (lambda p: p.write_bytes(b"not a video at all"), [], "cannot be decoded"),
        (lambda p: write_clip(p, moving_frames(4)), ["--start", "5"], "holds no frames"),
        (lambda p: write_clip(p, moving_frames(4)), ["--end", "0"], "leave nothing to paint"),
        (lambda p: write_clip(p, moving_frames(4)), ["--temporal", "2"], "--temporal"),
        (lambda p: write_clip(p, moving_frames(4)), ["--preset", "quick"], "x264's presets"),
        (lambda p: write_clip(p, moving_frames(4)), ["-o", "-"], "standard output"),
        (lambda p: write_clip(p, moving_frames(4)), ["-o", "out.webm"], "unknown video type"),
    ],
)
def test_bad_clips_and_options_exit_2_and_leave_nothing(tmp_path, monkeypatch, make, extra, expected):
    monkeypatch.chdir(tmp_path)
    make(tmp_path / "in.mp4")
    before = set(tmp_path.iterdir())
    result = paint("stylize", "in.mp4", "--style", "starry", *extra)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert set(tmp_path.iterdir()) == before


def test_a_clip_without_video_is_refused(tmp_path):
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as out:
        sound = out.add_stream("aac", rate=44100)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = 44100, 0
        for packet in [*sound.encode(chunk), *sound.encode()]:
            out.mux(packet)
    result = paint("stylize", path, "--style", "starry")
    assert result.exit_code == 2 and "no video stream" in result.output


def test_dream_says_it_paints_pictures_only(clip):
    result = paint("dream", clip)
    assert result.exit_code == 2 and "not video clips" in result.output


def test_missing_extra_names_it(clip, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av now fails, as without the extra
    result = paint("stylize", clip, "--style", "starry")
    assert result.exit_code == 2 and 'pip install "paintcli[video]"' in result.output


class Interrupted:
    """A frame painter that paints noise on `workers` threads and meets Ctrl-C at the third frame."""

    def __init__(self, workers: int):
        self.workers, self.painted = workers, []

    def start(self, picture, steadier):
        return picture

    def paint(self, picture):
        self.painted.append(picture)
        if len(self.painted) == 3:
            raise KeyboardInterrupt
        return torch.rand(1, 3, picture.height, picture.width)

    def finish(self, picture, painted, steadier):
        return painted


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_clip_leaves_no_file(clip, tmp_path, workers):
    threads = torch.get_num_threads()
    with pytest.raises(KeyboardInterrupt):
        paint_clip(clip, tmp_path / "out.mp4", Interrupted(workers), ClipSettings())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert torch.get_num_threads() == threads  # the cores given back to one thread pool


def test_frames_painted_at_once_match_frames_painted_one_by_one(tmp_path):
    """On a CPU several frames go through the network at once, each on a share of the cores; the
    steadier still takes them in order, so the clip is the one painted a frame at a time."""
    from PIL import Image

    from paintcli.config import OnePassConfig
    from paintcli.engines.instant import BuiltinStylizer, parse_styles
    from paintcli.engines.video import OnePassFrames, frames_at_once

    (tmp_path / "in").mkdir()
    for i, frame in enumerate(moving_frames(8, size=(64, 48), step=2)):
        Image.fromarray(frame).save(tmp_path / "in" / f"{i:02d}.png")
    stylizer = BuiltinStylizer(device="cpu")
    engine = stylizer.painter(parse_styles("starry"), OnePassConfig(precision="fp32"))  # bf16 rounds more by thread count
    assert frames_at_once(engine) == min(4, torch.get_num_threads() + 1) > 1
    assert frames_at_once(stylizer.painter(parse_styles("starry"), OnePassConfig(tile=32))) == 1  # tiles share hooks
    clips = {}
    for workers in (1, 3):
        frames = OnePassFrames(engine)
        frames.workers = workers
        paint_clip(tmp_path / "in", tmp_path / f"out{workers}", frames, ClipSettings(temporal=0.7))
        clips[workers] = [np.asarray(Image.open(p)).astype(int) for p in sorted((tmp_path / f"out{workers}").iterdir())]
    assert len(clips[1]) == len(clips[3]) == 8
    for one, several in zip(clips[1], clips[3]):
        assert np.abs(one - several).max() <= 1  # float rounding of 1 or 2 threads per convolution


def test_steadier_follows_motion_instead_of_ghosting():
    """Strength 1 on a sliding picture: the previous output, moved by the flow, lands on the new one."""
    frames = moving_frames(2, size=(64, 48), step=3)
    painted = [torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in frames]
    steadier = Steadier(1.0)
    steadier(frames[0], painted[0])
    out = steadier(frames[1], painted[1])
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -8))  # away from the edge that came into view
    moved = (out - painted[1])[inner].abs().mean()
    unmoved = (painted[0] - painted[1])[inner].abs().mean()
    assert moved < 0.2 * unmoved


def strided(x: torch.Tensor) -> torch.Tensor:
    """A stand-in for a network that downsamples by 4: what it paints depends on where the grid falls."""
    return torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(x, 4), scale_factor=4, mode="nearest")


@pytest.mark.parametrize("step", [1, 2, 3])
def test_grid_lock_paints_a_moved_scene_with_the_same_strokes_moved(step):
    """A scene slid by 1-3 pixels: unlocked, a stride-4 network paints other blocks; locked to the
    drift, it paints the first frame's blocks, moved with the scene."""
    first, later = (torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in moving_frames(2, size=(64, 48), step=step))
    reference = strided(GridLock((0.0, 0.0), 4).into(first))
    reference = GridLock((0.0, 0.0), 4).back(reference)
    lock = GridLock((-float(step), 0.0), 4)  # the scene moved `step` pixels to the left
    locked = lock.back(strided(lock.into(later)))
    inner = (slice(None), slice(None), slice(None), slice(8, -8))  # away from the padded edges
    assert locked.shape == later.shape
    assert torch.allclose(locked[..., :-step][inner], reference[..., step:][inner], atol=1e-6)  # later(x) = first(x + step)
    unlocked = strided(later)
    assert (unlocked[..., :-step][inner] - reference[..., step:][inner]).abs().mean() > 0.01


def test_grid_lock_round_trip_and_fractional_drift():
    frame = torch.from_numpy(moving_frames(1, size=(64, 48))[0]).permute(2, 0, 1)[None].float() / 255
    whole = GridLock((-6.0, 3.0), 4)
    assert whole.pad == (2, 1) and torch.equal(whole.back(whole.into(frame)), frame)
    part = GridLock((0.5, 0.25), 4)
    assert part.into(frame).shape[-2:] == (48 + 4, 64 + 4)
    assert (part.back(part.into(frame)) - frame)[..., 4:-4, 4:-4].abs().mean() < 0.01  # one Lanczos round trip
    fraction_only = GridLock((-6.5, 3.0), 1)  # a U-Net: no padding, which could double its padded size
    assert fraction_only.into(frame).shape == frame.shape and fraction_only.back(fraction_only.into(frame)).shape == frame.shape
    tiny = frame[..., :8, :8]
    assert GridLock((-3.0, -1.0), 16).back(GridLock((-3.0, -1.0), 16).into(tiny)).equal(tiny)  # wider pad than the frame


def lanczos_resampled(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Each pixel of `image` (..., H, W) sampled at (x + dx, y + dy), edges repeated, with Lanczos-4
    weights (np.sinc) normalised to sum to 1: one row and one column at a time, the slow plain way."""

    def along(a: np.ndarray, d: float, axis: int) -> np.ndarray:
        n, out = a.shape[axis], np.zeros_like(a)
        for i in range(n):
            at = i + d
            sources = range(int(np.floor(at)) - 3, int(np.floor(at)) + 5)
            weights = [np.sinc(at - j) * np.sinc((at - j) / 4) for j in sources]
            for j, weight in zip(sources, weights):
                index = [slice(None)] * a.ndim
                index[axis] = i
                source = [slice(None)] * a.ndim
                source[axis] = min(max(j, 0), n - 1)
                out[tuple(index)] += weight / sum(weights) * a[tuple(source)]
        return out

    return along(along(image, dx, -1), dy, -2)


@pytest.mark.parametrize("batch", [1, 2])  # one picture goes through OpenCV, a batch through torch
@pytest.mark.parametrize("dx, dy", [(0.3, 0.2), (-0.6, 0.0), (-2.25, 1.5), (1.0, -3.0)])
def test_shift_samples_with_a_lanczos_kernel(dx, dy, batch):
    image = torch.rand(batch, 3, 12, 18, generator=torch.Generator().manual_seed(0))
    expected = torch.from_numpy(lanczos_resampled(image.double().numpy(), dx, dy)).float()
    assert torch.allclose(shift(image, dx, dy), expected, atol=1e-4)


def test_motion_warps_the_previous_output_to_where_grid_sampling_puts_it():
    """The OpenCV path (Lanczos) and the torch path (bicubic, for anything OpenCV cannot take) land
    the samples where `warp`'s grid sampling does, edges repeated, for a flow with fractions and
    targets outside the frame; on a smooth picture the kernels hardly differ."""
    generator = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 8, generator=generator), size=(24, 32), mode="bicubic", align_corners=True).clamp(0, 1)
    flow = ((torch.rand(24, 32, 2, generator=generator) - 0.5) * 9).numpy()
    motion, expected = Motion(flow, np.ones((24, 32), np.float32)), warp(smooth, flow)
    for image in (smooth, smooth.contiguous(memory_format=torch.channels_last), smooth.double()):  # float64: the torch path
        moved = motion.warp(image).float()
        assert moved.shape == expected.shape and 0 <= moved.min() and moved.max() <= 1
        assert (moved - expected).abs().mean() < 0.01


def test_motion_warp_keeps_fine_strokes_sharp_over_many_frames():
    """The previous output is moved once per frame: half a pixel there and back 10 times keeps much
    of the contrast of stripes two pixels wide, where bilinear sampling (the measure's warp) leaves none."""
    stripes = torch.zeros(1, 3, 16, 48)
    stripes[..., 0::4] = stripes[..., 1::4] = 1.0
    there, back = (np.full((16, 48, 2), (d, 0.0), np.float32) for d in (0.5, -0.5))
    inner = (..., slice(4, -4), slice(8, -8))  # away from the repeated edges
    for image, kept in ((stripes, 0.6), (stripes.double(), 0.3)):  # OpenCV's Lanczos; torch's bicubic (float64)
        sharp, soft = image, image
        for _ in range(10):
            sharp = Motion(back, None).warp(Motion(there, None).warp(sharp))
            soft = warp(warp(soft, there), back)
        assert float(sharp[inner].max() - sharp[inner].min()) > kept, image.dtype
        assert float(soft[inner].max() - soft[inner].min()) < 0.05


def test_steadier_measures_the_camera_drift():
    frames = moving_frames(4, size=(64, 48), step=2)  # content slides 2 px left per frame
    steadier = Steadier(0.5)
    for frame in frames:
        motion = steadier.follow(frame)
        lock = steadier.lock(4)
        steadier.blend(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255, motion)
    assert lock.drift == pytest.approx((-6.0, 0.0), abs=0.3)
    off = Steadier(0.0)
    assert off.follow(frames[0]) is None and off.lock(4) is None  # steadiness off: frames painted as they are


def test_folders_of_clips_are_shared_out_one_clip_per_process(tmp_path):
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        write_clip(tmp_path / name, moving_frames(2), audio=False)
    shares = [plan_jobs([tmp_path], tmp_path / "out", suffix="_x", shard=Shard(rank, 2)).jobs for rank in (0, 1)]
    assert [[j.source.name for j in jobs] for jobs in shares] == [["a.mp4", "c.mp4"], ["b.mp4"]]
    assert all(j.output.suffix == ".mp4" and j.clip for jobs in shares for j in jobs)


def test_times_are_kept_for_a_variable_rate_clip(tmp_path):
    """Frames keep their own times: a clip with a gap stays as long as it was."""
    path = tmp_path / "vfr.mkv"
    frames = moving_frames(6)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for t, rgb in zip([0, 83, 167, 500, 583, 667], frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    out_path = tmp_path / "vfr_out.mkv"
    assert paint("stylize", path, "--style", "starry", "-o", out_path).exit_code == 0
    with av.open(str(out_path)) as clip:
        times = [float(f.pts * f.time_base) for f in clip.decode(video=0)]
    assert times == pytest.approx([0, 0.083, 0.167, 0.5, 0.583, 0.667], abs=0.002)
