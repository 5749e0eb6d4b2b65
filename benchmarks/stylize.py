"""Stylisation speed on this machine: Gatys seconds per iteration against the compute bound, and
images per second for the one-pass methods (fast and AdaIN) beside one Gatys run at the same size.

Gatys: seconds per iteration at 256 and 512 px, and how close that is to this machine's compute bound.

One iteration is one forward pass of VGG19 up to the deepest loss layer plus the backward pass for
the input gradient only (the weights are frozen, so no weight gradients). For a convolution the
input gradient costs the same multiply-adds as the forward pass, so an iteration costs about twice
the forward FLOPs. The bound is that count divided by the machine's measured float32 matmul speed.

    python benchmarks/stylize.py [--sizes 256,512] [--iterations 10] [--device cpu]
        [--one-pass-sizes 256,512,1024] [--gatys-iterations 100]

The one-pass networks get random weights in the official architectures (speed does not depend on
the weights, and nothing is downloaded). "Gatys run" is one stylisation with --gatys-iterations
iterations, the usual minimum for a presentable result.

Uses docs/examples/ (or $PAINT_ASSETS/images if set) for the content and style images.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from paintcli import GatysConfig, device as devices, imageio
from paintcli.engines.gatys import GatysStylizer
from paintcli.nets.vgg import LAYER_INDEX, LAYERS, _layer_plan

ROOT = Path(__file__).resolve().parents[1]


def images() -> tuple[Path, Path]:
    assets = os.environ.get("PAINT_ASSETS")
    if assets:
        base = Path(assets) / "images"
        return base / "content" / "tubingen.jpg", base / "style" / "starry_night.jpg"
    return ROOT / "docs/examples/tubingen.jpg", ROOT / "docs/examples/starry_night.jpg"


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b  # warm up
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def vgg_forward_gflops(width: int, height: int, last_layer: str) -> float:
    """Multiply-adds x 2 of the 3x3 convolutions up to `last_layer` at this input size."""
    flops, channels, w, h = 0.0, 3, width, height
    for _name, kind, out in _layer_plan()[: LAYER_INDEX[last_layer] + 1]:
        if kind == "conv":
            flops += 2 * 9 * channels * out * w * h
            channels = out
        elif kind == "pool":
            w, h = w // 2, h // 2
    return flops / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--device", default=None)
    parser.add_argument("--one-pass-sizes", default="256,512,1024")
    parser.add_argument("--gatys-iterations", type=int, default=100)
    args = parser.parse_args()
    device = devices.resolve(args.device)
    content_path, style_path = images()
    content, style = imageio.load_image(content_path), imageio.load_image(style_path)
    peak = matmul_gflops(device)
    print(f"device: {devices.describe(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"measured float32 matmul: {peak:.1f} GFLOP/s")
    print(f"{'size':>9} {'s/iter':>8} {'GFLOP/iter':>11} {'bound s/iter':>13} {'bound/actual':>13}")
    measured: dict[tuple[int, int], float] = {}

    def per_iteration(w: int, h: int) -> float:
        """(seconds per Gatys iteration at (w, h), whether measured) - else scaled by pixels from the largest."""
        if (w, h) in measured:
            return measured[(w, h)], True
        (mw, mh), seconds = max(measured.items(), key=lambda item: item[0][0] * item[0][1])
        return seconds * (w * h) / (mw * mh), False

    for longest in (int(s) for s in args.sizes.split(",")):
        config = GatysConfig(size=longest, iterations=args.iterations, seed=0)
        stylizer = GatysStylizer(config, device=device)
        GatysStylizer(config.with_(iterations=2), device=device).run(content, style)  # warm up
        _sync(device)
        result = stylizer.run(content, style)
        per_iter = result.seconds / result.iterations  # includes the one-off target computation
        measured[result.image.size] = per_iter
        w, h = result.image.size
        deepest = max(config.content_layers + config.style_layers, key=LAYERS.index)
        work = 2 * vgg_forward_gflops(w, h, deepest)
        bound = work / peak
        print(f"{w:>4}x{h:<4} {per_iter:>8.3f} {work:>11.1f} {bound:>13.3f} {bound / per_iter:>12.0%}")
    one_pass(content, style, device, [int(s) for s in args.one_pass_sizes.split(",")], args.gatys_iterations, per_iteration)


def one_pass(content, style, device, sizes, gatys_iterations, gatys_seconds_per_iteration) -> None:
    """Images per second for fast and AdaIN, and the time one Gatys run would take at that size."""
    import tempfile

    from paintcli.engines.adain import AdaINStylizer
    from paintcli.engines.fast_style import FastStylizer
    from paintcli.nets.adain import decoder, vgg_normalised
    from paintcli.nets.transformer_net import TransformerNet

    with tempfile.TemporaryDirectory() as tmp:
        torch.save(TransformerNet().state_dict(), f"{tmp}/fast.pth")
        torch.save(vgg_normalised().state_dict(), f"{tmp}/enc.pth")
        torch.save(decoder().state_dict(), f"{tmp}/dec.pth")
        fast = FastStylizer(f"{tmp}/fast.pth", device=device)
        adain = AdaINStylizer(encoder=f"{tmp}/enc.pth", decoder_path=f"{tmp}/dec.pth", device=device)
        print(f"\n{'size':>9} {'fast img/s':>11} {'adain img/s':>12} {f'gatys {gatys_iterations} it (s)':>20} {'fast vs gatys':>14}")
        for longest in sizes:
            fast_rate = _rate(lambda: fast.run(content, size=longest))
            adain_rate = _rate(lambda: adain.run(content, [style], size=longest, style_size=512))
            w, h = imageio.fit_longest_side(content.size, longest)
            gatys, measured_here = gatys_seconds_per_iteration(w, h)
            gatys *= gatys_iterations
            mark = "" if measured_here else "*"
            print(f"{w:>4}x{h:<4} {fast_rate:>11.2f} {adain_rate:>12.2f} {gatys:>19.1f}{mark:1} {gatys * fast_rate:>13.0f}x")
        print("* scaled by pixel count from the largest size measured above")


def _rate(run, repeats: int = 3) -> float:
    run()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return repeats / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
