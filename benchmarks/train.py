"""Training images per second for CycleGAN and pix2pix at 128 and 256 px, and where a step's time goes.

    python benchmarks/train.py [--device cuda] [--steps 60] [--sizes 128,256] [--profile]
        [--old-src PATH] [--set KEY=VALUE ...]

Runs the real training loop (paintcli.training.loop.train) with the published networks (ResNet-9 +
PatchGAN for CycleGAN, U-Net + PatchGAN for pix2pix) at batch 1, as the recipes train, on a synthetic
set of JPEG pairs made in a temporary folder (decoded, resized and cropped by the data pipeline as real
data is), more pairs than steps, so no epoch ends (with its checkpoint writes) inside the measurement;
real epochs are hundreds to thousands of steps. The rate is taken from the loop's own progress events
between the end of a warm-up and the last step, so start-up and compilation are left out.

--old-src PATH times the same loop of another version of paint (a src/ folder, e.g. a checkout of the
previous release) in a subprocess, beside this one: "old step" and "new step" in one run.
--profile adds the split of a step: waiting for data, forward and backward, optimizer, and the number
of host syncs (reads of a GPU value on the host), measured with synchronisation at the boundaries.
--set passes settings to this version's recipes (e.g. --set precision=fp32 --set compile=true).
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

ROOT = Path(__file__).resolve().parents[1]
def make_data(folder: Path, size: int, pairs: int) -> tuple[Path, Path]:
    from PIL import Image

    photo = Image.open(ROOT / "docs/examples/tubingen.jpg").convert("RGB").resize((size, size))
    paint = Image.open(ROOT / "docs/examples/starry_night.jpg").convert("RGB").resize((size, size))
    unaligned, aligned = folder / "unaligned", folder / "aligned"
    for sub in ("trainA", "trainB"):
        (unaligned / sub).mkdir(parents=True, exist_ok=True)
    (aligned / "train").mkdir(parents=True, exist_ok=True)
    for i in range(pairs):
        a, b = photo.rotate(5 * i), paint.rotate(5 * i)
        a.save(unaligned / "trainA" / f"{i}.jpg", quality=90)
        b.save(unaligned / "trainB" / f"{i}.jpg", quality=90)
        pair = Image.new("RGB", (2 * size, size))
        pair.paste(a, (0, 0))
        pair.paste(b, (size, 0))
        pair.save(aligned / "train" / f"{i}.jpg", quality=90)
    return unaligned, aligned


def settings(recipe: str, **changes):
    """This version's settings, or the previous version's TrainConfig (for --old-src)."""
    try:
        from paintcli.training.settings import for_recipe
    except ImportError:  # paint before per-recipe settings
        from paintcli.config import TrainConfig

        return TrainConfig.for_recipe(recipe, **changes)
    return for_recipe(recipe, **changes)


def measure(recipe: str, data: Path, size: int, steps: int, device: str, profile: bool, extra: dict) -> dict:
    """Images per second over the steps after a warm-up, and (with profile) the split of a step."""
    import torch

    from paintcli.training.loop import train

    net = "resnet9" if recipe == "cyclegan" else ("unet256" if size >= 256 else "unet128")
    warm = max(20, steps // 3)
    cfg = settings(recipe, data=str(data), netG=net, load_size=size + size // 8, crop_size=size, epochs=100,
                   epochs_decay=0, max_steps=warm + steps, save_every=1000, **extra)  # fmt: skip
    marks: dict[int, float] = {}

    def on_step(step) -> None:
        marks[step.step] = time.perf_counter()

    counters = _instrument(torch) if profile else None
    with tempfile.TemporaryDirectory() as run:
        train(cfg, Path(run) / "run", device=device, on_step=on_step)
    # Progress events come per step (old) or per logged window of steps (new, on a GPU): start at the
    # last step reported together with the first one past the warm-up, so both count whole steps.
    at = marks[min(s for s in marks if s >= warm)]
    first, last = max(s for s, t in marks.items() if t == at), max(marks)
    result = {"images_per_second": (last - first) / (marks[last] - marks[first]), "steps": last - first}
    if counters is not None:
        n = counters["steps"] or 1
        result.update({k: counters[k] / n for k in ("data", "optimizer", "syncs")})
        result["step"] = (marks[max(marks)] - marks[first]) / result["steps"]
    return result


def _instrument(torch) -> dict:
    """Time data waits and optimizer steps (synchronising around them) and count host syncs, for --profile."""
    counters = {"data": 0.0, "optimizer": 0.0, "syncs": 0, "steps": 0}
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    loader_next = torch.utils.data.dataloader._BaseDataLoaderIter.__next__
    adam_step = torch.optim.Adam.step
    item, tolist = torch.Tensor.item, torch.Tensor.tolist

    def timed_next(self):
        start = time.perf_counter()
        batch = loader_next(self)
        counters["data"] += time.perf_counter() - start
        counters["steps"] += 1
        return batch

    def timed_adam(self, *args, **kwargs):
        sync()
        start = time.perf_counter()
        out = adam_step(self, *args, **kwargs)
        sync()
        counters["optimizer"] += time.perf_counter() - start
        return out

    def counted(original):
        def wrapper(self, *args, **kwargs):
            if self.is_cuda:
                counters["syncs"] += 1
            return original(self, *args, **kwargs)

        return wrapper

    torch.utils.data.dataloader._BaseDataLoaderIter.__next__ = timed_next
    torch.optim.Adam.step = timed_adam
    torch.Tensor.item, torch.Tensor.tolist = counted(item), counted(tolist)
    return counters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--recipes", default="cyclegan,pix2pix")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--old-src", type=Path, help="src/ folder of another version to time beside this one")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE settings for this version (e.g. precision=fp32)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: recipe,size,data folder (JSON result on stdout)
    args = parser.parse_args()
    extra = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    device = args.device or ("cuda" if _cuda() else "cpu")
    if args.one:
        recipe, size, data = args.one.split(",", 2)
        print(json.dumps(measure(recipe, Path(data), int(size), args.steps, device, args.profile, extra)))
        return
    import torch

    from paintcli import device as devices

    pairs = max(20, args.steps // 3) + args.steps + 8  # one epoch outlasts the warm-up and the measured steps
    print(f"device: {devices.describe(devices.resolve(device))}, torch {torch.__version__}, {pairs} JPEG pairs, batch 1")
    header = f"{'recipe':<9} {'size':>4} {'step':<5} {'images/s':>9} {'new/old':>8}"
    if args.profile:
        header += f" {'ms/step':>8} {'data ms':>8} {'optim ms':>9} {'fwd+bwd ms':>11} {'syncs/step':>11}"
    print(header + (f"   settings: {extra}" if extra else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            unaligned, aligned = make_data(Path(tmp) / str(size), size, pairs)
            for recipe in args.recipes.split(","):
                data = unaligned if recipe == "cyclegan" else aligned
                rows = []
                if args.old_src:
                    rows.append(("old", _subprocess(args, recipe, size, data, args.old_src, [])))
                rows.append(("new", _subprocess(args, recipe, size, data, ROOT / "src", args.set)))
                old = rows[0][1]["images_per_second"] if args.old_src else None
                for label, r in rows:
                    line = f"{recipe:<9} {size:>4} {label:<5} {r['images_per_second']:>9.1f} "
                    line += f"{r['images_per_second'] / old:>7.2f}x" if old and label == "new" else f"{'':>8}"
                    if args.profile:
                        step, data_ms, opt = r["step"] * 1000, r["data"] * 1000, r["optimizer"] * 1000
                        line += f" {step:>8.1f} {data_ms:>8.1f} {opt:>9.1f} {step - data_ms - opt:>11.1f} {r['syncs']:>11.1f}"
                    print(line, flush=True)


def _subprocess(args, recipe, size, data, src: Path, sets: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, str(Path(__file__)), "--one", f"{recipe},{size},{data}", "--steps", str(args.steps)]
    command += ["--device", args.device] if args.device else []
    command += ["--profile"] if args.profile else []
    command += [x for s in sets for x in ("--set", s)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
