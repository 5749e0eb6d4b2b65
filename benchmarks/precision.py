"""bfloat16 against float32 for the downloadable one-pass networks (fast, AdaIN, translation): speed and picture.

    python benchmarks/precision.py --fast runs/x_fast-style/latest_net_transformer.pth
    python benchmarks/precision.py --adain-encoder vgg_normalised.pth --adain-decoder decoder.pth [--sizes 256,512,1024]
    python benchmarks/precision.py --translate horse2zebra     # or a generator .pth

Give real weights: the official files from the cache (~/.cache/paintcli, or `paint download`) or a network
of `paint train fast-style` / `adain` / `cyclegan` / `pix2pix`; how far bf16 moves a picture depends on them. For every
photo in $PAINT_ASSETS/images/content (else docs/examples/tubingen.jpg) and size, each network paints once
with --precision fp32 and once with bf16 through paint's own engine; printed: the PSNR of the bf16
picture against the float32 one (8-bit pictures, worst and median over the photos), the time of each
(median over the photos of the median of --repeats whole pictures, the two alternating) and its ratio
to the compute bound (the network's FLOPs over this machine's float32 matmul rate; median over the
photos). Sizes are the longest side. bf16 is what --precision auto picks on a CPU
with native bf16 (AVX512-BF16 or AMX); elsewhere this measures oneDNN's emulation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from PIL import Image

from paintcli import functional as fn, imageio
from paintcli.config import AdaINConfig, OnePassConfig, TranslateConfig
from paintcli.engines.adain import AdaINStylizer
from paintcli.engines.fast_style import FastStylizer
from paintcli.engines.translate import Translator
from paintcli.memory import keep_freed_memory

from instant import gflop, matmul_gflops  # benchmarks/instant.py, beside this script: the same bound

ROOT = Path(__file__).resolve().parents[1]


def photos() -> list[Path]:
    assets = os.environ.get("PAINT_ASSETS")
    if assets:
        return sorted((Path(assets) / "images" / "content").glob("*.jpg"))
    return [ROOT / "docs/examples/tubingen.jpg"]


def style_image() -> Image.Image:
    assets = os.environ.get("PAINT_ASSETS")
    path = Path(assets) / "images/style/starry_night.jpg" if assets else ROOT / "docs/examples/starry_night.jpg"
    return Image.open(path).convert("RGB")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a - b).square().mean())
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(1 / mse)).item()


def painters(args, size: int) -> dict[str, tuple]:
    """name -> (float32 painter, bf16 painter)."""
    out = {}
    if args.fast:
        out["fast"] = tuple(FastStylizer(args.fast, OnePassConfig(size=size, precision=p)) for p in ("fp32", "bf16"))
    if args.adain_decoder:
        adain = AdaINStylizer(encoder=args.adain_encoder, decoder_path=args.adain_decoder, device="cpu")
        out["adain"] = tuple(adain.styled([style_image()], AdaINConfig(size=size, precision=p)) for p in ("fp32", "bf16"))
    for model in args.translate:  # seed 0: pix2pix's dropout draws the same numbers in both
        name = Path(model).stem if model.endswith(".pth") else model
        out[name] = tuple(Translator(model, TranslateConfig(size=size, seed=0, precision=p), device="cpu") for p in ("fp32", "bf16"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", help="a TransformerNet checkpoint")
    parser.add_argument("--adain-encoder", default="adain-encoder", help="vgg_normalised.pth (default: the cached official one)")
    parser.add_argument("--adain-decoder", help="an AdaIN decoder checkpoint")
    parser.add_argument("--translate", action="append", default=[], help="a pix2pix/CycleGAN generator: a model name or a .pth (repeatable)")
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not (args.fast or args.adain_decoder or args.translate):
        parser.error("give --fast, --adain-decoder or --translate: bf16's effect depends on the weights")
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    rate = matmul_gflops()
    print(f"torch {torch.__version__}, {args.threads} threads, float32 matmul {rate:.0f} GFLOP/s; {len(photos())} photos")
    print(f"{'network':<14} {'size':>7} {'fp32 ms':>8} {'bf16 ms':>8} {'speed-up':>8} {'fp32/bound':>10} {'bf16/bound':>10} "
          f"{'worst dB':>9} {'median dB':>9}")  # fmt: skip
    for size in [int(s) for s in args.sizes.split(",")]:
        for name, (exact, half) in painters(args, size).items():
            decibels, seconds, bounds = [], {exact: [], half: []}, []
            for path in photos():
                img = imageio.resize_longest(Image.open(path).convert("RGB"), size)
                a, b = (fn.to_tensor(p.run(img).image) for p in (exact, half))
                decibels.append(psnr(a, b))
                bounds.append(gflop(exact.net, img.size) / rate)
                times = {exact: [], half: []}
                for _ in range(args.repeats):
                    for p in (exact, half):
                        start = time.perf_counter()
                        p.run(img)
                        times[p].append(time.perf_counter() - start)
                for p in (exact, half):
                    seconds[p].append(statistics.median(times[p]))
            fp32, bf16 = (statistics.median(seconds[p]) for p in (exact, half))
            to_bound = {p: statistics.median(s / b for s, b in zip(seconds[p], bounds, strict=True)) for p in (exact, half)}
            print(f"{name:<14} {size:>7} {fp32 * 1e3:>8.0f} {bf16 * 1e3:>8.0f} {fp32 / bf16:>7.2f}x "
                  f"{to_bound[exact]:>9.2f}x {to_bound[half]:>9.2f}x {min(decibels):>9.1f} {statistics.median(decibels):>9.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
