"""Images per second of `paint translate` at 256 and 512 px, untiled and tiled, on this machine.

The generators are built with random weights in the official architectures (CycleGAN's
resnet_9blocks and pix2pix's unet_256), so no download is needed; speed does not depend on the
weights. Each figure is the median of several runs after a warm-up.

    python benchmarks/translate.py [--device cpu] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from paintcli import device as devices
from paintcli.config import TranslateConfig
from paintcli.engines.translate import Translator
from paintcli.nets.generators import ResnetGenerator, UnetGenerator

ROOT = Path(__file__).resolve().parents[1]


def photo(size: int) -> Image.Image:
    img = Image.open(ROOT / "docs/examples/tubingen.jpg").convert("RGB")
    return img.resize((size, size), Image.Resampling.LANCZOS)


def images_per_second(translator: Translator, img: Image.Image, repeats: int) -> tuple[float, int]:
    result = translator.run(img)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = translator.run(img)
        times.append(time.perf_counter() - start)
    return 1 / statistics.median(times), result.tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = devices.resolve(args.device)
    print(f"device: {devices.describe(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'model':<16} {'size':>6} {'tiling':>16} {'images/s':>9} {'s/image':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        nets = {
            "resnet_9blocks": ResnetGenerator(3, 3, 9, norm="instance"),
            "unet_256": UnetGenerator(3, 3, 8, norm="batch"),
        }
        for name, net in nets.items():
            path = Path(tmp) / f"{name}.pth"
            torch.save(net.state_dict(), path)
            runs = [(256, None), (512, None), (512, 256 if name == "resnet_9blocks" else 512)]
            if name == "unet_256":
                runs[-1] = (1024, 512)
            for size, tile in runs:
                config = TranslateConfig(tile=tile, seed=0)
                translator = Translator(path, config, device=device)
                rate, tiles = images_per_second(translator, photo(size), args.repeats)
                tiling = f"{tile}px, {tiles} tiles" if tile else "none"
                print(f"{name:<16} {size:>6} {tiling:>16} {rate:>9.2f} {1 / rate:>8.3f}")


if __name__ == "__main__":
    main()
