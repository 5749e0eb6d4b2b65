"""The training loop shared by the recipes, readable top to bottom.

A run folder holds everything about one training run:
    settings.json           the resolved TrainConfig (and how it ran)
    metrics.jsonl           one line per step: step, epoch, every loss, learning rate, images per second
    samples/epoch_NNN.png   a grid each epoch (CycleGAN: input, translation, reconstruction; pix2pix:
                            input, output, target)
    checkpoints/latest.pt   everything needed to continue exactly: networks, optimisers, schedulers,
                            image pools, counters and random states; written atomically
    checkpoints/epoch_NNN.pt   every --save-every epochs
    latest_net_G_A.pth ...  the networks in the official layout (for `paint translate` and test.py)
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from paintcli import __version__, checkpoints, device as devices, functional as fn
from paintcli.config import TrainConfig
from paintcli.errors import PaintError
from paintcli.training import distributed
from paintcli.training.distributed import unwrap
from paintcli.training.data import PairDataset, resolve_source
from paintcli.training.recipes import CycleGAN, Pix2Pix, Recipe
from paintcli.training.style_recipes import AdaINTrainer, FastStyle

CHECKPOINT_FORMAT = "paintcli.train/1"
RECIPES = {"cyclegan": CycleGAN, "pix2pix": Pix2Pix, "fast-style": FastStyle, "adain": AdaINTrainer}


class TrainingError(PaintError):
    """Training cannot go on (a diverged loss, an unusable run folder)."""


@dataclass(frozen=True)
class TrainStep:
    """Progress after one optimisation step."""

    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based, over the whole run
    steps: int  # in the whole run (or --max-steps)
    losses: dict[str, float]
    lr: float
    images_per_second: float


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    steps: int
    epochs_done: int
    stopped_early: bool  # interrupted or --max-steps
    exports: list[Path]


def train(
    cfg: TrainConfig,
    run_dir: str | os.PathLike[str],
    *,
    device: torch.device | str | None = None,
    resume: bool = False,
    on_step: Callable[[TrainStep], None] | None = None,
    stop: threading.Event | None = None,
    download_progress=None,
) -> TrainResult:
    """Train `cfg.recipe` into `run_dir`; continue a stopped run exactly with `resume=True`."""
    run_dir = Path(run_dir)
    device = devices.resolve(device)
    world = distributed.setup(device)
    try:
        with devices.fast_math(device):  # TF32 and cuDNN autotuning on CUDA; nothing elsewhere
            return _Run(cfg, run_dir, device, world, resume, on_step, stop, download_progress).go()
    finally:
        distributed.teardown(world)


class _Run:
    def __init__(self, cfg, run_dir, device, world, resume, on_step, stop, download_progress):
        self.cfg, self.run_dir, self.device, self.world = cfg.validate(), run_dir, device, world
        self.on_step, self.stop = on_step, stop or threading.Event()
        source = resolve_source(cfg, progress=download_progress)
        self.dataset = PairDataset(source, cfg)
        self.sampler = DistributedSampler(self.dataset, num_replicas=world.size, rank=world.rank, shuffle=True, seed=cfg.seed)
        self.batches_per_epoch = math.ceil(len(self.sampler) / cfg.batch_size)
        self.recipe: Recipe = RECIPES[cfg.recipe](cfg, device, autocast=_autocast(cfg, device))
        if device.type == "cuda":  # NHWC convolutions are faster on tensor cores
            for net in self.recipe.nets.values():
                net.to(memory_format=torch.channels_last)
        self.schedulers = {name: _schedule(opt, cfg) for name, opt in self.recipe.optimizers.items()}
        self.per_step_schedule = cfg.lr_decay > 0
        self.epoch = self.step = self.batch_in_epoch = 0
        if resume:
            self._load(self.run_dir / "checkpoints" / "latest.pt")
        self._distribute()
        self.sample_batch = _fixed_batch(source, cfg, device)

    # --- the loop --------------------------------------------------------------------------------------------

    def go(self) -> TrainResult:
        cfg = self.cfg
        if self.world.main:
            self._write_settings()
        total_steps = cfg.total_epochs * self.batches_per_epoch
        if cfg.max_steps is not None:
            total_steps = min(total_steps, cfg.max_steps)
        stopped = False
        while self.epoch < cfg.total_epochs and not stopped:
            for batch in self._batches():
                started = time.perf_counter()
                losses = self.recipe.step(batch)
                if distributed.any_true(not all(map(math.isfinite, losses.values())), self.world, self.device):
                    self._diverged(losses)
                self.step += 1
                self.batch_in_epoch += 1
                if self.per_step_schedule:
                    for scheduler in self.schedulers.values():
                        scheduler.step()
                rate = len(batch["A"]) * self.world.size / (time.perf_counter() - started)
                self._report(losses, rate, total_steps)
                reached_max = cfg.max_steps is not None and self.step >= cfg.max_steps
                if reached_max or distributed.any_true(self.stop.is_set(), self.world, self.device):
                    stopped = True
                    break
            else:
                self._end_epoch()
        if stopped:
            self._save(numbered=False)
        return TrainResult(self.run_dir, self.step, self.epoch, stopped, self._exports())

    def _batches(self):
        """This epoch's batches for this process, skipping those done before a resume."""
        self.dataset.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        indices = list(self.sampler)[self.batch_in_epoch * self.cfg.batch_size :]
        loader = DataLoader(
            self.dataset, batch_size=self.cfg.batch_size, sampler=indices, num_workers=_workers(self.cfg, self.device),
            pin_memory=self.device.type == "cuda", generator=torch.Generator(),  # keeps the global RNG untouched
        )  # fmt: skip
        for batch in loader:
            yield {k: _to_device(v, self.device) for k, v in batch.items()}

    def _end_epoch(self) -> None:
        if not self.per_step_schedule:
            for scheduler in self.schedulers.values():
                scheduler.step()
        self.epoch += 1
        self.batch_in_epoch = 0
        numbered = self.epoch % self.cfg.save_every == 0 or self.epoch == self.cfg.total_epochs
        self._save(numbered=numbered)
        if self.world.main:
            self._write_samples()

    def _report(self, losses: dict[str, float], rate: float, total_steps: int) -> None:
        if not self.world.main:
            return
        lr = self.recipe.optimizers["G"].param_groups[0]["lr"]
        record = {"step": self.step, "epoch": self.epoch + 1, **losses, "lr": lr, "images_per_second": round(rate, 3)}
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.on_step is not None:
            self.on_step(TrainStep(self.epoch + 1, self.cfg.total_epochs, self.step, total_steps, losses, lr, rate))

    def _diverged(self, losses: dict[str, float]) -> None:
        bad = ", ".join(f"{k}={v}" for k, v in losses.items() if not math.isfinite(v))
        latest = self.run_dir / "checkpoints" / "latest.pt"
        kept = f"the last good checkpoint is {latest}" if latest.exists() else "no checkpoint was written yet"
        raise TrainingError(
            f"training diverged at step {self.step + 1} (epoch {self.epoch + 1}): {bad}; {kept}",
            "lower --lr, or resume from the checkpoint with --resume",
        )

    # --- saving and loading --------------------------------------------------------------------------------------

    def _state(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "paintcli": __version__,
            "config": asdict(self.cfg),
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": self.batch_in_epoch,
            "nets": {k: unwrap(v).state_dict() for k, v in self.recipe.nets.items()},
            "optimizers": {k: v.state_dict() for k, v in self.recipe.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "pools": {k: v.state_dict() for k, v in self.recipe.pools.items()},
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def _save(self, *, numbered: bool) -> None:
        self._check_ranks_agree()
        if self.world.main:
            folder = self.run_dir / "checkpoints"
            folder.mkdir(parents=True, exist_ok=True)
            state = self._state()
            checkpoints.save(state, folder / "latest.pt")
            if numbered:
                checkpoints.save(state, folder / f"epoch_{self.epoch:03d}.pt")
            for name, net in self.recipe.nets.items():  # the official layout, bare state dicts
                checkpoints.save(unwrap(net).state_dict(), self.run_dir / f"latest_net_{name}.pth")
                if numbered:
                    checkpoints.save(unwrap(net).state_dict(), self.run_dir / f"{self.epoch}_net_{name}.pth")
        distributed.barrier(self.world)

    def _check_ranks_agree(self) -> None:
        """Every process must hold the same weights; anything else is a bug worth stopping for."""
        if not self.world.distributed:
            return
        params = [p.detach().double().sum() for net in self.recipe.nets.values() for p in net.parameters()]
        mine = torch.stack(params)
        gathered = [torch.zeros_like(mine) for _ in range(self.world.size)]
        torch.distributed.all_gather(gathered, mine)
        if any(not torch.equal(g, gathered[0]) for g in gathered):
            raise TrainingError("the training processes hold different weights", "report this as a bug, with settings.json")

    def _load(self, path: Path) -> None:
        if not path.is_file():
            raise TrainingError(f"{path} does not exist, so there is nothing to resume", "check the run folder, or start a new run")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("format") != CHECKPOINT_FORMAT:
            raise TrainingError(f"{path} is not a paintcli training checkpoint", "resume from a run folder made by paint train")
        for name, net in self.recipe.nets.items():
            net.load_state_dict(state["nets"][name])
        for name, opt in self.recipe.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        for name, pool in self.recipe.pools.items():
            pool.load_state_dict(state["pools"][name], self.device)
        self.epoch, self.step, self.batch_in_epoch = state["epoch"], state["step"], state["batch_in_epoch"]
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def _distribute(self) -> None:
        """Wrap the networks for multi-process training (after loading, so every rank starts alike)."""
        if not self.world.distributed:
            return
        for name, net in self.recipe.nets.items():
            if self.device.type == "cuda":
                net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)  # batch statistics over all ranks
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.recipe.nets[name] = DistributedDataParallel(net, device_ids=ids, broadcast_buffers=False)

    def _write_settings(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            **asdict(self.cfg), "paintcli": __version__, "device": devices.describe(self.device),
            "processes": self.world.size, "torch": torch.__version__,
        }  # fmt: skip
        (self.run_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")

    def _write_samples(self) -> None:
        with torch.random.fork_rng(devices=[]):  # samples must not change the training's random stream
            rows = self.recipe.samples(self.sample_batch)
        grid = torch.cat([torch.cat(list(row), dim=2) for row in rows], dim=1)  # rows down, batch across
        folder = self.run_dir / "samples"
        folder.mkdir(exist_ok=True)
        fn.to_pil(((grid + 1) / 2)[None].float()).save(folder / f"epoch_{self.epoch:03d}.png")

    def _exports(self) -> list[Path]:
        return [self.run_dir / f"latest_net_{name}.pth" for name in self.recipe.generators]


# --- helpers -----------------------------------------------------------------------------------------------


def _schedule(optimizer, cfg: TrainConfig):
    """Per step 1 / (1 + lr_decay * step) when lr_decay is set (AdaIN); otherwise per epoch constant
    for cfg.epochs, then linear towards zero over cfg.epochs_decay (the official 'linear' policy)."""
    if cfg.lr_decay > 0:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1.0 + cfg.lr_decay * step))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: 1.0 - max(0, epoch + 1 - cfg.epochs) / float(cfg.epochs_decay + 1)
    )


def _autocast(cfg: TrainConfig, device: torch.device):
    use_bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    if not use_bf16:
        return nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _workers(cfg: TrainConfig, device: torch.device) -> int:
    if cfg.workers is not None:
        return cfg.workers
    cpus = os.cpu_count() or 1
    # On a GPU the data must keep up; on a CPU the cores are better spent on the networks.
    return min(8, cpus) if device.type == "cuda" else min(2, cpus // 4)


def _to_device(value, device: torch.device):
    if not isinstance(value, torch.Tensor) or value.dim() != 4:
        return value
    value = value.to(device, non_blocking=True)
    return value.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else value


def _fixed_batch(source, cfg: TrainConfig, device: torch.device) -> dict:
    """The first few pairs, centre-sized without augmentation: the same sample grid every epoch."""
    dataset = PairDataset(source, cfg, augment=False)
    items = [dataset[i] for i in range(min(4, len(dataset)))]
    return {k: torch.stack([it[k] for it in items]).to(device) for k in ("A", "B") if k in items[0]}
