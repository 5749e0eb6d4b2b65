"""Training data: the official CycleGAN (unaligned) and pix2pix (aligned AB) layouts, or two folders.

Every random choice for a sample (crop position, flip, the B image of an unaligned pair) comes from
a generator seeded by (seed, epoch, index). A sample is therefore the same whichever process or
worker loads it and whether or not the run was resumed, which is what makes resuming exact and
multi-process training equal to one process on the combined batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, DistributedSampler, Sampler

from paintcli import cache, functional as fn, imageio, registry
from paintcli.training.settings import AdaINSettings, FastStyleSettings, GANSettings, Pix2PixSettings, TrainSettings
from paintcli.errors import ImageError, PaintError

# The official image_folder.py extensions, either case.
EXTENSIONS = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff"}


class DataError(PaintError):
    """A dataset folder that is missing, empty, or not in the expected layout."""


@dataclass(frozen=True)
class Source:
    """Resolved image lists: A and B for unaligned data, or pairs for aligned data."""

    a: list[Path]
    b: list[Path]
    aligned: bool  # pix2pix: a[i] and b[i] belong together
    ab_files: bool  # pix2pix: each file of `a` holds A|B side by side (b is empty)
    description: str


# --- finding the images --------------------------------------------------------------------------------------


def resolve_source(cfg: TrainSettings, *, progress=None) -> Source:
    """The images `cfg` asks for, checked before any training starts."""
    if isinstance(cfg, FastStyleSettings):  # photos only; the style image is fixed
        return _checked(Source(_images(Path(cfg.data), nested=True), [], False, False, str(cfg.data)))
    if isinstance(cfg, AdaINSettings):  # photos and paintings, drawn independently
        a, b = _images(Path(cfg.content_dir), nested=True), _images(Path(cfg.style_dir), nested=True)
        return _checked(Source(a, b, False, False, f"{cfg.content_dir} + {cfg.style_dir}"))
    assert isinstance(cfg, GANSettings)
    aligned = isinstance(cfg, Pix2PixSettings)
    if cfg.data_a:
        a, b = _images(Path(cfg.data_a)), _images(Path(cfg.data_b))
        if aligned:
            a, b = _pair_by_name(a, b, cfg)
        return _checked(Source(a, b, aligned, False, f"{cfg.data_a} + {cfg.data_b}"))
    if cfg.data:
        root = Path(cfg.data)
    else:
        entry = registry.resolve(cfg.dataset, "dataset", cfg.recipe)
        root = cache.fetch(entry, progress=progress)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder", "pass a dataset folder with --data")
    if not aligned:
        a, b = _images(_sub(root, "trainA")), _images(_sub(root, "trainB"))
        return _checked(Source(a, b, False, False, str(root)))
    ab = _images(_sub(root, "train"))
    return _checked(Source(ab, [], True, True, str(root)))


def _sub(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_dir():
        present = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "no folders"
        raise DataError(f"{root} has no {name}/ folder (it has {present})", _LAYOUT_HINT)
    return path


_LAYOUT_HINT = "CycleGAN data needs trainA/ and trainB/, pix2pix data train/ with AB images; or use --data-a and --data-b"


def _images(folder: Path, nested: bool = False) -> list[Path]:
    """The images in `folder` (and, if `nested`, in its sub-folders: ImageFolder-style roots such as COCO)."""
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder", "check the path")
    candidates = folder.rglob("*") if nested else folder.iterdir()
    files = sorted(p for p in candidates if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        raise DataError(f"{folder} holds no images", "put .jpg or .png files in it")
    return files


def _pair_by_name(a: list[Path], b: list[Path], cfg: GANSettings) -> tuple[list[Path], list[Path]]:
    by_stem = {p.stem: p for p in b}
    unmatched = [p.name for p in a if p.stem not in by_stem]
    if unmatched or len(a) != len(b):
        extra = sorted(set(by_stem) - {p.stem for p in a})
        raise DataError(
            f"pix2pix needs pairs with equal file names; unmatched: {', '.join((unmatched + extra)[:3])}",
            f"make the names in {cfg.data_a} and {cfg.data_b} match one to one",
        )
    return a, [by_stem[p.stem] for p in a]


def _checked(source: Source) -> Source:
    """Open every image's header: unreadable files and odd-width AB images fail now, not at step 5000."""
    for path in source.a + source.b:
        try:
            with Image.open(path) as img:
                width = img.size[0]
        except (UnidentifiedImageError, OSError):
            raise DataError(f"{path} is not a readable image", "remove or replace it") from None
        if source.ab_files and width % 2:
            raise DataError(f"{path} is {width} pixels wide: an AB image needs an even width", "check that it holds A and B side by side")
    return source


# --- the dataset -----------------------------------------------------------------------------------------------


class PairDataset(Dataset):
    """Returns {"A": tensor, "B": tensor, "index": int}, RGB in [-1, 1], cropped and flipped alike."""

    def __init__(self, source: Source, cfg: TrainSettings, *, augment: bool = True):
        self.source, self.cfg, self.augment = source, cfg, augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.source.aligned:
            return len(self.source.a)
        return max(len(self.source.a), len(self.source.b))  # the official epoch length

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """Sample `index` of the current epoch, or `(epoch, index)`: the epoch travels with the index so
        that data-loading processes that live across epochs draw each epoch's crops and flips."""
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        rng = random.Random(f"{self.cfg.seed}:{epoch}:{index}")
        a_img, b_img = self._load(index, rng)
        cfg = self.cfg
        size = (cfg.load_size, cfg.load_size) if self.augment else (cfg.crop_size, cfg.crop_size)
        a_img = imageio.resize(a_img, size)
        b_img = imageio.resize(b_img, size) if b_img is not None else a_img  # photos-only data: B unused
        if self.augment:
            x = rng.randint(0, cfg.load_size - cfg.crop_size)
            y = rng.randint(0, cfg.load_size - cfg.crop_size)
            flip = cfg.flip and rng.random() < 0.5
            box = (x, y, x + cfg.crop_size, y + cfg.crop_size)
            a_img, b_img = a_img.crop(box), b_img.crop(box)
            if flip:
                a_img = a_img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                b_img = b_img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        a, b = _to_unit(a_img), _to_unit(b_img)
        if self.source.aligned and getattr(cfg, "direction", "AtoB") == "BtoA":
            a, b = b, a
        if not self.source.b and not self.source.ab_files:
            return {"A": a, "index": index}
        return {"A": a, "B": b, "index": index}

    def _load(self, index: int, rng: random.Random) -> tuple[Image.Image, Image.Image]:
        src = self.source
        if src.ab_files:
            ab = _open(src.a[index])
            half = ab.width // 2
            return ab.crop((0, 0, half, ab.height)), ab.crop((half, 0, ab.width, ab.height))
        if src.aligned:
            return _open(src.a[index]), _open(src.b[index])
        if not src.b:
            return _open(src.a[index]), None
        b_index = rng.randrange(len(src.b))  # unaligned: B drawn at random, as officially
        return _open(src.a[index % len(src.a)]), _open(src.b[b_index])


def _open(path: Path) -> Image.Image:
    try:
        return imageio.load_image(path)
    except ImageError as exc:
        raise DataError(exc.message, exc.hint) from None


def _to_unit(img: Image.Image) -> torch.Tensor:
    return fn.to_tensor(img)[0] * 2 - 1


class EpochSampler(Sampler):
    """This process's (epoch, index) pairs for one epoch, from where a resumed run stopped: the
    DistributedSampler's shuffle (seeded by seed and epoch), paired with the epoch for PairDataset."""

    def __init__(self, dataset: Dataset, *, rank: int, world: int, seed: int):
        self.order = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """The epoch to draw, leaving out its first `skip` samples (done before a resume)."""
        self.epoch, self.skip = epoch, skip
        self.order.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.order) - self.skip

    def __iter__(self):
        return ((self.epoch, i) for i in list(self.order)[self.skip :])
