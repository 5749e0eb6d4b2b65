"""Fast (TransformerNet) and AdaIN stylisation with official layouts, and Deep Dream."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from paintcli import device as devices, functional as fn
from paintcli.functional import match_colors
from paintcli.cli import app
from paintcli.config import AdaINConfig, DreamConfig, OnePassConfig
from paintcli.engines.adain import AdaINStylizer
from paintcli.engines.dream import Dreamer
from paintcli.engines.fast_style import FastStylizer, load_transformer_net
from paintcli.nets.adain import ENCODER_USED, adain, decoder, masked_adain, mean_std, vgg_normalised
from paintcli.nets.transformer_net import TransformerNet
from tests.fixtures import content_image, style_image

runner = CliRunner()


def randomised(net: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    torch.manual_seed(seed)
    for name, p in net.named_parameters():
        if name.endswith("weight") and p.dim() == 1:  # InstanceNorm scales near 1
            torch.nn.init.normal_(p, 1.0, 0.1)
        else:
            torch.nn.init.normal_(p, 0.0, std)
    return net


def official_fast_style_bytes(seed: int = 0) -> tuple[bytes, TransformerNet]:
    """A TransformerNet saved like the released pytorch/examples models, with deprecated running stats."""
    net = randomised(TransformerNet(), seed)
    state = net.state_dict()
    for key in [k for k in state if k.endswith(".weight") and ".in" in f".{k}" and "conv" not in k]:
        prefix = key.removesuffix(".weight")
        state[f"{prefix}.running_mean"] = torch.randn(state[key].shape)  # would change the result if used
        state[f"{prefix}.running_var"] = torch.rand(state[key].shape) + 0.5
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue(), net


def full_range_fast_style(path) -> None:
    """Save a random TransformerNet whose pictures span 0-255 (the plain random one paints nearly black,
    where any precision looks exact)."""
    net = randomised(TransformerNet())
    with torch.no_grad():
        net.deconv3.conv2d.weight.mul_(60)
        net.deconv3.conv2d.bias.fill_(128)
    torch.save(net.state_dict(), path)


# --- fast ----------------------------------------------------------------------------------------------------


def test_transformer_net_has_the_official_layout():
    state = TransformerNet().state_dict()
    assert len(state) == 62 and sum(v.numel() for v in state.values()) == 1_679_235
    assert state["conv1.conv2d.weight"].shape == (32, 3, 9, 9) and state["deconv3.conv2d.weight"].shape == (3, 32, 9, 9)
    assert {"res5.in2.weight", "in5.bias", "deconv1.conv2d.bias"} <= set(state)


def test_official_fast_style_file_loads_and_matches(tmp_path):
    data, source = official_fast_style_bytes()
    (tmp_path / "candy.pth").write_bytes(data)
    assert any("running_mean" in k for k in torch.load(tmp_path / "candy.pth", weights_only=True))
    net = load_transformer_net(tmp_path / "candy.pth")
    x = torch.rand(1, 3, 32, 48) * 255
    with torch.no_grad():
        assert torch.equal(net(x), source(x))


def test_fast_keeps_any_size_and_tiles_without_seams(tmp_path):
    data, _ = official_fast_style_bytes()
    (tmp_path / "s.pth").write_bytes(data)
    stylizer = FastStylizer(tmp_path / "s.pth")
    assert stylizer.run(content_image((37, 23))).image.size == (37, 23)
    img = content_image((192, 160))
    whole = fn.to_tensor(stylizer.run(img).image)
    tiled = FastStylizer(tmp_path / "s.pth", tile=128, tile_overlap=48).run(img)
    assert tiled.tiles == 4
    diff = (fn.to_tensor(tiled.image) - whole).abs() * 255
    assert diff.mean() < 1.5 and torch.quantile(diff.flatten(), 0.99) < 12


def test_fast_style_computes_in_bf16_within_40_db_of_float32_and_auto_takes_it_on_native_bf16(tmp_path, monkeypatch):
    full_range_fast_style(tmp_path / "s.pth")
    monkeypatch.setattr(devices, "native_bf16", lambda device: True)
    half, exact = FastStylizer(tmp_path / "s.pth"), FastStylizer(tmp_path / "s.pth", OnePassConfig(precision="fp32"))
    assert (half.precision, exact.precision) == ("bf16", "fp32")
    assert {p.dtype for p in half.net.parameters()} == {torch.bfloat16}
    photo = content_image((64, 48))
    a, b = (fn.to_tensor(painter.run(photo).image) for painter in (exact, half))
    assert a.std() > 0.2  # a picture with contrast, not a black one
    assert a.shape == b.shape == (1, 3, 48, 64) and not torch.equal(a, b)  # it really computed in bf16
    assert 10 * torch.log10(1 / (a - b).square().mean()) > 40
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert FastStylizer(tmp_path / "s.pth").precision == "fp32"
    photo.save(tmp_path / "photo.png")
    done = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--method", "fast", "--model", str(tmp_path / "s.pth"),
                               "--precision", "bf16", "--json", "-o", str(tmp_path / "out.png")])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["precision"] == "bf16" and Image.open(tmp_path / "out.png").size == (64, 48)


def test_pretrained_styles_come_from_one_cached_zip(http_server, monkeypatch, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i, name in enumerate(("candy", "mosaic", "rain_princess", "udnie")):
            zf.writestr(f"saved_models/{name}.pth", official_fast_style_bytes(i)[0])
    http_server.add("/www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1", buffer.getvalue())
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base)
    content_image((40, 30)).save(tmp_path / "p.png")
    for model in ("candy", "mosaic"):
        out = tmp_path / f"{model}.png"
        result = runner.invoke(app, ["stylize", str(tmp_path / "p.png"), "--method", "fast", "--model", model, "-o", str(out), "--json"])
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout)
        assert record["size"] == [40, 30] and record["method"] == "fast" and record["model"] == model
    assert len(http_server.requests) == 1  # the zip was fetched once for both styles
    assert (tmp_path / "cache" / "models" / "fast_neural_style" / "mosaic.pth").is_file()


# --- AdaIN ---------------------------------------------------------------------------------------------------


@pytest.fixture
def adain_files(tmp_path):
    encoder, dec = randomised(vgg_normalised(), 1, 0.1), randomised(decoder(), 2, 0.05)
    torch.save(encoder.state_dict(), tmp_path / "vgg_normalised.pth")
    torch.save(dec.state_dict(), tmp_path / "decoder.pth")
    return tmp_path / "vgg_normalised.pth", tmp_path / "decoder.pth", encoder, dec


def test_adain_layouts_load_and_match_the_reference(adain_files):
    enc_path, dec_path, encoder, dec = adain_files
    assert len(encoder) == 53 and len(torch.load(enc_path, weights_only=True)) == 34
    stylizer = AdaINStylizer(encoder=enc_path, decoder_path=dec_path)
    photo, painting = content_image((64, 48)), style_image((64, 64))
    result = stylizer.run(photo, [painting], size=None, style_size=None, precision="fp32")  # bf16: the test below
    relu4_1 = encoder[:ENCODER_USED]  # the official test.py's vgg[:31]
    with torch.no_grad():
        expected = dec(adain(relu4_1(fn.to_tensor(photo)), relu4_1(fn.to_tensor(painting)))).clamp(0, 1)
    assert result.image.tobytes() == fn.to_pil(expected).tobytes()


def test_adain_computes_in_bf16_within_40_db_of_float32_and_channels_last_on_the_cpu(adain_files, monkeypatch, tmp_path):
    enc_path, dec_path, encoder, dec = adain_files
    photo, painting = content_image((64, 48)), style_image((64, 64))
    last = dec[-1]
    with torch.no_grad():  # the random decoder's pictures are all 0 or 1, where any precision looks exact: bring them to mid-grey
        y = dec(encoder[:ENCODER_USED](fn.to_tensor(photo)))
        scale = 0.2 / y.std()
        last.weight.mul_(scale)
        last.bias.mul_(scale).add_(0.5 - y.mean() * scale)
    torch.save(dec.state_dict(), dec_path)
    monkeypatch.setattr(devices, "native_bf16", lambda device: True)
    stylizer = AdaINStylizer(encoder=enc_path, decoder_path=dec_path)
    half, exact = stylizer.styled([painting]), stylizer.styled([painting], AdaINConfig(precision="fp32"))
    assert (half.precision, exact.precision) == ("bf16", "fp32") and half.memory_format == torch.channels_last
    first, second = half.net.net.encoder.layers[0], half.net.net.encoder.layers[5]
    assert first.weight.dtype == torch.float32 and second.weight.dtype == torch.bfloat16  # the photo's own layers stay float32
    assert stylizer.encoder.layers[5].weight.dtype == torch.float32  # the stylizer's own encoder is left as it was
    a, b = (fn.to_tensor(painter.run(photo).image) for painter in (exact, half))
    assert a.std() > 0.1 and not torch.equal(a, b)
    assert 10 * torch.log10(1 / (a - b).square().mean()) > 40
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert stylizer.styled([painting]).precision == "fp32"
    photo.save(tmp_path / "photo.png")
    painting.save(tmp_path / "painting.png")
    done = runner.invoke(app, ["stylize", str(tmp_path / "photo.png"), "--method", "adain", "-s", str(tmp_path / "painting.png"),
                               "--encoder", str(enc_path), "--decoder", str(dec_path), "--precision", "bf16", "--preserve-colors", "--size", "64",
                               "--json", "-o", str(tmp_path / "out.png")])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["precision"] == "bf16" and Image.open(tmp_path / "out.png").size == (64, 48)


def test_adain_alpha_blend_size_and_mask(adain_files):
    enc_path, dec_path, encoder, dec = adain_files
    stylizer = AdaINStylizer(encoder=enc_path, decoder_path=dec_path)
    photo, painting = content_image((50, 30)), style_image((64, 64))
    assert stylizer.run(photo, [painting], size=None).image.size == (50, 30)  # padded to 8s, cropped back
    with torch.no_grad():
        reconstruction = fn.to_pil(dec(encoder[:ENCODER_USED](fn.to_tensor(content_image((48, 32))))).clamp(0, 1))
    kept = stylizer.run(content_image((48, 32)), [painting], alpha=0.0, size=None, precision="fp32").image
    assert kept.tobytes() == reconstruction.tobytes()
    one = fn.to_tensor(stylizer.run(photo, [painting], size=None).image)
    blended = fn.to_tensor(stylizer.run(photo, [painting, painting], blend=(0.3, 0.7), size=None).image)
    assert (one - blended).abs().max() * 255 <= 3.01  # the same style twice is that style (up to float rounding)
    mask = Image.new("L", (50, 30), 0)
    mask.paste(255, (0, 0, 25, 30))
    masked = stylizer.run(photo, [painting, content_image((64, 64))], mask=mask.convert("RGB"), size=None)
    assert masked.image.size == (50, 30)


def test_masked_adain_gives_each_region_its_styles_statistics():
    torch.manual_seed(0)
    content, s1, s2 = torch.randn(1, 4, 6, 8), torch.randn(1, 4, 5, 5) * 3 + 2, torch.randn(1, 4, 5, 5) * 0.5 - 1
    region = torch.zeros(6, 8, dtype=torch.bool)
    region[:, :4] = True
    out = masked_adain(content, [mean_std(s1), mean_std(s2)], region)
    for inside, style in ((region, s1), (~region, s2)):
        mean, std = mean_std(style)
        assert torch.allclose(out[..., inside].mean(-1), mean.view(1, -1), atol=1e-4)
        assert torch.allclose(out[..., inside].std(-1), std.view(1, -1), atol=1e-3)


def test_match_colors_takes_the_reference_palette():
    torch.manual_seed(0)
    source = torch.rand(1, 3, 20, 20) * 0.5
    reference = torch.rand(1, 3, 20, 20) * 0.3 + torch.tensor([0.6, 0.1, 0.3]).view(1, 3, 1, 1)
    out = match_colors(source, reference)
    assert torch.allclose(out.mean((0, 2, 3)), reference.mean((0, 2, 3)), atol=1e-3)
    assert torch.allclose(torch.cov(out[0].reshape(3, -1)), torch.cov(reference[0].reshape(3, -1)), atol=1e-3)


# --- Deep Dream ------------------------------------------------------------------------------------------------


def test_dream_raises_the_chosen_layers_activation_by_a_large_factor():
    dreamer = Dreamer(DreamConfig(size=64, lr=0.02, seed=0))  # the default pyramid, a bolder step
    result = dreamer.run(content_image((64, 48)))
    assert result.image.size == (64, 48)
    assert result.activation_after > 4 * result.activation_before, (result.activation_before, result.activation_after)


def test_dream_is_repeatable_and_tiles(tmp_path):
    config = DreamConfig(size=64, octaves=2, steps=3, seed=1)
    a = Dreamer(config).run(content_image()).image.tobytes()
    assert Dreamer(config).run(content_image()).image.tobytes() == a
    tiled = Dreamer(DreamConfig(size=64, octaves=1, steps=2, seed=1, tile=32)).run(content_image())
    assert tiled.activation_after > tiled.activation_before


def test_dream_command(images, tmp_path):
    content, _ = images
    result = runner.invoke(app, ["dream", str(content), "--size", "48", "--octaves", "2", "--steps", "2", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["output"].endswith("content_dream.png") and record["size"] == [48, 36]
    assert record["activation_after"] > record["activation_before"]
    bad = runner.invoke(app, ["dream", str(content), "--layers", "relu9_9"])
    assert bad.exit_code == 2 and "unknown VGG19 layer 'relu9_9'" in bad.stderr


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--method", "fast"], "--method fast needs --model"),
        (["--method", "fast", "--model", "candy", "-s", "style.png"], "uses a trained --model, not --style"),
        (["--method", "adain"], "--method adain needs at least one --style"),
        (["--method", "oil"], "unknown --method 'oil'"),
        (["--method", "fast", "--model", "horse2zebra"], "horse2zebra is a cyclegan model, not a fast-style one"),
    ],
)
def test_stylize_method_errors(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    content_image().save(tmp_path / "in.png")
    style_image().save(tmp_path / "style.png")
    result = runner.invoke(app, ["stylize", "in.png", *args])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_adain_cli_alpha_and_mask_errors(adain_files, tmp_path):
    enc_path, dec_path, _, _ = adain_files
    content_image().save(tmp_path / "in.png")
    style_image().save(tmp_path / "s.png")
    base = ["stylize", str(tmp_path / "in.png"), "--method", "adain", "--encoder", str(enc_path), "--decoder", str(dec_path)]
    ok = runner.invoke(app, [*base, "-s", str(tmp_path / "s.png"), "--size", "64", "--alpha", "0.5", "-o", str(tmp_path / "o.png")])
    assert ok.exit_code == 0, ok.output and Image.open(tmp_path / "o.png").size == (64, 48)
    bad = runner.invoke(app, [*base, "-s", str(tmp_path / "s.png"), "--alpha", "2"])
    assert bad.exit_code == 2 and "--alpha must be between 0 and 1" in bad.stderr
    bad = runner.invoke(app, [*base, "-s", str(tmp_path / "s.png"), "--mask", str(tmp_path / "s.png")])
    assert bad.exit_code == 2 and "--mask needs exactly two --style images" in bad.stderr


def test_list_styles():
    result = runner.invoke(app, ["stylize", "--list-styles"])
    assert result.exit_code == 0
    for name in ("candy", "mosaic", "rain_princess", "udnie", "adain-decoder"):
        assert name in result.stdout
