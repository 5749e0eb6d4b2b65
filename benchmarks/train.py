"""Training images per second for CycleGAN and pix2pix at 128 and 256 px, on this machine.

Runs the real training loop (paintcli.training.loop.train) with the published networks on a small
synthetic dataset made in a temporary folder, for a few steps after a warm-up, and reads the rate
from metrics.jsonl. One image per step (batch size 1), as the recipes train.

    python benchmarks/train.py [--device cpu] [--steps 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch
from PIL import Image

from paintcli import device as devices
from paintcli.training.settings import for_recipe
from paintcli.training.loop import train

ROOT = Path(__file__).resolve().parents[1]


def make_data(folder: Path, size: int) -> tuple[Path, Path]:
    photo = Image.open(ROOT / "docs/examples/tubingen.jpg").convert("RGB").resize((size, size))
    paint = Image.open(ROOT / "docs/examples/starry_night.jpg").convert("RGB").resize((size, size))
    unaligned, aligned = folder / "unaligned", folder / "aligned"
    for sub in ("trainA", "trainB"):
        (unaligned / sub).mkdir(parents=True)
    (aligned / "train").mkdir(parents=True)
    for i in range(4):
        photo.rotate(10 * i).save(unaligned / "trainA" / f"{i}.png")
        paint.rotate(10 * i).save(unaligned / "trainB" / f"{i}.png")
        pair = Image.new("RGB", (2 * size, size))
        pair.paste(photo.rotate(10 * i), (0, 0))
        pair.paste(paint.rotate(10 * i), (size, 0))
        pair.save(aligned / "train" / f"{i}.png")
    return unaligned, aligned


def rate(cfg: TrainSettings, run: Path, device: torch.device, warmup: int) -> float:
    train(cfg, run, device=device)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["images_per_second"] for r in records[warmup:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    device = devices.resolve(args.device)
    print(f"device: {devices.describe(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'recipe':<10} {'networks':<28} {'size':>5} {'images/s':>9} {'s/image':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (128, 256):
            unaligned, aligned = make_data(Path(tmp) / str(size), size)
            common = dict(load_size=size, crop_size=size, epochs=1, epochs_decay=0, max_steps=args.steps + 1, save_every=1000)
            for recipe, data, netG in (("cyclegan", unaligned, "resnet9"), ("pix2pix", aligned, "unet256" if size >= 256 else "unet128")):
                cfg = for_recipe(recipe, data=str(data), netG=netG, **common)
                r = rate(cfg, Path(tmp) / f"run_{recipe}_{size}", device, warmup=1)
                nets = f"{netG} + PatchGAN" + (" (x2 each)" if recipe == "cyclegan" else "")
                print(f"{recipe:<10} {nets:<28} {size:>5} {r:>9.2f} {1 / r:>8.2f}")


if __name__ == "__main__":
    main()
