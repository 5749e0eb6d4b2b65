"""The `paint` command through Typer's runner: outputs written, summaries printed, bad input refused."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from paintcli import __version__, registry
from paintcli.cli import app
from tests.fixtures import content_image, style_image

runner = CliRunner()
FAST = ["--size", "32", "--iterations", "3"]
# A GPU this machine does not have: `cuda` where there is none, else one index past the last.
UNAVAILABLE_GPU = (
    (f"cuda:{torch.cuda.device_count()}", "does not exist") if torch.cuda.is_available()
    else ("cuda", "device 'cuda' is not available")
)  # fmt: skip


def paint(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def error_line(result) -> str:
    """The error output must be exactly one line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_help_lists_the_subcommands():
    result = paint("--help")
    assert result.exit_code == 0
    for name in ("stylize", "translate", "train", "download"):
        assert name in result.stdout


def test_version():
    result = paint("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"paint {__version__}"


def test_stylize_writes_the_derived_output_and_a_summary(images):
    content, style = images
    result = paint("stylize", content, "--style", style, *FAST)
    assert result.exit_code == 0, result.output
    out = content.with_name("content_stylized.png")
    assert Image.open(out).size == (32, 24)
    assert str(out) in result.stdout and "32x24" in result.stdout and "cpu" in result.stdout


def test_stylize_json_reports_every_field(images, tmp_path):
    content, style = images
    out = tmp_path / "art.jpg"
    result = paint("stylize", content, "-s", style, "-o", out, "--json", *FAST)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["output"] == str(out) and record["input"] == str(content)
    assert record["size"] == [32, 24] and record["iterations"] == 3 and record["device"] == "cpu"
    for key in ("seconds", "content_loss", "style_loss", "tv_loss"):
        assert isinstance(record[key], float)
    assert Image.open(out).format == "JPEG"


def test_several_inputs_and_a_folder_go_to_an_output_folder(tmp_path, images):
    _, style = images
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a", "b"):
        content_image().save(photos / f"{name}.png")
    (photos / "notes.txt").write_text("not an image, not picked up")
    extra = tmp_path / "c.jpg"
    content_image().save(extra)
    result = paint("stylize", photos, extra, "-s", style, "-o", tmp_path / "out", "--json", *FAST)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_stylized.png",
        "b_stylized.png",
        "c_stylized.png",
    ]
    assert len(result.stdout.strip().splitlines()) == 3


def test_existing_output_is_not_overwritten_without_the_flag(images):
    content, style = images
    out = content.with_name("content_stylized.png")
    out.write_bytes(b"precious")
    result = paint("stylize", content, "-s", style, *FAST)
    assert result.exit_code == 2
    assert "already exists" in error_line(result) and "--overwrite" in result.stderr
    assert out.read_bytes() == b"precious"
    assert paint("stylize", content, "-s", style, "--overwrite", *FAST).exit_code == 0
    assert Image.open(out).size == (32, 24)


def test_save_every_writes_intermediate_images(images, tmp_path):
    content, style = images
    out = tmp_path / "o.png"
    result = paint("stylize", content, "-s", style, "-o", out, "--save-every", "2", "--size", "32", "--iterations", "4")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("o")) == [
        "o.png",
        "o_s1_0002.png",
        "o_s1_0004.png",
    ]


def test_scales_and_options_reach_the_engine(images, tmp_path):
    content, style = images
    out = tmp_path / "o.png"
    result = paint(
        "stylize", content, "-s", style, "-s", style, "--style-blend", "0.7,0.3", "--scales", "24,40",
        "--iterations", "2", "--optimizer", "adam", "--style-layer-weights", "decay:0.5", "--init", "noise",
        "--seed", "1", "--preserve-colors", "--style-scale", "1.5", "-o", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["size"] == [40, 30] and record["iterations"] == 4


def _truncated_jpeg(path):
    content_image((256, 192)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "setup, extra, expected",
    [
        (lambda d: None, [], "does not exist"),
        (lambda d: (d / "in.png").write_text("hello"), [], "not an image"),
        (lambda d: _truncated_jpeg(d / "in.png"), [], "truncated or corrupt"),
        (lambda d: Image.new("RGB", (1, 1)).save(d / "in.png"), [], "only 1x1 pixels"),
        (lambda d: content_image().save(d / "in.png"), ["--size", "20000"], "over the 16.8 MP limit"),
        (lambda d: content_image().save(d / "in.png"), ["--style-layers", "relu1_1,relu6_1"], "unknown VGG19 layer 'relu6_1'"),
        (lambda d: content_image().save(d / "in.png"), ["--style-weight", "-5"], "--style-weight must not be negative"),
        (lambda d: content_image().save(d / "in.png"), ["--tv-weight", "-1"], "--tv-weight must not be negative"),
        (lambda d: content_image().save(d / "in.png"), ["--style-blend", "1,2"], "2 weights for 1 style image"),
        (lambda d: content_image().save(d / "in.png"), ["--device", UNAVAILABLE_GPU[0]], UNAVAILABLE_GPU[1]),
        (lambda d: content_image().save(d / "in.png"), ["--device", "tpu"], "unknown device 'tpu'"),
        (lambda d: content_image().save(d / "in.png"), ["--init", "nowhere.png"], "--init 'nowhere.png'"),
        (lambda d: content_image().save(d / "in.png"), ["--backbone", "vgg16"], "unknown backbone"),
        (lambda d: content_image().save(d / "in.png"), ["-o", "out.gif2"], "unknown image type"),
        (lambda d: content_image().save(d / "in.png"), ["--style-scale", "0.2"], "a style image would be 6x6 pixels"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, setup, extra, expected):
    monkeypatch.chdir(tmp_path)
    style_image().save(tmp_path / "style.png")
    setup(tmp_path)
    before = set(tmp_path.iterdir())
    result = paint("stylize", "in.png", "-s", "style.png", *FAST, *extra)
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert line.startswith("Error: ") and expected in line
    assert set(tmp_path.iterdir()) == before  # no output, no temporary file


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = paint("--debug", "stylize", "missing.png", "-s", "missing.png")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_ctrl_c_saves_the_image_so_far(images, tmp_path, monkeypatch):
    from paintcli.engines import gatys_scale

    real_losses = gatys_scale.Objective.losses
    calls = {"n": 0}

    def interrupting_losses(self, image):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_losses(self, image)

    monkeypatch.setattr(gatys_scale.Objective, "losses", interrupting_losses)
    content, style = images
    out = tmp_path / "o.png"
    result = paint("stylize", content, "-s", style, "-o", out, "--size", "32", "--iterations", "50")
    assert result.exit_code == 130
    assert "saved the image so far" in result.stderr
    assert Image.open(out).size == (32, 24)


# --- download ---------------------------------------------------------------------------------------------


def test_download_list_shows_names_sizes_and_cache_state():
    result = paint("download", "--list")
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "bundled" in rows["vgg19"] and "20.1 MB" in rows["vgg19"]
    assert rows["vgg19-torchvision"].split()[4] == "no" and "574.7 MB" in rows["vgg19-torchvision"]


def test_download_unknown_name_suggests_one():
    result = paint("download", "vgg91")
    assert result.exit_code == 2
    assert "unknown name 'vgg91'" in error_line(result) and "did you mean 'vgg19'" in result.stderr


def test_download_offline_names_the_file_the_place_and_the_url():
    result = paint("download", "vgg19-torchvision")
    assert result.exit_code == 2
    line = error_line(result)
    assert "vgg19-dcbb9e9d.pth" in line and "PAINT_OFFLINE=1" in line
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in line


def test_download_fetches_through_the_mirror_and_prints_the_path(http_server, monkeypatch, tmp_path):
    data = b"weights" * 1000
    entry = registry.Entry(
        name="tiny", kind="weights", description="t", filename="tiny.bin",
        urls=("https://example.org/files/tiny.bin",), size=len(data), sha256=http_server.sha256(data),
    )  # fmt: skip
    monkeypatch.setitem(registry.ENTRIES, "tiny", entry)
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base + "/m/")
    http_server.add("/m/example.org/files/tiny.bin", data)
    result = paint("download", "tiny", "--quiet")
    assert result.exit_code == 0, result.output
    path = tmp_path / "cache" / "weights" / "tiny.bin"
    assert result.stdout.strip() == str(path) and path.read_bytes() == data
    listing = paint("download", "--list").stdout
    assert any(line.split()[:1] == ["tiny"] and "yes" in line.split() for line in listing.splitlines())


def test_python_m_paintcli_runs_the_same_app():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "paintcli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"paint {__version__}"


def test_torchvision_backbone_is_downloaded_on_first_use(images, http_server, monkeypatch, tmp_path):
    """--backbone vgg19-torchvision fetches the file (here a small stand-in in torchvision's layout)."""
    import dataclasses
    import hashlib
    import io

    import torch
    import torchvision

    layers = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])  # vgg19's own `features`
    features = {f"features.{k}": v for k, v in layers.state_dict().items() if k.split(".")[0] in {"0", "2", "5"}}
    buffer = io.BytesIO()
    torch.save(features, buffer)
    data = buffer.getvalue()
    prefix = hashlib.sha256(data).hexdigest()[:8]
    real = registry.get("vgg19-torchvision")
    stand_in = dataclasses.replace(real, filename=f"vgg19-{prefix}.pth", size=len(data), sha256_prefix=prefix)
    monkeypatch.setitem(registry.ENTRIES, "vgg19-torchvision", stand_in)
    monkeypatch.delenv("PAINT_OFFLINE")
    monkeypatch.setenv("PAINT_MIRROR", http_server.base)
    http_server.add("/download.pytorch.org/models/vgg19-dcbb9e9d.pth", data)

    content, style = images
    args = ["stylize", content, "-s", style, "--backbone", "vgg19-torchvision", "--content-layers", "relu2_1",
            "--style-layers", "relu1_1,relu2_1", "-o", tmp_path / "tv.png", *FAST]  # fmt: skip
    result = paint(*args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cache" / "weights" / stand_in.filename).stat().st_size == len(data)
    assert Image.open(tmp_path / "tv.png").size == (32, 24)
    assert len(http_server.requests) == 1
    assert paint(*args, "--overwrite").exit_code == 0 and len(http_server.requests) == 1  # cached now


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_neither_torch_nor_the_downloader(args):
    import subprocess
    import sys

    code = (
        "import sys\nfrom paintcli.cli import main\nsys.argv = ['paint', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'requests', 'filelock') if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"
    assert "paint" in out.stdout


def test_the_first_message_names_the_schedule_and_json_counts_evaluations(images, tmp_path):
    content, style = images
    result = paint("stylize", content, "-s", style, "--size", "48", "--tol", "0.5", "-o", tmp_path / "o.png", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "gatys: 48 px, 300 evaluations (each scale stops early when done, --tol 0 runs them all)"
    record = json.loads(result.stdout)
    assert record["schedule"] == [[48, 300]] and record["evaluations"][0] < 300 == record["schedule"][0][1]
    assert record["iterations"] == sum(record["evaluations"])


def test_no_coarse_losses_reaches_the_run_and_is_refused_for_other_methods(images, tmp_path):
    from paintcli.cli.stylize import gatys

    options = {name: None for name in gatys.OPTIONS} | dict(
        tol=0.001, coarse_losses=False, tv_weight=0.001, content_layers="relu4_2", style_layers="relu1_1",
        style_layer_weights="equal", optimizer="lbfgs", init="content", style_scale=1.0, backbone="vgg19", save_every=0, precision="auto",
    )  # fmt: skip
    assert gatys.config(None, None, False, **options).coarse_losses is False
    content, style = images
    result = paint("stylize", content, "-s", "starry", "--no-coarse-losses", "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "--coarse-losses is an option of --method gatys" in result.stderr
