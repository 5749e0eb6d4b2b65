"""pix2pix/CycleGAN generators: official layouts load without flags, outputs match, tiling, AB halves."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import zipfile

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from paintcli import cache, checkpoints, device as devices, functional as fn, registry
from paintcli.archives import ArchiveError, extract
from paintcli.cli import app
from paintcli.config import TranslateConfig
from paintcli.engines.translate import Translator, ab_half
from paintcli.errors import ImageError
from paintcli.nets.discriminators import NLayerDiscriminator, PixelDiscriminator
from paintcli.nets.generators import GeneratorSpec, ResnetGenerator, UnetGenerator
from tests.fixtures import content_image

runner = CliRunner()


def randomised(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    for p in net.parameters():
        torch.nn.init.normal_(p, 0.0, 0.05)
    for name, b in net.named_buffers():
        if name.endswith("running_mean"):
            b.normal_(0, 0.1)
        elif name.endswith("running_var"):
            b.uniform_(0.5, 1.5)
    return net


def official_resnet_file(path, n_blocks=9, dropout=False, seed=0):
    """A CycleGAN generator saved as the released files are: with the legacy InstanceNorm buffers."""
    net = randomised(ResnetGenerator(3, 3, n_blocks, norm="instance", dropout=dropout), seed)
    state = net.state_dict()
    norm_positions = [2, 5, 8, 20, 23] if n_blocks == 9 else [2, 5, 8, 17, 20]
    conv_block_norms = ["2", "7"] if dropout else ["2", "6"]
    for i in norm_positions:
        _add_legacy_stats(state, f"model.{i}", 64 * (2 ** min(i // 3, 2)))
    for b in range(10, 10 + n_blocks):
        for j in conv_block_norms:
            _add_legacy_stats(state, f"model.{b}.conv_block.{j}", 256)
    torch.save(state, path)
    return net


def _add_legacy_stats(state, prefix, channels):
    state[f"{prefix}.running_mean"] = torch.randn(channels)  # would change the pictures if used
    state[f"{prefix}.running_var"] = torch.rand(channels) + 0.5
    state[f"{prefix}.num_batches_tracked"] = torch.tensor(1000)


def test_official_key_layouts_and_parameter_counts():
    """Numbers from the official networks (peers.md 1.4): a change here breaks real checkpoints."""

    def count(net):
        sd = net.state_dict()
        params = sum(v.numel() for k, v in sd.items() if not checkpoints.LEGACY_STAT.search(k))
        return len(sd), params

    assert count(ResnetGenerator(3, 3, 9)) == (48, 11_378_179)
    assert count(ResnetGenerator(3, 3, 6)) == (36, 7_837_699)
    assert count(UnetGenerator(3, 3, 8, norm="batch")) == (82, 54_413_955)
    assert count(UnetGenerator(3, 3, 7, norm="batch")) == (70, 41_828_995)
    assert count(NLayerDiscriminator(3, norm="instance"))[1] == 2_764_737
    r9 = ResnetGenerator(3, 3, 9).state_dict()
    assert r9["model.19.weight"].shape == (256, 128, 3, 3) and r9["model.26.weight"].shape == (3, 64, 7, 7)
    assert "model.10.conv_block.5.weight" in r9
    assert "model.10.conv_block.6.weight" in ResnetGenerator(3, 3, 9, dropout=True).state_dict()
    u = UnetGenerator(3, 3, 8, norm="batch").state_dict()
    assert u["model.model.3.weight"].shape == (128, 3, 4, 4) and "model.model.3.bias" in u
    assert "model.model.0.bias" not in u and "model.model.1.model.2.running_mean" in u
    deep = "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.3.weight"
    assert u[deep].shape == (512, 512, 4, 4)  # the innermost up-convolution
    assert set(PixelDiscriminator(3).state_dict()) >= {"net.0.weight", "net.2.weight", "net.5.weight"}


def test_released_cyclegan_file_loads_without_flags_and_matches(tmp_path):
    source = official_resnet_file(tmp_path / "latest_net_G.pth").eval()
    net, spec = checkpoints.load_generator(tmp_path / "latest_net_G.pth")
    assert spec == GeneratorSpec("resnet", 9, 64, "instance", False)
    x = torch.rand(1, 3, 64, 48) * 2 - 1
    with torch.no_grad():
        assert torch.equal(net.eval()(x), source(x))


@pytest.mark.parametrize("n_blocks, dropout", [(6, False), (6, True), (9, True)])
def test_resnet_variants_are_inferred(tmp_path, n_blocks, dropout):
    official_resnet_file(tmp_path / "g.pth", n_blocks=n_blocks, dropout=dropout)
    _, spec = checkpoints.load_generator(tmp_path / "g.pth")
    assert (spec.arch, spec.blocks, spec.dropout, spec.norm) == ("resnet", n_blocks, dropout, "instance")


@pytest.mark.parametrize("downs, norm, ngf", [(8, "batch", 64), (7, "batch", 32), (7, "instance", 16), (8, "none", 8)])
def test_unet_files_load_and_give_identical_outputs(tmp_path, downs, norm, ngf):
    source = randomised(UnetGenerator(3, 3, downs, ngf=ngf, norm=norm, dropout=True))
    torch.save(source.state_dict(), tmp_path / "g.pth")
    net, spec = checkpoints.load_generator(tmp_path / "g.pth")
    assert (spec.arch, spec.blocks, spec.norm, spec.ngf) == ("unet", downs, norm, ngf)
    x = torch.rand(1, 3, 2**downs, 2**downs) * 2 - 1
    for train in (True, False):  # per-image statistics with dropout, and running statistics
        source.train(train), net.train(train)
        torch.manual_seed(5)
        expected = source(x)
        torch.manual_seed(5)
        assert torch.equal(net(x), expected)


def test_dataparallel_prefix_and_our_own_format(tmp_path):
    source = randomised(ResnetGenerator(3, 3, 6, ngf=16))
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, tmp_path / "dp.pth")
    assert checkpoints.load_generator(tmp_path / "dp.pth")[1].ngf == 16
    spec = GeneratorSpec("resnet", 6, 16)
    checkpoints.save_generator(source, spec, tmp_path / "ours.pth", official=False)
    net, loaded = checkpoints.load_generator(tmp_path / "ours.pth")
    assert loaded == spec


def test_files_that_match_nothing_are_clear_errors(tmp_path):
    torch.save({"conv.weight": torch.zeros(3, 3, 1, 1)}, tmp_path / "other.pth")
    with pytest.raises(checkpoints.CheckpointError, match="matches no known generator"):
        checkpoints.load_generator(tmp_path / "other.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(checkpoints.CheckpointError, match="not a readable PyTorch checkpoint"):
        checkpoints.load_generator(tmp_path / "junk.pth")
    state = ResnetGenerator(3, 3, 9).state_dict()
    del state["model.22.bias"]
    torch.save(state, tmp_path / "cut.pth")
    with pytest.raises(checkpoints.CheckpointError, match="resnet_9blocks but does not fit.*model.22.bias"):
        checkpoints.load_generator(tmp_path / "cut.pth")


# --- the engine --------------------------------------------------------------------------------------------


@pytest.fixture
def small_resnet(tmp_path):
    net = randomised(ResnetGenerator(3, 3, 2, ngf=8), seed=3)
    torch.save(net.state_dict(), tmp_path / "small.pth")
    return tmp_path / "small.pth"


def test_odd_sizes_are_padded_and_cropped_back(small_resnet):
    translator = Translator(small_resnet)
    for size in [(37, 23), (64, 48), (17, 101)]:
        assert translator.run(content_image(size)).image.size == size


def test_unet_pads_to_its_multiple(tmp_path):
    torch.save(randomised(UnetGenerator(3, 3, 7, ngf=4, norm="batch")).state_dict(), tmp_path / "u.pth")
    result = Translator(tmp_path / "u.pth", TranslateConfig(seed=0)).run(content_image((150, 90)))
    assert result.image.size == (150, 90)


def test_tiled_output_is_indistinguishable_from_untiled(small_resnet):
    img = content_image((192, 144))
    whole = fn.to_tensor(Translator(small_resnet).run(img).image)
    tiled = Translator(small_resnet, TranslateConfig(tile=128, tile_overlap=48)).run(img)
    assert tiled.tiles == 4
    diff = (fn.to_tensor(tiled.image) - whole).abs() * 255  # in grey levels
    assert diff.mean() < 1 and torch.quantile(diff.flatten(), 0.99) < 10


def test_seed_makes_dropout_repeatable(tmp_path):
    torch.save(randomised(UnetGenerator(3, 3, 6, ngf=4, norm="batch", dropout=True)).state_dict(), tmp_path / "u.pth")
    img = content_image((64, 64))
    a = Translator(tmp_path / "u.pth", TranslateConfig(seed=1)).run(img).image.tobytes()
    b = Translator(tmp_path / "u.pth", TranslateConfig(seed=1)).run(img).image.tobytes()
    c = Translator(tmp_path / "u.pth", TranslateConfig(seed=2)).run(img).image.tobytes()
    d = Translator(tmp_path / "u.pth", TranslateConfig(seed=2, eval_mode=True)).run(img).image.tobytes()
    e = Translator(tmp_path / "u.pth", TranslateConfig(seed=3, eval_mode=True)).run(img).image.tobytes()
    assert a == b and a != c and d == e  # --eval: no dropout, so the seed no longer matters


def test_seeded_dropout_paints_video_frames_one_at_a_time(tmp_path, small_resnet):
    """The seed is set before every call, so frames with dropout cannot go through side by side;
    a generator without dropout (CycleGAN's) can, seed or not."""
    from paintcli.engines.video import frames_at_once

    torch.save(randomised(UnetGenerator(3, 3, 6, ngf=4, norm="batch", dropout=True)).state_dict(), tmp_path / "u.pth")
    assert frames_at_once(Translator(tmp_path / "u.pth", TranslateConfig(seed=0), device="cpu")) == 1
    assert frames_at_once(Translator(tmp_path / "u.pth", TranslateConfig(seed=0, eval_mode=True), device="cpu")) > 1
    assert frames_at_once(Translator(small_resnet, TranslateConfig(seed=0), device="cpu")) > 1


def test_batch_equals_one_by_one_for_instance_norm(small_resnet):
    translator = Translator(small_resnet, TranslateConfig(precision="fp32"))  # bf16: tests/test_image_to_image.py
    images = [content_image((48, 32)), content_image((48, 32)).rotate(180)]
    batched = [fn.to_tensor(r.image) for r in translator.run_many(images)]
    single = [fn.to_tensor(translator.run(img).image) for img in images]
    # Equal up to the last bit where oneDNN uses the same kernels for a batch as for one picture (as on
    # this project's 2-core machines); on a 16-core machine it picks others, and a few pixels round one
    # grey level apart.
    for b, s in zip(batched, single, strict=True):
        assert (b - s).abs().max() <= 1 / 255 + 1e-6 and (b != s).float().mean() < 0.01


def test_translation_computes_in_bf16_within_40_db_of_float32_and_auto_takes_it_on_native_bf16(small_resnet, monkeypatch, tmp_path):
    monkeypatch.setattr(devices, "native_bf16", lambda device: True)
    half, exact = Translator(small_resnet), Translator(small_resnet, TranslateConfig(precision="fp32"))
    assert (half.precision, exact.precision) == ("bf16", "fp32")
    first, later = half.net.net.model[1], half.net.net.model[4]
    assert first.weight.dtype == torch.float32 and later.weight.dtype == torch.bfloat16  # the layer that sees the photo stays float32
    img = content_image((64, 48))
    a, b = (fn.to_tensor(t.run(img).image) for t in (exact, half))
    assert a.std() > 0.15 and not torch.equal(a, b)  # a picture with contrast, really computed in bf16
    assert 10 * torch.log10(1 / (a - b).square().mean()) > 40
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert Translator(small_resnet).precision == "fp32"
    img.save(tmp_path / "p.png")
    done = runner.invoke(app, ["translate", str(tmp_path / "p.png"), "-m", str(small_resnet), "--precision", "bf16", "--json", "-o", str(tmp_path / "o.png")])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["precision"] == "bf16"
    wrong = runner.invoke(app, ["translate", str(tmp_path / "p.png"), "-m", str(small_resnet), "--precision", "fp16", "-o", str(tmp_path / "w.png")])
    assert wrong.exit_code == 2 and "unknown --precision 'fp16'" in wrong.stderr and not (tmp_path / "w.png").exists()


def test_ab_halves():
    ab = Image.new("RGB", (64, 32), (255, 0, 0))
    ab.paste((0, 0, 255), (32, 0, 64, 32))
    assert ab_half(ab, "AtoB").getpixel((5, 5)) == (255, 0, 0)
    assert ab_half(ab, "BtoA").getpixel((5, 5)) == (0, 0, 255)
    with pytest.raises(ImageError, match="odd width"):
        ab_half(Image.new("RGB", (63, 32)), "AtoB")


# --- the command ---------------------------------------------------------------------------------------------


def test_translate_command_folder_json_and_overwrite(small_resnet, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, size in enumerate([(40, 30), (40, 30), (33, 21)]):
        content_image(size).save(photos / f"p{i}.png")
    result = runner.invoke(app, ["translate", str(photos), "-m", str(small_resnet), "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["size"] for r in records] == [[40, 30], [40, 30], [33, 21]]
    assert {r["model"] for r in records} == {"small"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0_small.png", "p1_small.png", "p2_small.png"]
    again = runner.invoke(app, ["translate", str(photos), "-m", str(small_resnet), "-o", str(tmp_path / "out")])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_translate_ab_uses_the_models_direction(tmp_path, http_server, monkeypatch):
    """`--model facades --ab` downloads the zoo file (through a mirror) and takes the B half."""
    source = randomised(UnetGenerator(3, 3, 8, ngf=4, norm="batch"))
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    http_server.add("/efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/facades_label2photo.pth", buffer.getvalue())
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base)
    ab = Image.new("RGB", (512, 256), (200, 50, 50))
    ab.save(tmp_path / "pair.jpg")
    result = runner.invoke(app, ["translate", str(tmp_path / "pair.jpg"), "--model", "facades", "--ab", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "BtoA: using the right (B) half" in result.stderr
    assert Image.open(tmp_path / "pair_facades_label2photo.png").size == (256, 256)
    cached = tmp_path / "cache" / "models" / "pix2pix" / "facades_label2photo.pth"
    assert cached.is_file() and cached.with_name(cached.name + ".sha256").is_file()  # hash recorded


def test_recorded_hash_catches_later_corruption(tmp_path, http_server, monkeypatch):
    data = b"x" * 5000
    entry = dataclasses.replace(registry.get("horse2zebra"), urls=(http_server.add("/h2z.pth", data),))
    monkeypatch.delenv("PAINT_OFFLINE")
    path = cache.fetch(entry)
    assert cache.fetch(entry) == path  # unchanged: fine
    path.write_bytes(b"y" * 5000)
    with pytest.raises(cache.ChecksumError, match="has changed since it was downloaded"):
        cache.fetch(entry)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--model", "zebr"], "unknown name 'zebr'"),
        (["--model", "missing.pth"], "missing.pth does not exist"),
        (["--model", "cyclegan/horse2zebra"], "is a dataset, not a model"),
        (["--direction", "sideways", "--model", "x.pth"], "unknown direction 'sideways'"),
        (["--tile", "100", "--tile-overlap", "60", "--model", "x.pth"], "--tile-overlap must be"),
    ],
)
def test_translate_bad_input(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    content_image().save(tmp_path / "in.png")
    result = runner.invoke(app, ["translate", "in.png", *args])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_ab_flag_needs_a_model_with_a_direction(small_resnet, tmp_path):
    content_image((64, 32)).save(tmp_path / "ab.png")
    result = runner.invoke(app, ["translate", str(tmp_path / "ab.png"), "-m", str(small_resnet), "--ab"])
    assert result.exit_code == 2 and "has no AB convention" in result.stderr


# --- the zoo and datasets ------------------------------------------------------------------------------------


def test_zoo_has_every_official_model_and_alias():
    models = registry.entries("model")
    assert sum(e.family == "cyclegan" for e in models) == 18 and sum(e.family == "pix2pix" for e in models) == 5
    assert registry.get("facades").name == "facades_label2photo" and registry.get("facades").family == "pix2pix"
    assert registry.get("monet").name == "style_monet" and registry.get("zebra").name == "horse2zebra"
    assert registry.get("horse2zebra").urls == ("http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth",)
    assert registry.get("facades").direction == "BtoA" and registry.get("edges2shoes").direction == "AtoB"
    assert registry.resolve("monet2photo", "dataset", "cyclegan").name == "cyclegan/monet2photo"
    with pytest.raises(registry.UnknownNameError, match="licence"):
        registry.get("cityscapes")


def _zip_bytes(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    content_image((32, 32)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dataset_download_extracts_into_the_cache(http_server, monkeypatch, tmp_path):
    members = {f"mini/{d}/{i}.png": _png() for d in ("trainA", "trainB", "testA", "testB") for i in range(2)}
    http_server.add("/efrosgans.eecs.berkeley.edu/cyclegan/datasets/mini.zip", _zip_bytes(members))
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base)
    result = runner.invoke(app, ["download", "cyclegan/mini", "-q"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "cache" / "datasets" / "cyclegan" / "mini"
    assert result.stdout.strip() == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert not list(folder.parent.glob("*.zip"))  # the archive is removed once unpacked


def test_pix2pix_tarball_and_layout_check(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name in ("facades/train/1.jpg", "facades/val/1.jpg"):
            info = tarfile.TarInfo(name)
            data = _png()
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    archive = tmp_path / "facades.tar.gz"
    archive.write_bytes(buffer.getvalue())
    out = extract(archive, tmp_path / "facades", layout=("train",))
    assert (out / "train" / "1.jpg").is_file()
    with pytest.raises(ArchiveError, match="missing testA"):
        extract(archive, tmp_path / "other", layout=("testA",))
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    "members, links",
    [
        ({"../evil": b"x"}, None),
        ({"/tmp/evil_abs": b"x"}, None),
        ({"ok/a.txt": b"x", "ok/../../evil": b"x"}, None),
        ({"ok/a.txt": b"x"}, {"ok/link": "../../../etc/passwd"}),
    ],
)
def test_malicious_zip_is_refused_and_writes_nothing_outside(tmp_path, members, links):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip_bytes(members, links))
    target = tmp_path / "target" / "data"
    target.parent.mkdir()
    before = {p for p in tmp_path.rglob("*")}
    with pytest.raises(ArchiveError, match="unsafe"):
        extract(archive, target)
    assert {p for p in tmp_path.rglob("*")} == before  # nothing written, staging folder removed


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink"])
def test_malicious_tar_is_refused(tmp_path, kind):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        info = tarfile.TarInfo({"dotdot": "../evil", "absolute": "/evil"}.get(kind, "data/link"))
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, "../../etc/passwd"
        tf.addfile(info, io.BytesIO(b"") if info.isfile() else None)
    archive = tmp_path / "bad.tar"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(ArchiveError, match="unsafe"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "evil").exists()


def test_tiling_is_chosen_by_itself_when_memory_is_short(small_resnet, monkeypatch):
    from paintcli import tiling

    img = content_image((96, 64))
    whole = Translator(small_resnet).run(img)
    monkeypatch.setattr(tiling, "free_memory", lambda device: 2_000_000)  # about 2 MB free
    monkeypatch.setattr(tiling, "AUTO_TILE", 64)
    tiled = Translator(small_resnet, TranslateConfig(tile_overlap=24)).run(img)
    assert whole.tiles == 1 and tiled.tiles > 1
    assert tiled.image.size == whole.image.size


def test_download_a_zoo_model_by_name(http_server, monkeypatch, tmp_path):
    state = randomised(ResnetGenerator(3, 3, 9, ngf=4)).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    http_server.add("/efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth", buffer.getvalue())
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base)
    result = runner.invoke(app, ["download", "zebra", "-q"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "cache" / "models" / "cyclegan" / "horse2zebra.pth"
    assert result.stdout.strip() == str(path) and path.stat().st_size == len(buffer.getvalue())
    assert "note: zebra" not in result.stderr
    listing = runner.invoke(app, ["download", "--list"]).stdout
    assert any(line.split()[:1] == ["horse2zebra"] and " yes " in line for line in listing.splitlines())
