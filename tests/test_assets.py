"""Opt-in checks on real pictures and datasets (../shared/assets), skipped unless PAINT_ASSETS is set:

    PAINT_ASSETS=../shared/assets python -m pytest -q -m assets
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from paintcli import GatysConfig
from paintcli.cli import app
from paintcli.engines.gatys import GatysStylizer
from paintcli.nets.generators import UnetGenerator

ASSETS = Path(os.environ["PAINT_ASSETS"]) if os.environ.get("PAINT_ASSETS") else None
pytestmark = [pytest.mark.assets, pytest.mark.skipif(ASSETS is None, reason="set PAINT_ASSETS to the shared assets folder")]
runner = CliRunner()


def test_real_painting_style_loss_falls():
    events = []
    config = GatysConfig(size=96, iterations=40, seed=0)
    images = ASSETS / "images"
    result = GatysStylizer(config).run(images / "content" / "tubingen.jpg", images / "style" / "starry_night.jpg", on_event=events.append)
    assert events[-1].style_loss < events[0].style_loss / 20
    assert result.image.size == (96, 72)


def test_translate_real_facades_pairs(tmp_path):
    torch.save(UnetGenerator(3, 3, 8, ngf=8, norm="batch").state_dict(), tmp_path / "g.pth")
    pattern = str(ASSETS / "datasets" / "facades" / "val" / "1?.jpg")
    result = runner.invoke(app, ["translate", pattern, "-m", str(tmp_path / "g.pth"), "--direction", "BtoA", "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 10 and all(r["size"] == [256, 256] for r in records)


def test_train_on_the_small_monet_set(tmp_path):
    data = ASSETS / "datasets" / "monet2photo_small"
    result = runner.invoke(app, ["train", "cyclegan", "--data", str(data), "--netG", "resnet6", "--ngf", "8", "--ndf", "8",
                                 "--load-size", "72", "--crop-size", "64", "--max-steps", "3", "--out", str(tmp_path / "run"), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "latest_net_G_A.pth").is_file()
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 3
