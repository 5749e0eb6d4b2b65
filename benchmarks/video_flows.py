"""Where the warping error that steadiness leaves comes from: paint's flow against the measure's.

    python benchmarks/video_flows.py [CLIP] [--frames 80] [--size 360] [--style 19]

benchmarks/video.py grades steadiness by moving each output frame onto the next along Farneback flow,
not along the DIS flow paint follows. So even a painting whose strokes follow DIS flow perfectly, with
no new stroke and no blur, is charged wherever the two flows disagree, at the contrast of its strokes.
This script measures that charge for one step: paint's frame-by-frame painting of frame t moved onto
frame t+1 along a candidate flow (with paint's own warp, Lanczos), against the same painting moved
along the measure's flow, masked as the measure masks (mean absolute difference, 0-1): the warping
error of an output that is exactly the previous one carried along the candidate flow. Candidates:
DIS presets and settings, and DIS with its flow in flat, textureless parts of the frame (where the
picture says nothing about motion) filled in from the textured parts around them (normalised
convolution). Also printed per candidate: ms per flow on one OpenCV thread, and how well it moves
the *input* frame onto the next (mean absolute difference, 0-1; lower is a closer photometric fit).
Last, for paint's flow, where in the frame the one-step charge falls: by how far the two flows
disagree, and by the input's local contrast.

CLIP defaults to $PAINT_ASSETS/video/armwrestling.mp4 (never committed).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from video import decode, paint_first_frames

from paintcli.engines.instant import BuiltinStylizer
from paintcli.engines.temporal import Flow, Motion, _gray, _targets, trusted, warp


def dis(preset: int, **settings) -> cv2.DISOpticalFlow:
    flow = cv2.DISOpticalFlow_create(preset)
    for name, value in settings.items():  # e.g. FinestScale=1 -> flow.setFinestScale(1)
        getattr(flow, f"set{name}")(value)
    return flow


def local_contrast(gray: np.ndarray) -> np.ndarray:
    """Gradient magnitude (grey levels a pixel), smoothed over a few pixels: near 0 where the picture is flat."""
    g = gray.astype(np.float32)
    return cv2.GaussianBlur(np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) / 8, (0, 0), 3)


def filled_in_flat_parts(flow: np.ndarray, gray: np.ndarray, sigma: float = 8.0, contrast: float = 4.0) -> np.ndarray:
    """`flow` kept where the picture has texture (local gradient >= `contrast` grey levels a pixel) and,
    toward flat parts, replaced by the texture-weighted average of the flow around them."""
    trust = np.clip(local_contrast(gray) / contrast, 0, 1)
    weight = np.maximum(cv2.GaussianBlur(trust, (0, 0), sigma), 1e-3)[..., None]
    around = cv2.GaussianBlur(flow * trust[..., None], (0, 0), sigma) / weight
    trust = trust[..., None]
    return (trust * flow + (1 - trust) * around).astype(np.float32)


PAINTS = "DIS fast (paint's)"


def candidates() -> dict:
    """name -> flow(a, b) (H, W, 2) from RGB frame a to b."""

    def of(engine, fill=False):
        def flow(a, b):
            ga, gb = _gray(a), _gray(b)
            f = engine.calc(ga, gb, None)
            return filled_in_flat_parts(f, ga) if fill else f

        return flow

    return {
        "DIS ultrafast": of(dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)),
        PAINTS: Flow("dis"),
        "DIS medium": of(dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)),
        "DIS fast, finest scale 1": of(dis(cv2.DISOPTICAL_FLOW_PRESET_FAST, FinestScale=1)),
        "DIS fast, finest scale 0": of(dis(cv2.DISOPTICAL_FLOW_PRESET_FAST, FinestScale=0)),
        "DIS fast, smoother (alpha 60)": of(dis(cv2.DISOPTICAL_FLOW_PRESET_FAST, VariationalRefinementAlpha=60.0)),
        "DIS fast, flat parts filled in": of(dis(cv2.DISOPTICAL_FLOW_PRESET_FAST), fill=True),
        "Farneback (the measure's own)": Flow("farneback"),
    }


def tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255


def charge(painting: np.ndarray, flow: np.ndarray, backward: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W): `painting` carried along `flow` by paint's warp, against it carried along the measure's
    `backward` flow by the measure's warp (mean absolute difference over the colours, 0-1)."""
    picture = tensor(painting)
    return (Motion(flow, mask).warp(picture) - warp(picture, backward)).abs().mean(1)[0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_clip = Path(os.environ.get("PAINT_ASSETS", Path(__file__).resolve().parents[2] / "shared" / "assets")) / "video" / "armwrestling.mp4"
    parser.add_argument("clip", nargs="?", type=Path, default=default_clip)
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--size", type=int, default=360, help="cap on the longer side, as benchmarks/video.py")
    parser.add_argument("--style", default="19")
    args = parser.parse_args()
    if not args.clip.is_file():
        raise SystemExit(f"{args.clip} not found: pass a clip, or set PAINT_ASSETS")
    cv2.setNumThreads(1)

    inputs = decode(args.clip, args.size)[: args.frames]
    paintings = paint_first_frames(args.clip, BuiltinStylizer(device="cpu"), args.style, args.frames, size=max(inputs[0].shape[:2]))
    measure = Flow("farneback")
    steps = []  # (input t, input t+1, painting t, the measure's backward flow, its mask)
    for i, (a, b) in enumerate(zip(inputs, inputs[1:])):
        backward = measure(b, a)
        steps.append((a, b, paintings[i], backward, trusted(backward, measure(a, b))))
    print(f"clip: {args.clip.name}, first {len(inputs)} frames, {inputs[0].shape[1]}x{inputs[0].shape[0]}; style {args.style}\n")
    print(f"{'flow':32} {'ms a flow':>9} {'one-step charge':>16} {'input moved':>12}")
    gaps, contrasts, charges_of_paint = [], [], []  # over the measured pixels, for paint's flow
    for name, flow in candidates().items():
        seconds, charges, fits = 0.0, [], []
        for a, b, painting, backward, mask in steps:
            start = time.perf_counter()
            candidate = flow(b, a)
            seconds += time.perf_counter() - start
            diff = charge(painting, candidate, backward, mask)
            charges.append(float((diff * mask).sum() / max(mask.sum(), 1)))
            if name == PAINTS:
                keep = mask > 0
                gaps.append(np.linalg.norm(candidate - backward, axis=2)[keep])
                contrasts.append(local_contrast(_gray(b))[keep])
                charges_of_paint.append(diff[keep])
            moved = cv2.remap(a.astype(np.float32) / 255, _targets(candidate), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            fits.append(float(np.abs(moved - b.astype(np.float32) / 255).mean()))
        print(f"{name:32} {seconds / len(steps) * 1000:9.1f} {np.mean(charges):16.4f} {np.mean(fits):12.4f}")

    gap, contrast, paints = np.concatenate(gaps), np.concatenate(contrasts), np.concatenate(charges_of_paint)
    for title, values, edges in (
        ("how far apart paint's flow and the measure's are (pixels)", gap, [0, 0.1, 0.25, 0.5, 1, 2, np.inf]),
        ("the input's local contrast (grey levels a pixel)", contrast, [0, 2, 5, 10, 20, np.inf]),
    ):
        print(f"\nthe one-step charge of paint's flow by {title}:")
        print(f"{'':14} {'pixels':>8} {'mean charge':>12} {'share of charge':>16}")
        for low, high in zip(edges, edges[1:]):
            part = (values >= low) & (values < high)
            print(f"{f'{low:g} - {high:g}':14} {part.mean():8.1%} {paints[part].mean():12.4f} {paints[part].sum() / paints.sum():16.1%}")


if __name__ == "__main__":
    main()
