"""The bundled instant styles: any picture as the style (Magenta's arbitrary network) and 26 built-in
styles, offline, with blends, strength, names and the contact sheet."""

from __future__ import annotations

import json
import socket

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from paintcli import device as devices, functional as fn, registry
from paintcli.cli import app
from paintcli.config import OnePassConfig
from paintcli.engines.instant import ArbitraryStylizer, BuiltinStylizer, parse_styles, style_index
from paintcli.errors import UnknownNameError, UsageError
from paintcli.nets.magenta import StyleTransformer, int8_convolutions_available
from tests.fixtures import content_image, style_image

runner = CliRunner()


@pytest.fixture(scope="module")
def arbitrary() -> ArbitraryStylizer:
    return ArbitraryStylizer(device="cpu")


@pytest.fixture(scope="module")
def builtin() -> BuiltinStylizer:
    return BuiltinStylizer(device="cpu")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_strength_0_is_the_photos_own_style_and_1_the_paintings(arbitrary):
    photo, painting = content_image((48, 40)), style_image((64, 64))
    own = arbitrary.painter(arbitrary.style_vector(photo)).run(photo).image
    full = arbitrary.painter(arbitrary.style_vector(painting)).run(photo).image
    assert arbitrary.run(photo, [painting], strength=0.0).image.tobytes() == own.tobytes()
    assert arbitrary.run(photo, [painting], strength=1.0).image.tobytes() == full.tobytes()
    half = fn.to_tensor(arbitrary.run(photo, [painting], strength=0.5).image)
    assert 0 < (half - fn.to_tensor(full)).abs().mean() < (fn.to_tensor(own) - fn.to_tensor(full)).abs().mean()
    with pytest.raises(UsageError, match="--strength must be between 0 and 1"):
        arbitrary.run(photo, [painting], strength=1.5)


def test_style_vectors_blend_by_weight(arbitrary):
    a, b = style_image((64, 64)), content_image((64, 48))
    va, vb = arbitrary.style_vector(a), arbitrary.style_vector(b)
    assert va.shape == (1, 100) and not torch.allclose(va, vb)
    assert torch.allclose(arbitrary.mix([a, b], (1, 0)), va)
    assert torch.allclose(arbitrary.mix([a, b], (3, 1)), 0.75 * va + 0.25 * vb, atol=1e-6)
    assert torch.allclose(arbitrary.mix([a, a]), va, atol=1e-6)
    with pytest.raises(UsageError, match="2 weights for 1 style"):
        arbitrary.mix([a], (1, 2))


def test_builtin_styles_by_name_number_and_mix(builtin):
    assert len(registry.BUILTIN_STYLES) == 26 and len(set(registry.BUILTIN_STYLES)) == 26
    assert style_index("starry") == 19 == style_index("19") and style_index("Starry") == 19
    weights = parse_styles("starry:0.5,wave:0.5")
    assert weights[19] == weights[24] == 0.5 and sum(weights) == pytest.approx(1)
    with pytest.raises(UnknownNameError, match=r"unknown built-in style 'starr' \(did you mean 'starry'\?\)"):
        parse_styles("starr")
    with pytest.raises(UnknownNameError, match="use 0 to 25"):
        parse_styles("26")
    photo = content_image((40, 32))
    one = builtin.run(photo, "starry").image
    assert one.size == (40, 32) and one.tobytes() == builtin.run(photo, "19").image.tobytes()
    mixed = fn.to_tensor(builtin.run(photo, "starry:0.5,wave:0.5").image)
    wave = fn.to_tensor(builtin.run(photo, "wave").image)
    assert (mixed - fn.to_tensor(one)).abs().mean() > 0.01 and (mixed - wave).abs().mean() > 0.01
    kept = fn.to_tensor(builtin.run(photo, "starry", strength=0.0).image)
    assert (kept - fn.to_tensor(photo)).abs().max() <= 1 / 255 + 1e-6  # strength 0: the photo itself


def test_builtin_in_bf16_stays_within_40_db_of_float32(builtin):
    photo = content_image((64, 48))
    exact = builtin.painter(parse_styles("starry"), OnePassConfig(precision="fp32"))
    half = builtin.painter(parse_styles("starry"), OnePassConfig(precision="bf16"))
    assert (exact.precision, half.precision) == ("fp32", "bf16")
    assert {p.dtype for p in half.net.parameters()} == {torch.bfloat16, torch.float32} and {p.dtype for p in exact.net.parameters()} == {torch.float32}
    a, b = (fn.to_tensor(painter.run(photo).image) for painter in (exact, half))
    assert a.shape == b.shape == (1, 3, 48, 64) and not torch.equal(a, b)  # it really computed in bf16
    assert 10 * torch.log10(1 / (a - b).square().mean()) > 40


def test_auto_precision_takes_bf16_for_the_builtin_network_on_a_cpu_with_native_bf16_never_for_the_8_bit_one(builtin, arbitrary, monkeypatch, tmp_path):
    weights, vector = parse_styles("starry"), torch.zeros(1, 100)
    monkeypatch.setattr(devices, "native_bf16", lambda device: True)
    assert builtin.painter(weights).precision == "bf16"
    assert arbitrary.painter(vector).precision in ("int8", "fp32")  # 8-bit: its own arithmetic, never bf16
    assert builtin.painter(weights, OnePassConfig(precision="fp32")).precision == "fp32"
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert builtin.painter(weights).precision == "fp32"
    assert builtin.painter(weights, OnePassConfig(precision="bf16")).precision == "bf16"
    with pytest.raises(UsageError, match="--precision bf16 is measured only for --method builtin, fast and adain and for paint translate"):
        arbitrary.painter(vector, OnePassConfig(precision="bf16"))
    content_image((40, 32)).save(tmp_path / "photo.png")
    refused = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--method", "arbitrary", "-s", str(tmp_path / "photo.png"),
                                  "--precision", "bf16", "-o", str(tmp_path / "a.png")])  # fmt: skip
    assert refused.exit_code == 2 and "--precision bf16 is measured only for --method builtin, fast and adain and for paint translate" in refused.stderr
    assert not (tmp_path / "a.png").exists()


@pytest.mark.skipif(not int8_convolutions_available(), reason="oneDNN's exact int8 convolutions: x86 CPUs with VNNI")
def test_arbitrary_convolves_its_int8_codes_on_the_cpu_and_paints_what_float32_paints(arbitrary, monkeypatch):
    photo, vector = content_image((64, 48)), arbitrary.style_vector(style_image())
    ints, floats = arbitrary.painter(vector), arbitrary.painter(vector, OnePassConfig(precision="fp32"))
    assert (ints.precision, floats.precision) == ("int8", "fp32")
    assert all(conv.packed is not None for conv, _ in ints.net.net._convolutions())
    assert all(conv.packed is None for conv, _ in floats.net.net._convolutions())
    a, b = (fn.to_tensor(painter.run(photo).image) for painter in (ints, floats))
    assert a.shape == (1, 3, 48, 64) and 10 * torch.log10(1 / (a - b).square().mean().clamp_min(1e-12)) > 40
    monkeypatch.setattr(StyleTransformer, "int8_available", staticmethod(lambda: False))
    assert arbitrary.painter(vector).precision == "fp32"  # elsewhere: float32


def test_stylize_commands_paint_offline(tmp_path, no_network):
    content_image((50, 30)).save(tmp_path / "photo.png")
    style_image().save(tmp_path / "painting.png")
    builtin_run = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--style", "starry", "--precision", "bf16", "--json", "-o", str(tmp_path / "b.png")])
    assert builtin_run.exit_code == 0, builtin_run.output
    record = json.loads(builtin_run.stdout)
    assert record["method"] == "builtin" and record["size"] == [50, 30] and record["style"] == "starry" and record["precision"] == "bf16"
    args = ["stylize", str(tmp_path / "photo.png"), "--method", "arbitrary", "-s", str(tmp_path / "painting.png"),
            "-s", str(tmp_path / "photo.png"), "--style-blend", "0.7,0.3", "--strength", "0.8", "--preserve-colors",
            "--json", "-o", str(tmp_path / "a.png")]  # fmt: skip
    arbitrary_run = runner.invoke(app, args)
    assert arbitrary_run.exit_code == 0, arbitrary_run.output
    assert json.loads(arbitrary_run.stdout)["method"] == "arbitrary" and Image.open(tmp_path / "a.png").size == (50, 30)
    assert json.loads(arbitrary_run.stdout)["precision"] == ("int8" if int8_convolutions_available() else "fp32")
    numbered = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--method", "builtin", "--style", "7", "--size", "40", "-o", str(tmp_path / "n.png")])
    assert numbered.exit_code == 0, numbered.output and Image.open(tmp_path / "n.png").size == (40, 24)


def test_misspelt_style_names_suggest_one(tmp_path):
    content_image().save(tmp_path / "photo.png")
    result = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--style", "stary"])
    assert result.exit_code == 2 and "did you mean 'starry'" in result.stderr and result.stderr.count("\n") == 1
    result = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--style", "missing.jpg"])
    assert result.exit_code == 2 and "missing.jpg does not exist" in result.stderr  # a file name stays a file


def test_contact_sheet_shows_every_style_labelled(tmp_path, no_network):
    content_image((60, 40)).save(tmp_path / "photo.png")
    result = runner.invoke(app, ["styles", "sheet", str(tmp_path / "photo.png"), "--tile", "48", "--columns", "9"])
    assert result.exit_code == 0, result.output
    sheet = Image.open(tmp_path / "photo_styles.png")
    pad, label = 6, 18  # 27 pictures (the photo and 26 styles) of 48x32 in 3 rows of 9
    assert sheet.size == (pad + 9 * (48 + pad), pad + 3 * (32 + label + pad))
    tiles = [sheet.crop((pad + c * 54, pad + r * 56 + label, pad + c * 54 + 48, pad + r * 56 + label + 32)) for r in range(3) for c in range(9)]
    assert tiles[0].tobytes() == content_image((60, 40)).resize((48, 32), Image.Resampling.LANCZOS).tobytes()
    assert len({t.tobytes() for t in tiles}) == 27  # every style looks different
    label_strip = fn.to_tensor(sheet.crop((pad, pad, pad + 48, pad + label)))
    assert label_strip.min() < 0.5  # text drawn above each picture
    listing = runner.invoke(app, ["stylize", "--list-styles"]).stdout
    assert any(line.split()[:3] == ["starry", "builtin", "(19)"] for line in listing.splitlines())
