"""Every kind of input file becomes an upright RGB image or an ImageError that says what to do."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from paintcli import functional as fn, imageio
from paintcli.errors import ImageError, OutputError
from tests.fixtures import content_image


def test_rgba_is_composited_onto_white(tmp_path):
    img = Image.new("RGBA", (32, 32), (255, 0, 0, 0))  # fully transparent red
    img.paste((0, 0, 255, 255), (0, 0, 16, 32))  # opaque blue left half
    img.save(tmp_path / "a.png")
    rgb = imageio.load_image(tmp_path / "a.png")
    assert rgb.mode == "RGB"
    assert rgb.getpixel((4, 4)) == (0, 0, 255)
    assert rgb.getpixel((28, 4)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "LA", "1"])
def test_other_modes_become_rgb(tmp_path, mode):
    src = content_image((40, 32))
    img = src.convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".png"
    img.save(tmp_path / f"x{suffix}")
    out = imageio.load_image(tmp_path / f"x{suffix}")
    assert out.mode == "RGB" and out.size == (40, 32)


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (32, 32), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.info["transparency"] = 0
    img.save(tmp_path / "p.png", transparency=0)
    assert imageio.load_image(tmp_path / "p.png").getpixel((0, 0)) == (255, 255, 255)


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    img = Image.new("I;16", (32, 32), 32768)  # mid-gray in 16 bits
    img.save(tmp_path / "g16.png")
    value = imageio.load_image(tmp_path / "g16.png").getpixel((5, 5))
    assert value[0] == value[1] == value[2] and 120 <= value[0] <= 135


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 20, 20))  # blue on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = imageio.load_image(tmp_path / "r.jpg")
    assert out.size == (20, 40)  # portrait once turned upright
    top = out.getpixel((10, 5))
    assert top[2] > 200 and top[0] < 60  # stored-left (blue) is now on top


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        imageio.load_image(tmp_path / "nope.jpg")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello")
    with pytest.raises(ImageError, match="not an image"):
        imageio.load_image(tmp_path / "notes.jpg")


def test_truncated_jpeg(tmp_path):
    content_image((256, 192)).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        imageio.load_image(tmp_path / "cut.jpg")


def test_one_pixel_image_is_too_small(tmp_path):
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ImageError, match=r"only 1x1 pixels.*at least 16"):
        imageio.load_image(tmp_path / "dot.png")


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims a huge size (the pixel data is never read)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def test_enormous_image_is_refused_before_decoding(tmp_path):
    _png_header_only(tmp_path / "huge.png", 20000, 20000)
    with pytest.raises(ImageError, match=r"20000x20000 \(400 MP\), over the 179 MP input limit"):
        imageio.load_image(tmp_path / "huge.png")


def test_work_size_limits():
    imageio.check_work_size((4096, 4096))
    with pytest.raises(ImageError, match="over the 16.8 MP limit.*smaller --size"):
        imageio.check_work_size((5000, 4000))
    with pytest.raises(ImageError, match="too small"):
        imageio.check_work_size((512, 10))


def test_fit_longest_side_keeps_aspect_ratio():
    assert imageio.fit_longest_side((1024, 768), 512) == (512, 384)
    assert imageio.fit_longest_side((300, 1200), 600) == (150, 600)


def test_save_is_atomic_and_checks_existing_files(tmp_path):
    out = tmp_path / "out.png"
    imageio.save_image(content_image(), out)
    assert Image.open(out).size == (64, 48)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left
    with pytest.raises(OutputError, match="already exists.*--overwrite"):
        imageio.check_output_path(out, overwrite=False)
    imageio.check_output_path(out, overwrite=True)
    with pytest.raises(OutputError, match="unknown image type"):
        imageio.check_output_path(tmp_path / "out.txt", overwrite=False)


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    def broken_save(self, fp, format=None, **params):
        fp.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        imageio.save_image(content_image(), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_saved_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        imageio.save_image(content_image(), tmp_path / "o.png")
    finally:
        os.umask(old)
    assert (tmp_path / "o.png").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(("n_in", "n_out"), [(64, 32), (37, 16), (100, 33), (16, 37)])
def test_lanczos_matrix_is_pillows_resize(n_in, n_out):
    # What Gatys' coarse lock holds fixed must be what paint's own shrink (Pillow's Lanczos) does.
    rows = torch.rand(5, n_in, generator=torch.Generator().manual_seed(0))
    picture = Image.new("F", (n_in, 5))
    picture.putdata(rows.flatten().tolist())
    shrunk = picture.resize((n_out, 5), Image.Resampling.LANCZOS).tobytes()  # float32, row by row
    pillow = torch.frombuffer(bytearray(shrunk), dtype=torch.float32).view(5, n_out)
    ours = rows.double() @ fn.lanczos_matrix(n_in, n_out).T
    assert torch.allclose(ours.float(), pillow, atol=1e-5)
