"""Training: both recipes run, resume is exact, exports translate, two processes equal one, bad data is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from paintcli.checkpoints import load_generator
from paintcli.cli import app
from paintcli.nets.discriminators import NLayerDiscriminator
from paintcli.nets.generators import ResnetGenerator
from paintcli.training.settings import TrainSettings, for_recipe
from paintcli.training.loop import TrainingError, train
from tests.fixtures import content_image, style_image

runner = CliRunner()
TINY = dict(ngf=4, ndf=4, load_size=40, crop_size=32, epochs=1, epochs_decay=1)
TINY_ARGS = ["--ngf", "4", "--ndf", "4", "--load-size", "40", "--crop-size", "32", "--epochs", "1", "--epochs-decay", "1"]


@pytest.fixture
def unaligned(tmp_path) -> Path:
    root = tmp_path / "horses"
    for sub, make in (("trainA", content_image), ("trainB", style_image)):
        (root / sub).mkdir(parents=True)
        for i in range(3):
            make((40, 40)).rotate(30 * i).save(root / sub / f"{i}.png")
    return root


@pytest.fixture
def aligned(tmp_path) -> Path:
    root = tmp_path / "facades"
    (root / "train").mkdir(parents=True)
    for i in range(3):
        ab = Image.new("RGB", (80, 40))
        ab.paste(content_image((40, 40)).rotate(30 * i), (0, 0))
        ab.paste(style_image((40, 40)).rotate(30 * i), (40, 0))
        ab.save(root / "train" / f"{i}.jpg")
    return root


def cyclegan(data, **changes) -> TrainSettings:
    return for_recipe("cyclegan", data=str(data), netG="resnet6", pool_size=2, **{**TINY, **changes})


def pix2pix(data, **changes) -> TrainSettings:
    return for_recipe("pix2pix", data=str(data), netG="unet128", load_size=160, crop_size=128,
                                  ngf=4, ndf=4, epochs=1, epochs_decay=1, **changes)  # fmt: skip


def weights(run: Path, name: str) -> dict[str, torch.Tensor]:
    return torch.load(run / f"latest_net_{name}.pth", weights_only=True)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6, rtol=0), k


def test_cyclegan_runs_and_writes_the_run_folder(unaligned, tmp_path):
    result = train(cyclegan(unaligned, max_steps=4), tmp_path / "run", device="cpu")
    run = tmp_path / "run"
    assert result.steps == 4 and result.stopped_early
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4] and [r["epoch"] for r in records] == [1, 1, 1, 2]
    for key in ("G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B", "lr", "images_per_second"):
        assert all(torch.isfinite(torch.tensor(r[key])) for r in records), key
    assert json.loads((run / "settings.json").read_text())["netG"] == "resnet6"
    assert (run / "samples" / "epoch_001.png").is_file()  # written at the end of epoch 1
    # 3 images across (the whole tiny dataset); 6 rows: A, G_A(A), G_B(G_A(A)), B, G_B(B), G_A(G_B(B))
    assert Image.open(run / "samples" / "epoch_001.png").size == (3 * 32, 6 * 32)
    for name in ("G_A", "G_B", "D_A", "D_B"):
        assert (run / f"latest_net_{name}.pth").is_file()
    assert (run / "checkpoints" / "latest.pt").is_file()


def test_pix2pix_runs_with_direction(aligned, tmp_path):
    result = train(pix2pix(aligned, direction="BtoA", max_steps=2), tmp_path / "run", device="cpu")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert result.steps == 2 and set(records[0]) >= {"G_GAN", "G_L1", "D"}
    assert all(torch.isfinite(torch.tensor([r["G_GAN"], r["G_L1"], r["D"]])).all() for r in records)
    assert (tmp_path / "run" / "latest_net_G.pth").is_file() and (tmp_path / "run" / "latest_net_D.pth").is_file()


@pytest.mark.parametrize("make", [cyclegan, pix2pix])
def test_resume_is_exact(make, request, tmp_path):
    data = request.getfixturevalue("unaligned" if make is cyclegan else "aligned")
    train(make(data, max_steps=5), tmp_path / "straight", device="cpu")
    train(make(data, max_steps=2), tmp_path / "stopped", device="cpu")
    train(make(data, max_steps=5), tmp_path / "stopped", device="cpu", resume=True)
    for name in ("G_A", "G_B", "D_A", "D_B") if make is cyclegan else ("G", "D"):
        assert_same_weights(weights(tmp_path / "straight", name), weights(tmp_path / "stopped", name))
    straight = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    resumed = (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()
    strip = lambda lines: [{k: v for k, v in json.loads(l).items() if k != "images_per_second"} for l in lines]  # noqa: E731
    assert strip(straight) == strip(resumed)


def test_exported_generator_loads_in_translate(unaligned, tmp_path):
    train(cyclegan(unaligned, max_steps=1), tmp_path / "run", device="cpu")
    content_image((50, 30)).save(tmp_path / "photo.png")
    model = tmp_path / "run" / "latest_net_G_A.pth"
    result = runner.invoke(app, ["translate", str(tmp_path / "photo.png"), "--model", str(model), "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == (50, 30)
    assert set(torch.load(model, weights_only=True)) == set(ResnetGenerator(3, 3, 6, ngf=4).state_dict())  # official layout


def test_diverging_loss_stops_with_the_last_good_checkpoint(unaligned, tmp_path, monkeypatch):
    from paintcli.training.recipes import CycleGAN

    real_step = CycleGAN.step
    calls = {"n": 0}

    def step(self, batch):
        calls["n"] += 1
        losses = real_step(self, batch)
        return {**losses, "G_A": float("nan")} if calls["n"] == 5 else losses

    monkeypatch.setattr(CycleGAN, "step", step)
    with pytest.raises(TrainingError, match=r"diverged at step 5 \(epoch 2\): G_A=nan; the last good checkpoint is .*latest.pt"):
        train(cyclegan(unaligned), tmp_path / "run", device="cpu")
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    assert state["step"] == 3  # the end of epoch 1, before the bad step


def test_cli_train_resume_and_refusals(unaligned, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "cyclegan", "--data", str(unaligned), "--netG", "resnet6", *TINY_ARGS]
    first = runner.invoke(app, [*args, "--max-steps", "2"])
    assert first.exit_code == 0, first.output
    run = Path("runs") / "horses_cyclegan"  # relative to the working folder, as given
    assert first.stdout.split() == [str(run / "latest_net_G_A.pth"), str(run / "latest_net_G_B.pth")]
    again = runner.invoke(app, [*args, "--max-steps", "2"])
    assert again.exit_code == 2 and "already holds a run" in again.stderr
    more = runner.invoke(app, ["train", "cyclegan", "--resume", str(run), "--max-steps", "3"])
    assert more.exit_code == 0, more.output
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
    changed = runner.invoke(app, ["train", "cyclegan", "--resume", str(run), "--lr", "0.1"])
    assert changed.exit_code == 2 and "cannot change lr when resuming" in changed.stderr
    wrong = runner.invoke(app, ["train", "pix2pix", "--resume", str(run)])
    assert wrong.exit_code == 2 and "is a cyclegan run" in wrong.stderr


def _break(root: Path, how: str) -> Path:
    if how == "missing trainB":
        for p in (root / "trainB").iterdir():
            p.unlink()
        (root / "trainB").rmdir()
    elif how == "empty folder":
        for p in (root / "trainA").iterdir():
            p.unlink()
    elif how == "unreadable image":
        (root / "trainA" / "9.png").write_text("not a png")
    return root


@pytest.mark.parametrize(
    "how, expected",
    [
        ("missing trainB", "has no trainB/ folder"),
        ("empty folder", "trainA holds no images"),
        ("unreadable image", "9.png is not a readable image"),
    ],
)
def test_bad_unaligned_layouts(unaligned, tmp_path, how, expected):
    _break(unaligned, how)
    result = runner.invoke(app, ["train", "cyclegan", "--data", str(unaligned), "--out", str(tmp_path / "run"), *TINY_ARGS])
    assert result.exit_code == 2 and expected in result.stderr, result.output
    assert not (tmp_path / "run").exists()  # refused before training started


def test_bad_aligned_layouts(aligned, tmp_path):
    Image.new("RGB", (81, 40)).save(aligned / "train" / "odd.png")
    result = runner.invoke(app, ["train", "pix2pix", "--data", str(aligned), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "81 pixels wide: an AB image needs an even width" in result.stderr
    result = runner.invoke(app, ["train", "pix2pix", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "is not a folder" in result.stderr
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    content_image((40, 40)).save(tmp_path / "a" / "x.png")
    content_image((40, 40)).save(tmp_path / "b" / "y.png")
    result = runner.invoke(app, ["train", "pix2pix", "--data-a", str(tmp_path / "a"), "--data-b", str(tmp_path / "b")])
    assert result.exit_code == 2 and "unmatched: x.png" in result.stderr


def test_two_processes_equal_one_process_on_the_combined_batch(unaligned, tmp_path):
    """--devices 2 (torchrun, gloo on CPU): both ranks agree (checked at every save) and match one
    process with twice the batch."""
    for sub, make in (("trainA", content_image), ("trainB", style_image)):  # 4 images: no sampler padding
        make((40, 40)).rotate(100).save(unaligned / sub / "3.png")
    env = {**os.environ, "PAINT_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    common = ["train", "cyclegan", "--data", str(unaligned), "--netG", "resnet6", "--pool-size", "0", *TINY_ARGS, "-q"]
    double = subprocess.run(
        [sys.executable, "-m", "paintcli", *common, "--batch-size", "1", "--devices", "2", "--out", str(tmp_path / "ddp"), "--max-steps", "2"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert double.returncode == 0, double.stderr[-3000:]
    single = runner.invoke(app, [*common, "--batch-size", "2", "--out", str(tmp_path / "one"), "--max-steps", "2"])
    assert single.exit_code == 0, single.output
    # Compare what the networks compute, not raw weights: conv biases that feed an InstanceNorm have
    # a true gradient of zero, so Adam's first steps move them by +-lr on float noise alone, and
    # they cannot change any output.
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for name in ("G_A", "G_B"):
        ddp_net, _ = load_generator(tmp_path / "ddp" / f"latest_net_{name}.pth")
        one_net, _ = load_generator(tmp_path / "one" / f"latest_net_{name}.pth")
        with torch.no_grad():
            assert torch.allclose(ddp_net(x), one_net(x), atol=1e-3), name  # 0.13 grey levels
    for name in ("D_A", "D_B"):
        nets = []
        for run in ("ddp", "one"):
            d = NLayerDiscriminator(3, 4, 3, norm="instance")
            d.load_state_dict(weights(tmp_path / run, name))
            nets.append(d)
        with torch.no_grad():
            assert torch.allclose(nets[0](x), nets[1](x), atol=1e-5), name
    settings = json.loads((tmp_path / "ddp" / "settings.json").read_text())
    assert settings["processes"] == 2


def test_a_dataset_name_is_downloaded_then_trained_on(http_server, monkeypatch, tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for sub, make in (("trainA", content_image), ("trainB", style_image)):
            for i in range(2):
                image = io.BytesIO()
                make((40, 40)).rotate(40 * i).save(image, format="PNG")
                zf.writestr(f"mini/{sub}/{i}.png", image.getvalue())
    http_server.add("/efrosgans.eecs.berkeley.edu/cyclegan/datasets/mini.zip", buffer.getvalue())
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "cyclegan", "mini", "--netG", "resnet6", *TINY_ARGS, "--max-steps", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cache" / "datasets" / "cyclegan" / "mini" / "trainA" / "0.png").is_file()
    assert (tmp_path / "runs" / "mini_cyclegan" / "latest_net_G_A.pth").is_file()


def test_stop_request_saves_latest_at_a_step_boundary(unaligned, tmp_path):
    import threading

    stop = threading.Event()

    def on_step(step):
        if step.step == 2:
            stop.set()  # what the CLI's Ctrl-C handler does

    result = train(cyclegan(unaligned), tmp_path / "run", device="cpu", on_step=on_step, stop=stop)
    assert result.stopped_early and result.steps == 2
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (2, 0, 2)


def test_a_complete_run_ends_its_last_epoch(unaligned, tmp_path):
    result = train(cyclegan(unaligned, save_every=5), tmp_path / "run", device="cpu")  # 2 epochs of 3 steps
    assert (result.steps, result.epochs_done, result.stopped_early) == (6, 2, False)
    assert (tmp_path / "run" / "samples" / "epoch_002.png").is_file()
    assert (tmp_path / "run" / "checkpoints" / "epoch_002.pt").is_file()  # the final epoch is always kept
    assert (tmp_path / "run" / "2_net_G_A.pth").is_file()
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert lrs == [2e-4] * 3 + [1e-4] * 3  # constant for --epochs 1, then linear decay over --epochs-decay 1


# --- one-pass style networks ---------------------------------------------------------------------------------


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos" / "nested"
    root.mkdir(parents=True)
    for i in range(3):
        content_image((48, 40)).rotate(25 * i).save(root / f"{i}.png")
    style_image((64, 64)).save(tmp_path / "painting.png")
    return tmp_path / "photos"


@pytest.fixture
def paintings(tmp_path) -> Path:
    root = tmp_path / "paintings"
    root.mkdir()
    for i in range(2):
        style_image((48, 48)).rotate(45 * i).save(root / f"{i}.png")
    return root


@pytest.fixture
def adain_encoder(tmp_path) -> Path:
    from paintcli.nets.adain import vgg_normalised

    torch.manual_seed(0)
    encoder = vgg_normalised()
    for p in encoder.parameters():
        torch.nn.init.normal_(p, 0.0, 0.1)
    torch.save(encoder.state_dict(), tmp_path / "vgg_normalised.pth")
    return tmp_path / "vgg_normalised.pth"


def fast_style(photos, **changes) -> TrainSettings:
    return for_recipe("fast-style", data=str(photos), style=str(photos.parent / "painting.png"),
                                  load_size=40, crop_size=32, batch_size=2, **changes)  # fmt: skip


def adain_cfg(photos, paintings, encoder, **changes) -> TrainSettings:
    return for_recipe("adain", content_dir=str(photos), style_dir=str(paintings), encoder=str(encoder),
                                  load_size=40, crop_size=32, batch_size=2, **changes)  # fmt: skip


def test_fast_style_trains_resumes_exactly_and_stylizes(photos, tmp_path):
    straight = train(fast_style(photos, max_steps=3), tmp_path / "a", device="cpu")
    train(fast_style(photos, max_steps=1), tmp_path / "b", device="cpu")
    train(fast_style(photos, max_steps=3), tmp_path / "b", device="cpu", resume=True)
    assert straight.exports == [tmp_path / "a" / "latest_net_transformer.pth"]
    assert_same_weights(weights(tmp_path / "a", "transformer"), weights(tmp_path / "b", "transformer"))
    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor([r["content"], r["style"]])).all() for r in records)
    content_image((40, 30)).save(tmp_path / "p.png")
    model = str(tmp_path / "a" / "latest_net_transformer.pth")
    result = runner.invoke(app, ["stylize", str(tmp_path / "p.png"), "--method", "fast", "--model", model, "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "o.png").size == (40, 30)


def test_fast_style_learns_the_style(photos, tmp_path):
    train(fast_style(photos, max_steps=24, epochs=30, lr=1e-2), tmp_path / "run", device="cpu")
    style = [json.loads(line)["style"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert min(style[-3:]) < style[0] / 2, style


def test_adain_trains_resumes_exactly_and_stylizes(photos, paintings, adain_encoder, tmp_path):
    cfg = adain_cfg(photos, paintings, adain_encoder, max_steps=3)
    train(cfg, tmp_path / "a", device="cpu")
    train(adain_cfg(photos, paintings, adain_encoder, max_steps=1), tmp_path / "b", device="cpu")
    train(cfg, tmp_path / "b", device="cpu", resume=True)
    assert_same_weights(weights(tmp_path / "a", "decoder"), weights(tmp_path / "b", "decoder"))
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert lrs == pytest.approx([1e-4 / (1 + 5e-5 * s) for s in (1, 2, 3)])  # the per-step decay (after each step)
    content_image((40, 30)).save(tmp_path / "p.png")
    result = runner.invoke(app, [
        "stylize", str(tmp_path / "p.png"), "--method", "adain", "-s", str(paintings / "0.png"), "--size", "40",
        "--encoder", str(adain_encoder), "--decoder", str(tmp_path / "a" / "latest_net_decoder.pth"), "-o", str(tmp_path / "o.png"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "o.png").size == (40, 30)


def test_style_training_commands_and_their_errors(photos, paintings, adain_encoder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    style = str(photos.parent / "painting.png")
    ok = runner.invoke(app, ["train", "fast-style", "--style", style, "--data", str(photos), "--load-size", "40",
                             "--crop-size", "32", "--max-steps", "1", "-q"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.split() == [str(Path("runs") / "painting_fast-style" / "latest_net_transformer.pth")]
    missing = runner.invoke(app, ["train", "fast-style", "--data", str(photos)])
    assert missing.exit_code == 2 and "needs --style" in missing.stderr
    ok = runner.invoke(app, ["train", "adain", "--content-dir", str(photos), "--style-dir", str(paintings), "--encoder",
                             str(adain_encoder), "--load-size", "40", "--crop-size", "32", "--max-steps", "1", "-q"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(app, ["train", "adain", "--content-dir", str(photos)])
    assert missing.exit_code == 2 and "needs --content-dir and --style-dir" in missing.stderr


def test_pairs_share_crop_and_flip_and_epochs_follow_the_official_length(tmp_path, unaligned):
    from paintcli.training.data import PairDataset, resolve_source

    root = tmp_path / "same"
    (root / "train").mkdir(parents=True)
    for i in range(4):
        half = content_image((40, 40)).rotate(20 * i)
        ab = Image.new("RGB", (80, 40))
        ab.paste(half, (0, 0))
        ab.paste(half, (40, 0))  # A and B identical: any difference would come from the augmentation
        ab.save(root / "train" / f"{i}.png")
    cfg = for_recipe("pix2pix", data=str(root), load_size=48, crop_size=32)
    dataset = PairDataset(resolve_source(cfg), cfg)
    crops = set()
    for epoch in range(3):
        dataset.set_epoch(epoch)
        for i in range(len(dataset)):
            item = dataset[i]
            assert torch.equal(item["A"], item["B"])  # the same crop and flip on both halves
            crops.add(item["A"].sum().item())
            again = dataset[i]
            assert torch.equal(again["A"], item["A"])  # and the same every time it is loaded
    assert len(crops) > 4  # crops and flips do vary between epochs
    (unaligned / "trainA" / "3.png").write_bytes((unaligned / "trainA" / "0.png").read_bytes())
    cfg = cyclegan(unaligned)
    assert len(PairDataset(resolve_source(cfg), cfg)) == 4  # max(|A|=4, |B|=3)


# settings.json exactly as paint wrote it before each recipe had its own settings (one 37-field
# TrainConfig for all; AdaIN's folders were data_a and data_b)
PREVIOUS_ADAIN_SETTINGS = {
    "recipe": "adain", "dataset": None, "data": None, "data_a": "PHOTOS", "data_b": "PAINTINGS", "direction": "AtoB",
    "load_size": 40, "crop_size": 32, "flip": False, "netG": "resnet9", "ngf": 64, "ndf": 64, "n_layers_D": 3,
    "norm": "instance", "dropout": False, "gan_loss": "lsgan", "lambda_cycle": 10.0, "lambda_identity": 0.5,
    "lambda_l1": 100.0, "pool_size": 50, "style": None, "content_weight": 1.0, "style_weight": 10.0,
    "backbone": "vgg19", "encoder": "ENCODER", "lr_decay": 5e-05, "epochs": 16, "epochs_decay": 0, "batch_size": 2,
    "lr": 0.0001, "beta1": 0.9, "beta2": 0.999, "seed": 0, "save_every": 1, "max_steps": 1, "workers": None,
    "precision": "auto", "paintcli": "0.1.0", "device": "cpu", "processes": 1, "torch": "2.14.1",
}  # fmt: skip


def test_a_run_folder_of_the_previous_version_resumes_exactly(photos, paintings, adain_encoder, tmp_path):
    train(adain_cfg(photos, paintings, adain_encoder, max_steps=1), tmp_path / "old", device="cpu")
    previous = {**PREVIOUS_ADAIN_SETTINGS, "data_a": str(photos), "data_b": str(paintings), "encoder": str(adain_encoder)}
    (tmp_path / "old" / "settings.json").write_text(json.dumps(previous))
    resumed = runner.invoke(app, ["train", "adain", "--resume", str(tmp_path / "old"), "--max-steps", "3", "-q"])
    assert resumed.exit_code == 0, resumed.output
    train(adain_cfg(photos, paintings, adain_encoder, max_steps=3), tmp_path / "straight", device="cpu")
    assert_same_weights(weights(tmp_path / "straight", "decoder"), weights(tmp_path / "old", "decoder"))


def test_each_recipe_shows_only_its_own_options_with_its_defaults():
    pix2pix_help = runner.invoke(app, ["train", "pix2pix", "--help"]).stdout
    assert "--lambda-l1" in pix2pix_help and "--lambda-cycle" not in pix2pix_help and "unet256" in pix2pix_help
    adain_help = runner.invoke(app, ["train", "adain", "--help"]).stdout
    assert "--content-dir" in adain_help and "--netG" not in adain_help and "5e-05" in adain_help


def test_resume_is_exact_with_compile_and_bf16(unaligned, tmp_path, monkeypatch):
    """--compile (traced by dynamo; the 'eager' backend skips code generation in tests) and bf16 autocast:
    still exact on resume, and the exports keep the official key layout."""
    monkeypatch.setenv("PAINT_COMPILE_BACKEND", "eager")
    options = dict(compile=True, precision="bf16")
    train(cyclegan(unaligned, max_steps=4, **options), tmp_path / "straight", device="cpu")
    train(cyclegan(unaligned, max_steps=2, **options), tmp_path / "stopped", device="cpu")
    train(cyclegan(unaligned, max_steps=4, **options), tmp_path / "stopped", device="cpu", resume=True)
    for name in ("G_A", "G_B", "D_A", "D_B"):
        assert_same_weights(weights(tmp_path / "straight", name), weights(tmp_path / "stopped", name))
    assert set(weights(tmp_path / "straight", "G_A")) == set(ResnetGenerator(3, 3, 6, ngf=4).state_dict())


def test_tensorboard_events_and_losses_png(aligned, tmp_path, monkeypatch):
    """A short pix2pix run with --tensorboard: the events hold every loss, lr, speed and the samples;
    losses.png is a picture."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.chdir(tmp_path)
    args = ["train", "pix2pix", "--data", str(aligned), "--netG", "unet128", "--load-size", "160", "--crop-size", "128",
            "--ngf", "4", "--ndf", "4", "--epochs", "1", "--epochs-decay", "1", "--tensorboard", "--out", "run"]  # fmt: skip
    result = runner.invoke(app, [*args, "--max-steps", "4"])
    assert result.exit_code == 0, result.output
    assert "tensorboard --logdir" in result.stderr
    events = EventAccumulator("run/tensorboard", size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    assert set(tags["scalars"]) == {"loss/G_GAN", "loss/G_L1", "loss/D", "lr", "images_per_second"}
    assert [e.step for e in events.Scalars("loss/G_L1")] == [1, 2, 3, 4]
    assert tags["images"] == ["samples"]  # the end of epoch 1 (3 pictures, batch 1: after step 3)
    with Image.open("run/losses.png") as plot:
        assert plot.format == "PNG" and plot.size[0] >= 400 and plot.size[1] >= 200
        plot.load()
    shown = json.loads(Path("run/metrics.jsonl").read_text().splitlines()[-1])
    assert shown["step"] == 4


def test_tensorboard_missing_is_a_one_line_error(aligned, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    result = runner.invoke(app, ["train", "pix2pix", "--data", str(aligned), "--tensorboard", "--max-steps", "1"])
    assert result.exit_code == 2 and 'pip install "paintcli[tensorboard]"' in result.stderr
    assert not Path("runs").exists()


def test_without_matplotlib_the_plot_is_skipped_with_one_line(aligned, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, ["train", "pix2pix", "--data", str(aligned), "--netG", "unet128", "--load-size", "160",
                                 "--crop-size", "128", "--ngf", "4", "--ndf", "4", "--max-steps", "2", "--out", "run"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.count("matplotlib is missing") == 1 and 'paintcli[plots]' in result.stderr
    assert Path("run/latest_net_G.pth").is_file() and not Path("run/losses.png").exists()


@pytest.mark.parametrize("recipe", ["cyclegan", "pix2pix", "fast-style", "adain"])
def test_train_help_shows_how_to_watch(recipe):
    shown = runner.invoke(app, ["train", recipe, "--help"], env={"COLUMNS": "200"}).output
    assert "--tensorboard" in shown and "losses.png" in shown and "paintcli[plots]" in shown
