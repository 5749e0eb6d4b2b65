"""Reading and writing images: every file becomes an RGB image or a clear ImageError.

Orientation from EXIF is honoured; alpha is composited onto white; grayscale, palette, CMYK and
16-bit images are converted properly. Outputs are written to a temporary file and renamed, so a
failed or interrupted write never leaves a half-written image under the final name.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from paintcli.atomic import atomic_path
from paintcli.errors import ImageError, OutputError

# Refuse to decode inputs above this many pixels (Pillow's own decompression-bomb threshold):
# a larger file costs gigabytes of memory before it could be downscaled.
MAX_INPUT_PIXELS = 2 * 89_478_485
# Refuse to work at more than this many output pixels (4096 x 4096); --size or --scales bring it down.
MAX_WORK_PIXELS = 4096 * 4096
MIN_SIDE = 16  # VGG19 halves the image four times before relu5_1
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}  # fmt: skip
IMAGE_SUFFIXES = set(SAVE_FORMATS) | {".gif", ".ppm"}


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open `path` as an upright RGB image, or raise an ImageError that names the problem."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path} does not exist", "check the path")
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image", "pass image files, or the folder as an input")
    return _decode(path, str(path))


def decode_image(data: bytes, name: str = "standard input") -> Image.Image:
    """Image file bytes (for example piped in) as an upright RGB image, or a clear ImageError."""
    if not data:
        raise ImageError(f"{name} is empty", "pipe an image file into paint, e.g. cat photo.jpg | paint stylize - ...")
    return _decode(io.BytesIO(data), name)


def encode_png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def _decode(source: Path | io.BytesIO, name: str) -> Image.Image:
    try:
        img = _open_header(source)
        _check_pixels(name, img.size)  # our own limit replaces Pillow's decompression-bomb check
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image Pillow can read", "pass a JPEG, PNG, WebP, BMP or TIFF file") from None
    except OSError as exc:
        raise ImageError(
            f"{name} is truncated or corrupt ({exc})", "re-export or re-download the image and try again"
        ) from None
    img = ImageOps.exif_transpose(img)
    return to_rgb(img)


def _open_header(path: Path | io.BytesIO) -> Image.Image:
    """Image.open without Pillow's size refusal, so that ours, with its clearer message, applies."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(path: str, size: tuple[int, int]) -> None:
    w, h = size
    if w * h > MAX_INPUT_PIXELS:
        raise _too_large(path, size)
    if min(w, h) < MIN_SIDE:
        raise ImageError(
            f"{path} is only {w}x{h} pixels, too small to work on",
            f"use an image at least {MIN_SIDE} pixels on its shorter side",
        )


def _too_large(path: str, size: tuple[int, int]) -> ImageError:
    w, h = size
    return ImageError(
        f"{path} is {w}x{h} ({w * h / 1e6:.0f} MP), over the {MAX_INPUT_PIXELS / 1e6:.0f} MP input limit",
        "downscale it with an image editor first",
    )


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: 16/32-bit rescaled, alpha composited onto white, CMYK converted."""
    if img.mode in {"I;16", "I;16B", "I;16L", "I;16N", "I"}:
        # 16-bit grayscale: scale to 8 bit instead of clipping everything above 255 to white.
        top = 65535 if img.mode.startswith("I;16") or (img.getextrema()[1] > 255) else 255
        img = img.convert("I").point(lambda v: v * (255 / top)).convert("L")
    elif img.mode == "F":
        img = img.point(lambda v: v * 255).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def fit_longest_side(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """(w, h) scaled so the longer side is `longest`, aspect ratio kept, each side at least 1."""
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def check_work_size(size: tuple[int, int], what: str = "the output", option: str = "--size") -> None:
    """Refuse working sizes that are too small for VGG or too large for memory."""
    w, h = size
    if min(w, h) < MIN_SIDE:
        raise ImageError(
            f"{what} would be {w}x{h} pixels, too small to work on",
            f"use a larger {option} (each side needs at least {MIN_SIDE} pixels)",
        )
    if w * h > MAX_WORK_PIXELS:
        raise ImageError(
            f"{what} would be {w}x{h} ({w * h / 1e6:.1f} MP), over the {MAX_WORK_PIXELS / 1e6:.1f} MP limit",
            f"pass a smaller {option}",
        )


def resize_longest(
    img: Image.Image, longest: int | None, *, what: str = "the output", option: str = "--size"
) -> Image.Image:
    """`img` with its longer side resized to `longest` (unchanged when None), after checking that
    size with check_work_size."""
    if not longest:
        return img
    size = fit_longest_side(img.size, longest)
    check_work_size(size, what=what, option=option)
    return resize(img, size)


def resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return img if img.size == size else img.resize(size, Image.Resampling.LANCZOS)


# --- writing ---------------------------------------------------------------------------------------


def check_output_path(path: Path, *, overwrite: bool) -> None:
    """Fail before any work is done if `path` cannot be written as asked."""
    if path.suffix.lower() not in SAVE_FORMATS:
        raise OutputError(
            f"cannot write {path}: unknown image type {path.suffix or '(no extension)'!r}",
            "end the output name with .png, .jpg, .webp, .bmp or .tif",
        )
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists", "pass --overwrite to replace it, or choose another -o")
    if path.parent and not path.parent.exists():
        raise OutputError(f"the folder {path.parent} does not exist", "create it first, or choose another -o")


def save_image(img: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write `img` to `path` through a temporary file in the same folder, then rename."""
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"cannot write {path}: unknown image type", "end the name with .png, .jpg or .webp")
    options = {"quality": 95} if fmt in {"JPEG", "WEBP"} else {}
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        img.save(f, format=fmt, **options)
    return path
