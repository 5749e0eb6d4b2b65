"""Remake every picture of docs/gallery.md and the README, from the commands shown beside them.

    PAINT_ASSETS=../shared/assets python scripts/make_gallery.py [--only gatys,instant,...] [--device cpu]

Every picture is one `paint` command run as a user runs it (`python -m paintcli ...` in a
subprocess), timed on the wall clock; the script then writes docs/gallery.md with each picture, its
command and its time, so the gallery stays true as the code changes. Inputs are docs/examples/ and,
for the trained translations, the shared facades and Monet sets under $PAINT_ASSETS/datasets (their
sources are in docs/examples/SOURCES.md). Work files (the training runs, the test clip) go to
build/gallery/, which git ignores; pictures go to docs/gallery/ (web-sized JPEGs and one GIF, all
together under 6 MB; docs/ is not part of the wheel).

Sections: gatys, variants, scales, instant, adain (only when the AdaIN weights are in the cache:
`paint download adain-encoder adain-decoder`), dream, train, clip. --only remakes some of them and
keeps the others' recorded times (docs/gallery/times.json); --markdown only rewrites docs/gallery.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES, GALLERY, WORK = ROOT / "docs/examples", ROOT / "docs/gallery", ROOT / "build/gallery"
PHOTO = "docs/examples/tubingen.jpg"
STARRY, WAVE, SCREAM = "docs/examples/starry_night.jpg", "docs/examples/great_wave.jpg", "docs/examples/the_scream.jpg"
LIMIT_BYTES = 6_000_000


@dataclass
class Shot:
    """One picture (or a few made by one command) with the paint command that makes it."""

    section: str
    title: str
    commands: list[str]  # as shown; $PAINT_ASSETS is expanded when run
    pictures: list[str]  # paths relative to ROOT, shown in this order
    note: str = ""
    seconds: float | None = None
    shown: list[str] = field(default_factory=list)  # inputs shown beside the result (not made here)
    group: str | None = None  # shots of one group are shown side by side


def gallery(o: str) -> str:
    return f"docs/gallery/{o}"


def shots(device: str) -> list[Shot]:
    dev = "" if device == "auto" else f" --device {device}"
    g256 = f"--size 256 --seed 0{dev}"
    runs = "build/gallery/runs"
    return [
        # Gatys on three paintings, at 384 px (the default schedule there: 192 then 384 px)
        Shot("gatys", "Starry Night", [f"paint stylize {PHOTO} --style {STARRY} --size 384 --seed 0{dev} -o {gallery('gatys_starry.jpg')}"],
             [gallery("gatys_starry.jpg")], shown=[PHOTO, STARRY]),
        Shot("gatys", "The Great Wave", [f"paint stylize {PHOTO} --style {WAVE} {g256} -o {gallery('gatys_wave.jpg')}"],
             [gallery("gatys_wave.jpg")], shown=[WAVE]),
        Shot("gatys", "The Scream", [f"paint stylize {PHOTO} --style {SCREAM} {g256} -o {gallery('gatys_scream.jpg')}"],
             [gallery("gatys_scream.jpg")], shown=[SCREAM]),
        # the seed's experiment and the other Gatys settings, all at 256 px with seed 0
        Shot("variants", "Equal style-layer weights (the default)", [f"paint stylize {PHOTO} --style {STARRY} {g256} -o {gallery('layers_equal.jpg')}"],
             [gallery("layers_equal.jpg")], group="layers"),
        Shot("variants", "Decaying style-layer weights", [f"paint stylize {PHOTO} --style {STARRY} {g256} --style-layer-weights decay:0.5 -o {gallery('layers_decay.jpg')}"],
             [gallery("layers_decay.jpg")], group="layers", note="each deeper layer weighted half the one before: finer texture, fewer large swirls"),
        Shot("variants", "--preserve-colors", [f"paint stylize {PHOTO} --style {STARRY} {g256} --preserve-colors -o {gallery('preserve_colors.jpg')}"],
             [gallery("preserve_colors.jpg")], note="Starry Night's strokes in the photo's own colours"),
        Shot("variants", "A blend of two paintings", [f"paint stylize {PHOTO} --style {STARRY} --style {WAVE} --style-blend 0.5,0.5 {g256} -o {gallery('blend.jpg')}"],
             [gallery("blend.jpg")]),
        # coarse to fine against one scale, the same evaluations at most
        Shot("scales", "Coarse to fine (the default)", [f"paint stylize {PHOTO} --style {WAVE} --size 384 --seed 0{dev} -o {gallery('scales_coarse_to_fine.jpg')}"],
             [gallery("scales_coarse_to_fine.jpg")], group="scales", note="192 then 384 px, 250+100 evaluations at most"),
        Shot("scales", "One scale", [f"paint stylize {PHOTO} --style {WAVE} --size 384 --iterations 350 --seed 0{dev} -o {gallery('scales_single.jpg')}"],
             [gallery("scales_single.jpg")], group="scales", note="384 px from the photo, 350 evaluations at most"),
        # instant methods, bundled in the wheel
        Shot("instant", "Built-in style: starry", [f"paint stylize {PHOTO} --style starry{dev} -o {gallery('builtin_starry.jpg')}"],
             [gallery("builtin_starry.jpg")]),
        Shot("instant", "Built-in styles mixed", [f"paint stylize {PHOTO} --style starry:0.5,wave:0.5{dev} -o {gallery('builtin_blend.jpg')}"],
             [gallery("builtin_blend.jpg")]),
        *[Shot("instant", f"Any painting, one pass: --strength {s}",
               [f"paint stylize {PHOTO} --method arbitrary --style {WAVE} --strength {s}{dev} -o {gallery(f'arbitrary_wave_{s}.jpg')}"],
               [gallery(f"arbitrary_wave_{s}.jpg")], group="strength") for s in ("0.25", "0.5", "1")],
        Shot("instant", "Any painting, one pass: The Scream", [f"paint stylize {PHOTO} --method arbitrary --style {SCREAM}{dev} -o {gallery('arbitrary_scream.jpg')}"],
             [gallery("arbitrary_scream.jpg")]),
        Shot("instant", "The 26 built-in styles", [f"paint styles sheet {PHOTO} --tile 160{dev} -o {gallery('styles_sheet.jpg')}"],
             [gallery("styles_sheet.jpg")]),
        *[Shot("adain", f"AdaIN, --alpha {a}", [f"paint stylize {PHOTO} --method adain --style {WAVE} --alpha {a}{dev} -o {gallery(f'adain_{a}.jpg')}"],
               [gallery(f"adain_{a}.jpg")], group="alpha") for a in ("0.25", "0.5", "1")],
        Shot("dream", "Deep Dream", [f"paint dream {PHOTO} --size 384 --seed 0{dev} -o {gallery('dream.jpg')}"], [gallery("dream.jpg")]),
        # translation by generators trained here, on the CPU, for minutes (not the published models)
        Shot("train", "pix2pix, label map to facade",
             [f"paint train pix2pix --data build/gallery/facades --direction BtoA --netG unet128 --load-size 143 --crop-size 128 "
              f"--epochs 6 --epochs-decay 4 --seed 0{dev} --out {runs}/facades --quiet",
              f"paint translate $PAINT_ASSETS/datasets/facades/test/1.jpg --direction BtoA --model {runs}/facades/latest_net_G.pth "
              f"--size 128 --seed 0 --eval{dev} -o {gallery('facades_pix2pix.jpg')}"],
             [gallery("facades_labels.jpg"), gallery("facades_pix2pix.jpg"), gallery("facades_truth.jpg")],
             note="trained here on the 100 CMP facades val pairs (build/gallery/facades/train/ holds them), tested on test/1.jpg, "
                  "which it never saw: label map, paint's output, the real facade"),
        Shot("train", "CycleGAN, photo to Monet",
             [f"paint train cyclegan --data $PAINT_ASSETS/datasets/monet2photo_small --netG resnet6 --ngf 32 --ndf 32 "
              f"--load-size 143 --crop-size 128 --epochs 8 --epochs-decay 4 --seed 0{dev} --out {runs}/monet --quiet",
              f"paint translate {PHOTO} --model {runs}/monet/latest_net_G_B.pth --size 256{dev} -o {gallery('cyclegan_monet.jpg')}"],
             [gallery("cyclegan_monet.jpg")],
             note="trained here on the 48 Monet paintings and 48 photos of the shared set; G_B turns photos into Monets"),
        Shot("clip", "A clip, steady from frame to frame",
             [f"paint stylize build/gallery/pan.mp4 --style starry{dev} -o {gallery('clip_starry.gif')}"],
             [gallery("clip_starry.gif")],
             note="build/gallery/pan.mp4 is a 4-second pan across the photo that this script makes (48 frames, 224x168); "
                  "the previous painted frame follows the motion (--temporal 0.85, the default)"),
    ]  # fmt: skip


def prepare(assets: Path | None) -> None:
    """Inputs the commands need: The Scream downscaled, the facades pairs as a pix2pix train/ folder, the clip."""
    GALLERY.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    scream = ROOT / SCREAM
    if not scream.exists():
        if assets is None:
            raise SystemExit(f"{SCREAM} is missing: set PAINT_ASSETS to the shared assets folder")
        img = Image.open(assets / "images/style/the_scream.jpg").convert("RGB")
        img.thumbnail((512, 512), Image.Resampling.LANCZOS)
        img.save(scream, quality=90)
    if assets is not None:
        train = WORK / "facades/train"
        if not train.exists():
            train.parent.mkdir(parents=True, exist_ok=True)
            train.symlink_to(assets / "datasets/facades/val", target_is_directory=True)
        pair = Image.open(assets / "datasets/facades/test/1.jpg").convert("RGB")
        w, h = pair.size
        pair.crop((w // 2, 0, w, h)).resize((128, 128), Image.Resampling.LANCZOS).save(GALLERY / "facades_labels.jpg", quality=90)
        pair.crop((0, 0, w // 2, h)).resize((128, 128), Image.Resampling.LANCZOS).save(GALLERY / "facades_truth.jpg", quality=90)
    make_pan(WORK / "pan.mp4")


def make_pan(path: Path, frames: int = 48, fps: int = 12, size: tuple[int, int] = (224, 168)) -> None:
    """A slow pan and zoom across the photo, written with PyAV: a real picture in motion for the clip."""
    import av

    photo = Image.open(ROOT / PHOTO).convert("RGB")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(frames):
            t = i / (frames - 1)
            w = photo.width * (0.8 - 0.15 * t)
            h = w * size[1] / size[0]
            left, top = (photo.width - w) * t, (photo.height - h) * (0.3 + 0.4 * t)
            frame = photo.resize(size, Image.Resampling.LANCZOS, box=(left, top, left + w, top + h))
            out.mux(stream.encode(av.VideoFrame.from_image(frame)))
        out.mux(stream.encode(None))


def run(shot: Shot, assets: Path | None) -> None:
    env = dict(os.environ, PAINT_ASSETS=str(assets or ""))
    start = time.perf_counter()
    for command in shot.commands:
        args = shlex.split(os.path.expandvars(command.replace("$PAINT_ASSETS", str(assets))))
        assert args[0] == "paint"
        cmd = [sys.executable, "-m", "paintcli", *args[1:]]
        if args[1] == "train":  # a fresh run each time: paint train never overwrites a run folder
            shutil.rmtree(ROOT / args[args.index("--out") + 1], ignore_errors=True)
        if "translate" in args or "stylize" in args or "dream" in args or "sheet" in args:
            cmd.append("--overwrite")
        print(f"$ {command}", flush=True)
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {command}")
    shot.seconds = time.perf_counter() - start
    print(f"  {shot.seconds:.1f} s", flush=True)


def adain_cached() -> bool:
    from paintcli import cache, registry

    return all(cache.is_cached(registry.get(name)) for name in ("adain-encoder", "adain-decoder"))


def machine() -> str:
    import torch

    cores = os.cpu_count()
    return f"a {cores}-core {platform.machine()} CPU without a GPU, torch {torch.__version__}" if not torch.cuda.is_available() else torch.cuda.get_device_name()


def _groups(members: list[Shot]) -> list[list[Shot]]:
    groups: list[list[Shot]] = []
    for shot in members:
        if groups and shot.group is not None and groups[-1][0].group == shot.group:
            groups[-1].append(shot)
        else:
            groups.append([shot])
    return groups


def render(group: list[Shot], times: dict) -> list[str]:
    """One shot: its title, pictures, commands and time. A group: the pictures in one row, then each
    shot's command and time."""
    def facts(s: Shot) -> str:
        seconds = times.get(s.title)
        return "; ".join([f"{seconds:.1f} s" if seconds is not None else "not timed"] + ([s.note] if s.note else [])) + "."

    row = " ".join(f"![{Path(p).stem}](../{p})" for s in group for p in s.pictures)
    if len(group) == 1:
        s = group[0]
        return [f"### {s.title}", "", row, "", "```bash", *s.commands, "```", "", facts(s), ""]
    lines = [f"### {' / '.join(s.title for s in group)}", "", row, "", "From left to right:", ""]
    for s in group:
        lines += [f"- **{s.title}**: {facts(s)}", "", "  ```bash", *(f"  {c}" for c in s.commands), "  ```", ""]
    return lines


def write_markdown(all_shots: list[Shot], times: dict, where: str) -> None:
    titles = {
        "gatys": ("Gatys: one photo, three paintings", "The default method: optimisation on the bundled VGG19 (content, style and total-variation losses). "
                  "Starry Night at 384 px (the default schedule there: 192 then 384 px), the others at 256 px (one scale of at most 300 evaluations)."),
        "variants": ("Gatys settings, side by side", "256 px, seed 0, Starry Night; only the named setting changes."),
        "scales": ("Coarse to fine against one scale", "The Great Wave at 384 px, seed 0. Coarse to fine settles the large shapes at "
                   "192 px, where moving them is cheap, and strokes keep their size relative to the picture."),
        "instant": ("Instant styles (offline, bundled in the wheel)", "One pass of a small network: the 26 built-in styles by name, "
                    "and any painting with `--method arbitrary`."),
        "adain": ("AdaIN", "Any painting in one pass with Huang and Belongie's network (a 94 MB download)."),
        "dream": ("Deep Dream", ""),
        "train": ("Translation by generators trained here", "Not the published models (those are downloads): generators trained "
                  "by the command above on this machine's CPU for the time shown, on the small sets in the team's shared assets. "
                  "A real run trains for hours on a GPU; these show the pipeline working end to end, not the recipe's quality."),
        "clip": ("Video", ""),
    }  # fmt: skip
    lines = [
        "# Gallery",
        "",
        "Every picture here was made by the command under it, run by `scripts/make_gallery.py`",
        f"(`PAINT_ASSETS=../shared/assets python scripts/make_gallery.py`), on {where}. Times are wall-clock",
        "seconds of the whole command, model loading included. The inputs and their sources are in",
        "[examples/SOURCES.md](examples/SOURCES.md).",
        "",
        "Input photo and paintings:",
        "",
        " ".join(f"![{Path(p).stem}](../{p})" for p in (PHOTO, STARRY, WAVE, SCREAM)),
        "",
    ]
    for section, (heading, intro) in titles.items():
        members = [s for s in all_shots if s.section == section]
        if section == "adain" and not any(p.exists() for s in members for p in (ROOT / q for q in s.pictures)):
            lines += [f"## {heading}", "", "Not made on this machine: AdaIN's weights are a download "
                      "(`paint download adain-encoder adain-decoder`) and it has no internet. The script makes "
                      "these three pictures (alpha 0.25, 0.5, 1) when the weights are in the cache.", ""]  # fmt: skip
            continue
        lines += [f"## {heading}", ""] + ([intro, ""] if intro else [])
        for group in _groups(members):
            lines += render(group, times)
        if section == "train" and (GALLERY / "facades_losses.png").exists():
            lines += ["### Watching the run", "", "The `losses.png` that the pix2pix run above drew in its run folder "
                      "(`paint train` redraws it at every save; `--tensorboard` writes the same curves and the samples for TensorBoard):",
                      "", "![losses.png of the facades run](gallery/facades_losses.png)", ""]  # fmt: skip
    (ROOT / "docs/gallery.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated sections to remake")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--markdown", action="store_true", help="only rewrite docs/gallery.md from the recorded times")
    args = parser.parse_args()
    if args.markdown:
        write_markdown(shots(args.device), json.loads((GALLERY / "times.json").read_text()), machine())
        return
    assets = Path(os.environ["PAINT_ASSETS"]).resolve() if os.environ.get("PAINT_ASSETS") else None
    chosen = set(args.only.split(",")) if args.only else None
    if assets is None and (chosen is None or chosen & {"train"}):
        raise SystemExit("set PAINT_ASSETS to the shared assets folder (the trained translations need its datasets)")
    started = time.perf_counter()
    prepare(assets)
    times_file = GALLERY / "times.json"
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    all_shots = shots(args.device)
    for shot in all_shots:
        if chosen is not None and shot.section not in chosen:
            continue
        if shot.section == "adain" and not adain_cached():
            print(f"skipped (AdaIN weights not in the cache): {shot.title}")
            continue
        run(shot, assets)
        times[shot.title] = round(shot.seconds, 1)
    curves = WORK / "runs/facades/losses.png"
    if curves.exists():
        shutil.copyfile(curves, GALLERY / "facades_losses.png")
    times_file.write_text(json.dumps(times, indent=1) + "\n")
    write_markdown(all_shots, times, machine())
    total = sum(p.stat().st_size for p in GALLERY.iterdir() if p.suffix in {".jpg", ".gif", ".webp", ".png"})
    print(f"{len(list(GALLERY.glob('*.*'))) - 1} pictures, {total / 1e6:.2f} MB in docs/gallery/; "
          f"the script ran {time.perf_counter() - started:.0f} s")  # fmt: skip
    if total > LIMIT_BYTES:
        raise SystemExit(f"docs/gallery/ holds {total / 1e6:.1f} MB, over the {LIMIT_BYTES / 1e6:.0f} MB the docs allow")


if __name__ == "__main__":
    main()
