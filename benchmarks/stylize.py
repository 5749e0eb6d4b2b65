"""Gatys style transfer on this machine: speed per evaluation, quality of the default, and one-pass speed.

    python benchmarks/stylize.py [--sizes 256,512] [--device cpu]          # speed per evaluation
    python benchmarks/stylize.py --quality [--sizes 384] [--device cpu]     # old default vs new default
    python benchmarks/stylize.py --quality --runs new,no-coarse --sizes 512,1024   # with and without coarse losses
    python benchmarks/stylize.py --quality --runs new --sizes 512,1024,2048 --save DIR   # + the sizes side by side
    python benchmarks/stylize.py --memory --sizes 512,1024,2048             # peak memory per size
    python benchmarks/stylize.py --one-pass [--one-pass-sizes 256,512,1024] # fast and AdaIN beside Gatys

Speed: seconds per evaluation of a paint run (steady state), of the bare network step (VGG19 forward
and backward to the image, no optimiser), and of a textbook loop (torch.optim.LBFGS with a closure,
the losses read every step) in the same process, and the compute bound: one evaluation is a forward
pass to the deepest loss layer plus the input gradient, about twice the forward FLOPs, over the
measured float32 matmul rate.

Quality: on the example photo and Starry Night, the old single-scale default (500 evaluations at full
size, every one run) and the new default (coarse to fine, stopping when done), each with: wall time,
evaluations, the final loss under the same objective at full size, and the style and content
distances measured by the bundled VGG19 on the result downscaled to 512 px (Gram distance over
relu1_1..relu5_1 relative to the photo's; relu4_2 distance relative to the style image's). The style
distance is also printed with the result seen at 384 and 256 px (the style image at that size too):
a picture painted at 512 px sits at the optimum of this very measure at 512 px, where any change of
its pixels (even a JPEG at quality 92) doubles it, so pictures painted at other sizes compare fairly
only at a size that none of them ends at: 384 px (the 512, 1024 and 2048 px defaults paint at 256,
512, 1024 and 2048 px).

Uses docs/examples/ (or $PAINT_ASSETS/images if set).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from paintcli import GatysConfig, device as devices, functional as fn, imageio
from paintcli.engines.gatys import GatysStylizer
from paintcli.engines.gatys_scale import PIXEL_SCALE, Objective
from paintcli.memory import keep_freed_memory
from paintcli.nets.vgg import LAYER_INDEX, _layer_plan

ROOT = Path(__file__).resolve().parents[1]
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def images() -> tuple[Path, Path]:
    assets = os.environ.get("PAINT_ASSETS")
    if assets:
        base = Path(assets) / "images"
        return base / "content" / "tubingen.jpg", base / "style" / "starry_night.jpg"
    return ROOT / "docs/examples/tubingen.jpg", ROOT / "docs/examples/starry_night.jpg"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
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


# --- speed ---------------------------------------------------------------------------------------------------


def speed(content, style, device, sizes: list[int], evaluations: int) -> None:
    peak = matmul_gflops(device)
    print(f"device: {devices.describe(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}; float32 matmul {peak:.0f} GFLOP/s")
    print(f"{'size':>9} {'paint s/eval':>12} {'net step':>9} {'textbook':>9} {'textbook/paint':>14} {'bound':>7} {'paint/bound':>11} {'peak GiB':>8}")
    for longest in sizes:
        config = GatysConfig(size=longest, iterations=evaluations + 5, tol=0, seed=0)
        stylizer = GatysStylizer(config, device=device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        stamps: list[float] = []
        result = stylizer.run(content, style, on_event=lambda s: stamps.append(time.perf_counter()), report_every=evaluations + 5)
        stamps.clear()
        result = stylizer.run(content, style, on_event=lambda s: (sync(device), stamps.append(time.perf_counter())), report_every=5)
        per_eval = (stamps[-1] - stamps[0]) / evaluations  # steady state: from the 5th evaluation on
        w, h = result.image.size
        objective = _objective(stylizer, content, style, (w, h))
        net_step = _time_net_step(objective, device, (w, h), evaluations)
        textbook = _textbook(objective, device, (w, h), evaluations)
        bound = 2 * vgg_forward_gflops(w, h, "relu5_1") / peak
        memory = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
        print(f"{w:>4}x{h:<4} {per_eval:>12.4f} {net_step:>9.4f} {textbook:>9.4f} {textbook / per_eval:>13.2f}x {bound:>7.4f} {per_eval / bound:>10.2f}x {memory:>8.2f}")


def _objective(stylizer, content, style, size) -> Objective:
    content_t = fn.to_tensor(imageio.resize(content, size), stylizer.device)
    return Objective(stylizer.net, stylizer.config, content_t, [style], [1.0], size, device=stylizer.device, bf16=stylizer.bf16)


def _start(objective: Objective, device, size) -> torch.Tensor:
    return torch.rand(1, 3, size[1], size[0], device=device) * PIXEL_SCALE


def _time_net_step(objective: Objective, device, size, evaluations: int) -> float:
    """Seconds per bare evaluation: forward and backward to the image, nothing else."""
    x = _start(objective, device, size).requires_grad_(True)
    with devices.fast_math(device, autotune=False):  # the same cuDNN settings as a paint run
        for i in range(evaluations + 3):
            if i == 3:
                sync(device)
                start = time.perf_counter()
            sum(objective.losses(x / PIXEL_SCALE)).backward()
            x.grad = None
        sync(device)
    return (time.perf_counter() - start) / evaluations


def _textbook(objective: Objective, device, size, evaluations: int) -> float:
    """Seconds per evaluation of the loop a tutorial writes: torch.optim.LBFGS, a closure, losses read every step."""
    x = _start(objective, device, size).requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=100, tolerance_grad=-1, tolerance_change=-1)

    def closure():
        opt.zero_grad()
        c, s, t = objective.losses(x / PIXEL_SCALE)
        loss = c + s + t
        loss.backward()
        print_losses.append((c.item(), s.item(), t.item()))
        return loss

    print_losses: list = []
    with devices.fast_math(device, autotune=False):
        for i in range(evaluations + 3):
            if i == 3:
                sync(device)
                start = time.perf_counter()
            opt.step(closure)
        sync(device)
    return (time.perf_counter() - start) / evaluations


# --- quality ---------------------------------------------------------------------------------------------------


QUALITY_RUNS = ("old", "new", "no-coarse")


def quality(
    content, style, device, sizes: list[int], *, precision: str = "auto", save: Path | None = None, runs=("old", "new")
) -> None:  # fmt: skip
    print(f"device: {devices.describe(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    judge = GatysStylizer(GatysConfig(), device=device).net  # the bundled VGG19, to measure distances
    photo512 = imageio.resize_longest(content, 512)
    photo_feat = _features(judge, photo512, device, ("relu4_2",))["relu4_2"]
    style_as_photo = imageio.resize(style, photo512.size)
    style_content_distance = _sq(_features(judge, style_as_photo, device, ("relu4_2",))["relu4_2"] - photo_feat)
    style_distance = {side: _style_distance(judge, content, style, side, device) for side in JUDGE_SIDES}
    print(f"{'run':<44} {'size':>9} {'seconds':>8} {'evals':>15} {'final loss':>11} {'style dist':>10} {'content dist':>12} "
          f"{'style dist at 384 / 256 px':>26}")
    seen512: dict[str, list] = {}  # tag -> the pictures shrunk to 512 px, in size order (with --save)
    for longest in sizes:
        todo = {  # tag (also the saved picture's name): (label, config)
            "old": (f"old default: {longest} px, 500 evaluations", GatysConfig(scales=(longest,), iterations=500, tol=0, seed=0)),
            "new": (f"new default: {GatysConfig(size=longest).schedule}", GatysConfig(size=longest, seed=0)),
            "no-coarse": ("new default, --no-coarse-losses", GatysConfig(size=longest, seed=0, coarse_losses=False)),
        }
        chosen = [tag for tag in todo if tag in runs]
        if precision != "auto":
            todo[precision] = (f"new default, --precision {precision}", GatysConfig(size=longest, seed=0, precision=precision))
            chosen.append(precision)
        for tag in chosen:
            label, config = todo[tag]
            stylizer = GatysStylizer(config, device=device)
            sync(device)
            start = time.perf_counter()
            result = stylizer.run(content, style)
            sync(device)
            seconds = time.perf_counter() - start
            out = fn.to_tensor(result.image, device)
            objective = _objective(GatysStylizer(GatysConfig(size=longest), device=device), content, style, result.image.size)
            with torch.no_grad():
                final = float(sum(objective.losses(out)))
            out512 = imageio.resize_longest(result.image, 512)
            style_d = {side: measure(result.image) for side, measure in style_distance.items()}
            content_d = _sq(_features(judge, out512, device, ("relu4_2",))["relu4_2"] - photo_feat) / style_content_distance
            if save is not None:
                result.image.save(save / f"quality_{longest}_{tag}.jpg", quality=92)
                seen512.setdefault(tag, []).append(imageio.resize_longest(result.image, 512))
            print(f"{label:<44} {result.image.size[0]:>4}x{result.image.size[1]:<4} {seconds:>8.1f} {str(list(result.evaluations)):>15} "
                  f"{final:>11.4g} {style_d[512]:>10.4f} {content_d:>12.4f} {style_d[384]:>13.4f} / {style_d[256]:.4f}")  # fmt: skip
    for tag, pictures in seen512.items():
        if len(pictures) > 1:  # the sizes side by side, each seen at 512 px
            sheet = Image.new("RGB", (sum(p.width for p in pictures), max(p.height for p in pictures)))
            for i, picture in enumerate(pictures):
                sheet.paste(picture, (sum(p.width for p in pictures[:i]), 0))
            sheet.save(save / f"quality_sizes_{tag}.jpg", quality=88)


JUDGE_SIDES = (512, 384, 256)  # 512: the measure; the 512, 1024 and 2048 px defaults paint at 256 px first, never at 384


def _style_distance(judge, content, style, side: int, device):
    """A function of a picture: its Gram distance to the style image, both shrunk to `side` px, over
    the photo's distance at that size."""
    photo_grams, style_grams = (_grams(judge, imageio.resize_longest(img, side), device) for img in (content, style))
    photo_distance = sum(_sq(photo_grams[k] - style_grams[k]) for k in STYLE_LAYERS)

    def measure(picture) -> float:
        grams = _grams(judge, imageio.resize_longest(picture, side), device)
        return sum(_sq(grams[k] - style_grams[k]) for k in STYLE_LAYERS) / photo_distance

    return measure


def _features(net, img, device, layers):
    with torch.no_grad():
        return net(fn.to_tensor(img, device), layers)


def _grams(net, img, device):
    return {k: fn.gram(v) for k, v in _features(net, img, device, STYLE_LAYERS).items()}


def _sq(t: torch.Tensor) -> float:
    return float((t.double() ** 2).sum())


# --- memory ----------------------------------------------------------------------------------------------------


def memory(device, sizes: list[int]) -> None:
    """Peak memory of the default schedule at each size, each in a fresh process: three evaluations per
    scale, with L-BFGS's history buffers as large as the full run allocates them (they are allocated
    up front) and the coarse losses' shrunk views, so the peak is the full run's."""
    print(f"{'size':>6} {'peak GiB':>9} {'where'}")
    for longest in sizes:
        schedule = GatysConfig(size=longest).schedule
        code = (
            "import resource, sys, torch, json\n"
            "from paintcli.memory import keep_freed_memory\nkeep_freed_memory()\n"
            "from paintcli import GatysConfig, imageio\nfrom paintcli.engines import gatys_scale\nfrom paintcli.engines.gatys import GatysStylizer\n"
            f"import benchmarks.stylize as b\nc, s = b.images()\nc = imageio.load_image(c)\ndev = '{device}'\n"
            f"schedule = {list(schedule)}\n"
            "history = {3 * w * h: n for (w, h), n in ((imageio.fit_longest_side(c.size, side), n) for side, n in schedule)}\n"
            "real = gatys_scale.LBFGS\n"
            "gatys_scale.LBFGS = lambda x, **kw: real(x, **(kw | {'history': history[x.numel()]}))\n"
            "cfg = GatysConfig(scales=tuple(side for side, _ in schedule), iterations=3, tol=0)\n"
            "GatysStylizer(cfg, device=dev).run(c, s)\n"
            "peak = torch.cuda.max_memory_allocated() if dev.startswith('cuda') else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
            "print(json.dumps(peak / 2**30))\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        print(f"{longest:>6} {json.loads(done.stdout.strip().splitlines()[-1]):>9.2f} {'GPU (allocated)' if str(device).startswith('cuda') else 'process (RSS)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None)
    parser.add_argument("--evaluations", type=int, default=10)
    parser.add_argument("--device", default=None)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--one-pass", action="store_true")
    parser.add_argument("--one-pass-sizes", default="256,512,1024")
    parser.add_argument("--precision", default="auto", help="--quality: also run the new default with this precision (bf16)")
    parser.add_argument("--save", type=Path, help="--quality: save the pictures here")
    parser.add_argument("--runs", default="old,new", help=f"--quality: which runs, of {','.join(QUALITY_RUNS)} (no-coarse: the new default with --no-coarse-losses)")
    args = parser.parse_args()
    keep_freed_memory()  # as the paint command does for its process
    device = devices.resolve(args.device)
    content_path, style_path = images()
    content, style = imageio.load_image(content_path), imageio.load_image(style_path)
    if args.quality:
        sizes = [int(s) for s in (args.sizes or ("384" if device.type == "cpu" else "512,1024,2048")).split(",")]
        runs = tuple(args.runs.split(","))
        if not set(runs) <= set(QUALITY_RUNS):
            parser.error(f"--runs takes {', '.join(QUALITY_RUNS)}")
        quality(content, style, device, sizes, precision=args.precision, save=args.save, runs=runs)
    elif args.memory:
        memory(device, [int(s) for s in (args.sizes or "512,1024,2048").split(",")])
    elif args.one_pass:
        from one_pass import one_pass  # benchmarks/one_pass.py, beside this script

        one_pass(content, style, device, [int(s) for s in args.one_pass_sizes.split(",")])
    else:
        speed(content, style, device, [int(s) for s in (args.sizes or "256,512").split(",")], args.evaluations)


if __name__ == "__main__":
    main()
