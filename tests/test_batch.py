"""The one runner behind stylize, translate and dream: standard input and output, --skip-existing,
a bad picture among several, and batches shared among processes (torchrun, --devices)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from paintcli import functional as fn
from paintcli.cli import app
from paintcli.nets.generators import ResnetGenerator
from paintcli.nets.transformer_net import TransformerNet
from tests.fixtures import content_image, style_image

runner = CliRunner()


def _randomised(net: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    for name, p in net.named_parameters():
        torch.nn.init.normal_(p, 1.0 if (p.dim() == 1 and name.endswith("weight")) else 0.0, 0.05)
    return net


@pytest.fixture
def fast_model(tmp_path) -> Path:
    torch.save(_randomised(TransformerNet()).state_dict(), tmp_path / "style.pth")
    return tmp_path / "style.pth"


@pytest.fixture
def generator(tmp_path) -> Path:
    torch.save(_randomised(ResnetGenerator(3, 3, 2, ngf=8)).state_dict(), tmp_path / "gen.pth")
    return tmp_path / "gen.pth"


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(8):
        content_image((40 + 2 * i, 30)).rotate(7 * i).save(folder / f"p{i}.png")
    return folder


def png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def test_standard_input_to_standard_output(fast_model):
    result = runner.invoke(
        app, ["stylize", "-", "--method", "fast", "--model", str(fast_model), "-o", "-", "--json"],
        input=png_bytes(content_image((36, 28))),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert Image.open(io.BytesIO(result.stdout_bytes)).size == (36, 28)  # stdout holds the PNG and nothing else
    record = json.loads(result.stderr.strip().splitlines()[-1])  # the report went to stderr
    assert record["input"] == "-" and record["output"] == "-" and record["size"] == [36, 28]


def test_standard_input_with_nothing_piped_in_is_one_line(fast_model):
    result = runner.invoke(app, ["stylize", "-", "--method", "fast", "--model", str(fast_model)], input=b"")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "standard input is empty" in result.stderr


def test_skip_existing_paints_only_the_rest(photos, generator, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    Image.new("RGB", (8, 8)).save(out / "p3_gen.png")  # as if a killed run had written it
    result = runner.invoke(app, ["translate", str(photos), "-m", str(generator), "-o", str(out), "--skip-existing", "--json"])
    assert result.exit_code == 0, result.output
    written = [json.loads(line)["output"] for line in result.stdout.splitlines()]
    assert len(written) == 7 and str(out / "p3_gen.png") not in written
    assert Image.open(out / "p3_gen.png").size == (8, 8)  # left alone
    assert "skipping 1 output(s) that already exist" in result.stderr
    again = runner.invoke(app, ["translate", str(photos), "-m", str(generator), "-o", str(out), "--skip-existing"])
    assert again.exit_code == 0 and again.stdout == ""
    both = runner.invoke(app, ["translate", str(photos), "-m", str(generator), "-o", str(out), "--skip-existing", "--overwrite"])
    assert both.exit_code == 2 and "--overwrite and --skip-existing both given" in both.stderr


def test_a_bad_picture_among_several_is_one_line_and_the_others_go_on(photos, fast_model, tmp_path):
    (photos / "p2.png").write_bytes(b"not a picture")
    out = tmp_path / "out"
    result = runner.invoke(app, ["stylize", str(photos), "--method", "fast", "--model", str(fast_model), "-o", str(out)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 2 and "p2.png is not an image" in errors[0]
    assert "1 of 8 pictures failed" in errors[1]
    assert sorted(p.name for p in out.iterdir()) == [f"p{i}_stylized.png" for i in range(8) if i != 2]
    assert "Traceback" not in result.output


def test_an_option_of_another_method_is_refused(images):
    content, style = images
    result = runner.invoke(app, ["stylize", str(content), "-s", str(style), "--alpha", "0.5"])
    assert result.exit_code == 2
    assert "--alpha is an option of --method adain, not gatys" in result.stderr


def _run_sharded(args: list[str], launcher: str) -> list[dict]:
    env = {**os.environ, "PAINT_DEVICE": "cpu"}
    prefix = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "paintcli"]
    command = prefix + args if launcher == "torchrun" else [sys.executable, "-m", "paintcli", *args, "--devices", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("command", ["translate", "fast"])
def test_two_processes_write_each_output_once_as_one_process_would(command, photos, fast_model, generator, tmp_path):
    """torchrun --nproc-per-node 2 (gloo, CPU) on 8 pictures: 8 outputs, each written by one process,
    equal to a single process's; run again with --skip-existing (through --devices 2), nothing is written."""
    model = ["translate", str(photos), "-m", str(generator)] if command == "translate" else \
        ["stylize", str(photos), "--method", "fast", "--model", str(fast_model)]  # fmt: skip
    records = _run_sharded([*model, "-o", str(tmp_path / "two"), "--json", "-q"], "torchrun")
    outputs = sorted(r["output"] for r in records)
    assert len(outputs) == 8 and len(set(outputs)) == 8
    single = runner.invoke(app, [*model, "-o", str(tmp_path / "one"), "-q"])
    assert single.exit_code == 0, single.output
    for path in (tmp_path / "one").iterdir():
        a, b = fn.to_tensor(Image.open(path)), fn.to_tensor(Image.open(tmp_path / "two" / path.name))
        assert (a - b).abs().max() * 255 <= 1.01, path.name  # one grey level (thread counts differ)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "two").iterdir()}
    assert _run_sharded([*model, "-o", str(tmp_path / "two"), "--json", "-q", "--skip-existing"], "devices") == []
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "two").iterdir()} == stamps


def test_dream_reads_standard_input_and_writes_a_file(tmp_path):
    result = runner.invoke(
        app, ["dream", "-", "--size", "40", "--octaves", "1", "--steps", "1", "-o", str(tmp_path / "d.png")],
        input=png_bytes(style_image((48, 48))),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "d.png").size == (40, 40)
