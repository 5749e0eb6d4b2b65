"""Would a network trained for steadiness beat blending? Fine-tune the 26-style network and measure it on a clip.

    python benchmarks/steady_network.py [CLIP] --photos DIR [--photos DIR ...] [--temporal-weight 30,300] [--steps 400]

Issue 12 asks for half the peer's warping error at the same style change; blending the previous
output along the motion (paint's `--temporal`) reaches 0.72-0.82x. The papers' other way is a network
trained to answer small motion with the same strokes (Huang et al. 2017, Gupta et al. 2017). This
fine-tunes a copy of the bundled 26-style network (all 26 styles, one per step) on pairs made from
still photos: a crop and the same crop moved by a small random shift, rotation and zoom, both with
a little noise. The loss keeps the copy's pictures close to the original network's in VGG19 terms
(Gram matrices of relu1_1-relu4_1, features of relu3_1, each over the original's own distance to
the photo) and adds `--temporal-weight` times the mean squared difference between the painting of
the moved crop and the painting of the crop moved (the motion is known, so no flow is needed).

Then the first `--frames` frames of CLIP are painted with paint's own clip path (grid lock and
blend) by the original and by each fine-tuned network at `--temporal 0/0.3/0.5`, and the warping
error and style change are printed as benchmarks/video.py measures them, the style change against
the *original* network's frame-by-frame clip (so style that fine-tuning loses shows too).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from video import StyleChange, decode, paint_first_frames

from paintcli import functional as fn
from paintcli.config import GatysConfig
from paintcli.engines.gatys import GatysStylizer
from paintcli.engines.instant import BuiltinStylizer
from paintcli.engines.temporal import warping_error
from paintcli.nets.multistyle import STYLES, ConditionalInstanceNorm

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu3_1"


def load_photos(folders: list[Path], short_side: int = 320) -> list[torch.Tensor]:
    photos = []
    for folder in folders:
        for path in sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png")):
            image = Image.open(path).convert("RGB")
            scale = short_side / min(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
            photos.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255)
    if not photos:
        raise SystemExit("no .jpg or .png photos in " + ", ".join(map(str, folders)))
    return photos


def moved_pair(photo: torch.Tensor, size: int, shift: float, rotate: float, zoom: float):
    """(crop, moved crop, where each moved pixel sits in the crop (a grid_sample grid), mask of those inside)."""
    _, h, w = photo.shape
    x0, y0 = random.uniform(8, w - size - 8), random.uniform(8, h - size - 8)
    angle, scale = math.radians(random.uniform(-rotate, rotate)), 1 + random.uniform(-zoom, zoom)
    turn = scale * torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij")
    here = torch.stack([xs, ys], -1)
    centre = torch.full((2,), size / 2)
    there = (here - centre) @ turn.T + centre + torch.tensor([random.uniform(-shift, shift), random.uniform(-shift, shift)])

    def in_photo(points: torch.Tensor) -> torch.Tensor:
        return torch.stack([(points[..., 0] + x0) / (w - 1) * 2 - 1, (points[..., 1] + y0) / (h - 1) * 2 - 1], -1)[None]

    crop = F.grid_sample(photo[None], in_photo(here), mode="bicubic", align_corners=True).clamp(0, 1)
    moved = F.grid_sample(photo[None], in_photo(there), mode="bicubic", align_corners=True).clamp(0, 1)
    grid = (there / (size - 1) * 2 - 1)[None]
    inside = ((there > 6) & (there < size - 7)).all(-1).float()[None, None]
    return crop, moved, grid, inside


def fine_tune(net: torch.nn.Module, photos: list[torch.Tensor], args, weight: float) -> torch.nn.Module:
    """A copy of `net` trained to paint a moved crop as its painting moved, keeping its style."""
    random.seed(0)
    torch.manual_seed(0)
    teacher, student = net, copy.deepcopy(net).requires_grad_(True).train()
    vgg = GatysStylizer(GatysConfig(), device="cpu").net.requires_grad_(False)
    norms = [[m for m in n.modules() if isinstance(m, ConditionalInstanceNorm)] for n in (teacher, student)]

    def style(number: int) -> None:
        for group in norms:
            for norm in group:
                norm.scale, norm.shift = norm.gamma[number], norm.beta[number]

    def batch():
        crops, moved, grids, inside = zip(*(moved_pair(random.choice(photos), args.crop, args.shift, args.rotate, args.zoom) for _ in range(args.batch)))
        crops, moved = torch.cat(crops), torch.cat(moved)
        noise = torch.rand(args.batch, 1, 1, 1) * args.noise
        return (crops + noise * torch.randn_like(crops)).clamp(0, 1), (moved + noise * torch.randn_like(moved)).clamp(0, 1), torch.cat(grids), torch.cat(inside)

    def distances(a: dict, b: dict) -> tuple[dict, torch.Tensor]:
        grams = {k: ((fn.gram(a[k]) - fn.gram(b[k])) ** 2).sum((1, 2)).mean() for k in STYLE_LAYERS}
        return grams, F.mse_loss(a[CONTENT_LAYER], b[CONTENT_LAYER])

    with torch.no_grad():  # each term over the original's own distance to the photo
        style(0)
        crops = batch()[0]
        grams, content = distances(vgg(crops, STYLE_LAYERS), vgg(teacher(crops), STYLE_LAYERS))
        scale = {k: float(v) for k, v in grams.items()} | {"content": float(content)}
    optimizer = torch.optim.Adam(student.parameters(), lr=args.lr)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        style(random.randrange(STYLES))
        crops, moved, grid, inside = batch()
        with torch.no_grad():
            target = teacher(torch.cat([crops, moved]))
            target_features = vgg(target, STYLE_LAYERS)
        painted = student(torch.cat([crops, moved]))
        grams, content = distances(vgg(painted, STYLE_LAYERS), target_features)
        keep = sum(grams[k] / scale[k] for k in STYLE_LAYERS) + content / scale["content"]
        first, second = painted.chunk(2)
        steady = ((second - F.grid_sample(first, grid, mode="bilinear", align_corners=True)) ** 2 * inside).sum() / (inside.sum() * 3)
        loss = keep + weight * steady
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            print(f"  step {step}: style kept {keep.item():.4f}  steadiness {steady.item():.5f}  {time.perf_counter() - start:.0f} s", flush=True)
    for group in norms:  # unconditioned again, as `conditioned` expects
        for norm in group:
            norm.scale = norm.shift = None
    return student.eval().requires_grad_(False)


def paint_frames(clip: Path, stylizer: BuiltinStylizer, net: torch.nn.Module, style: str, temporal: float, frames: int) -> list[np.ndarray]:
    stylizer.net = net  # the bundled stylizer, painting with this network
    return paint_first_frames(clip, stylizer, style, frames, temporal=temporal)


def main() -> None:
    default_clip = Path(os.environ.get("PAINT_ASSETS", "../shared/assets")) / "video" / "armwrestling.mp4"
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clip", nargs="?", type=Path, default=default_clip)
    parser.add_argument("--photos", type=Path, action="append", required=True, help="a folder of photos to fine-tune on (repeatable)")
    parser.add_argument("--temporal-weight", default="30,300", help="weights of the steadiness term, comma-separated: one network each")
    parser.add_argument("--temporal", default="0,0.3,0.5", help="paint's --temporal values to paint the clip with")
    parser.add_argument("--style", default="19")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--shift", type=float, default=3.0, help="pixels, at most, each way")
    parser.add_argument("--rotate", type=float, default=1.5, help="degrees, at most, each way")
    parser.add_argument("--zoom", type=float, default=0.02)
    parser.add_argument("--noise", type=float, default=0.02, help="largest standard deviation of the added noise")
    args = parser.parse_args()

    inputs = decode(args.clip)[: args.frames]
    stylizer = BuiltinStylizer(device="cpu")
    original = stylizer.net
    reference = paint_frames(args.clip, stylizer, original, args.style, 0.0, args.frames)
    measure = StyleChange()
    networks = [("original", original)]
    photos = load_photos(args.photos)
    for weight in (float(w) for w in args.temporal_weight.split(",")):
        print(f"fine-tuning with steadiness weight {weight:g} on {len(photos)} photos, {args.steps} steps")
        networks.append((f"fine-tuned, weight {weight:g}", fine_tune(original, photos, args, weight)))
    print(f"\n{args.clip.name}, first {len(inputs)} frames, style {args.style}; style change against the original network frame by frame")
    print(f"{'network':<28} {'--temporal':>10} {'warping error':>14} {'style change':>13}")
    for name, net in networks:
        for temporal in (float(t) for t in args.temporal.split(",")):
            painted = reference if (name == "original" and temporal == 0) else paint_frames(args.clip, stylizer, net, args.style, temporal, args.frames)
            n = min(len(painted), len(inputs))
            print(f"{name:<28} {temporal:>10g} {warping_error(inputs[:n], painted[:n]):>14.4f} {measure(painted, reference, inputs):>13.3f}", flush=True)


if __name__ == "__main__":
    main()
