"""A training run's folder: everything about one run, written so that nothing is ever half there.

    settings.json           the resolved settings (and how it ran)
    metrics.jsonl           one line per step: step, epoch, every loss, learning rate, images per second
    losses.png              the loss curves, redrawn at every save (with matplotlib: the plots extra)
    tensorboard/            with --tensorboard: the same scalars and each epoch's samples (watch.py)
    samples/epoch_NNN.png   a grid each epoch (CycleGAN: input, translation, reconstruction; pix2pix:
                            input, output, target)
    checkpoints/latest.pt   everything needed to continue exactly: networks, optimisers, schedulers,
                            image pools, counters and random states
    checkpoints/epoch_NNN.pt   every --save-every epochs
    latest_net_G_A.pth ...  the networks in the official layout (for `paint translate` and test.py),
                            and N_net_G_A.pth for the numbered epochs
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from paintcli import __version__, checkpoints, functional as fn, imageio
from paintcli.atomic import write_bytes
from paintcli.errors import PaintError

CHECKPOINT_FORMAT = "paintcli.train/1"


class TrainingError(PaintError):
    """Training cannot go on (a diverged loss, an unusable run folder)."""


class RunFolder:
    def __init__(self, path: Path):
        self.path = path
        self.latest = path / "checkpoints" / "latest.pt"

    def write_settings(self, settings: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_bytes(self.path / "settings.json", (json.dumps({**settings, "paintcli": __version__}, indent=2) + "\n").encode())

    def append_metrics(self, records: list[dict]) -> None:
        with open(self.metrics, "a") as f:
            f.writelines(json.dumps(record) + "\n" for record in records)

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    def write_samples(self, epoch: int, grid: torch.Tensor) -> Path:
        """The sample grid of one epoch, (3, H, W) in [0, 1] (see sample_grid)."""
        folder = self.path / "samples"
        folder.mkdir(exist_ok=True)
        return imageio.save_image(fn.to_pil(grid[None].float()), folder / f"epoch_{epoch:03d}.png")

    def save(self, state: dict, nets: dict[str, torch.nn.Module], epoch: int, *, numbered: bool) -> None:
        """The checkpoint for resuming, and every network alone in the official layout (bare state dicts)."""
        self.latest.parent.mkdir(parents=True, exist_ok=True)
        state = {"format": CHECKPOINT_FORMAT, "paintcli": __version__, **state}
        checkpoints.save(state, self.latest)
        if numbered:
            checkpoints.save(state, self.latest.with_name(f"epoch_{epoch:03d}.pt"))
        for name, net in nets.items():
            checkpoints.save(net.state_dict(), self.path / f"latest_net_{name}.pth")
            if numbered:
                checkpoints.save(net.state_dict(), self.path / f"{epoch}_net_{name}.pth")

    def load(self) -> dict:
        if not self.latest.is_file():
            raise TrainingError(f"{self.latest} does not exist, so there is nothing to resume", "check the run folder, or start a new run")
        state = torch.load(self.latest, map_location="cpu", weights_only=True)
        if state.get("format") != CHECKPOINT_FORMAT:
            raise TrainingError(f"{self.latest} is not a paintcli training checkpoint", "resume from a run folder made by paint train")
        return state

    def exports(self, names: tuple[str, ...]) -> list[Path]:
        return [self.path / f"latest_net_{name}.pth" for name in names]

    def last_good(self) -> str:
        return f"the last good checkpoint is {self.latest}" if self.latest.exists() else "no checkpoint was written yet"


def sample_grid(rows: list[torch.Tensor]) -> torch.Tensor:
    """`rows` of images in [-1, 1] (one row per tensor, its batch across) as one (3, H, W) picture in [0, 1]."""
    grid = torch.cat([torch.cat(list(row), dim=2) for row in rows], dim=1)
    return ((grid + 1) / 2).clamp(0, 1)
