"""The training loop shared by the recipes, readable top to bottom.

Each step's losses stay on the device as tensors; they are read (one host sync) when the steps are
logged: after every step on a CPU, where reading costs nothing, every LOG_EVERY steps on a GPU, and
always before a checkpoint is written. metrics.jsonl still gets one exact line per step. What the
run folder holds is described in run_folder.py.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from paintcli import device as devices
from paintcli.training import distributed
from paintcli.training.data import EpochSampler, PairDataset, resolve_source
from paintcli.training.distributed import unwrap
from paintcli.training.recipes import CycleGAN, Pix2Pix, Recipe
from paintcli.training.run_folder import RunFolder, TrainingError, sample_grid
from paintcli.training.settings import TrainSettings
from paintcli.training.style_recipes import AdaINTrainer, FastStyle
from paintcli.training.watch import TensorBoardLog, plot_losses

RECIPES = {"cyclegan": CycleGAN, "pix2pix": Pix2Pix, "fast-style": FastStyle, "adain": AdaINTrainer}
LOG_EVERY = {"cpu": 1}  # steps between reads of the losses, by device type; others: DEFAULT_LOG_EVERY
DEFAULT_LOG_EVERY = 20

__all__ = ["TrainResult", "TrainStep", "TrainingError", "train"]


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
    cfg: TrainSettings,
    run_dir: str | os.PathLike[str],
    *,
    device: torch.device | str | None = None,
    resume: bool = False,
    on_step: Callable[[TrainStep], None] | None = None,
    stop: threading.Event | None = None,
    download_progress=None,
) -> TrainResult:
    """Train `cfg.recipe` into `run_dir`; continue a stopped run exactly with `resume=True`."""
    device = devices.resolve(device)
    world = distributed.setup(device)
    try:
        with devices.fast_math(device):  # TF32 and cuDNN autotuning on CUDA; nothing elsewhere
            return _Run(cfg, RunFolder(Path(run_dir)), device, world, resume, on_step, stop, download_progress).go()
    finally:
        distributed.teardown(world)


@dataclass
class _Pending:
    """A step whose losses are still on the device."""

    step: int
    epoch: int
    lr: float
    losses: dict[str, torch.Tensor]
    images: int


class _Run:
    def __init__(self, cfg, folder: RunFolder, device, world, resume, on_step, stop, download_progress):
        self.cfg, self.folder, self.device, self.world = cfg.validate(), folder, device, world
        self.on_step, self.stop = on_step, stop or threading.Event()
        source = resolve_source(cfg, progress=download_progress)
        self.dataset = PairDataset(source, cfg)
        self.sampler = EpochSampler(self.dataset, rank=world.rank, world=world.size, seed=cfg.seed)
        self.batches_per_epoch = math.ceil(len(self.sampler) / cfg.batch_size)
        self.loader = _loader(self.dataset, self.sampler, cfg, device)
        self.recipe: Recipe = RECIPES[cfg.recipe](cfg, device, autocast=_autocast(cfg, device))
        self.schedulers = {name: _schedule(opt, cfg) for name, opt in self.recipe.optimizers.items()}
        self.epoch = self.step = self.batch_in_epoch = 0
        if resume:
            self._restore(folder.load())
        self._distribute()
        if cfg.compile:  # after DDP wrapping, as torch recommends; checkpoints unwrap both
            backend = os.environ.get("PAINT_COMPILE_BACKEND", "inductor")  # tests use "eager": tracing without codegen
            for name, net in self.recipe.nets.items():
                self.recipe.nets[name] = torch.compile(net, backend=backend)
        self.sample_batch = _fixed_batch(source, cfg, device)
        self.total_steps = cfg.total_epochs * self.batches_per_epoch
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.log_every = LOG_EVERY.get(device.type, DEFAULT_LOG_EVERY)
        self.pending: list[_Pending] = []
        self.window_start = time.perf_counter()
        watched = cfg.tensorboard and world.main
        self.board = TensorBoardLog(folder.path, resumed_at=self.step if resume else None) if watched else None

    # --- the loop --------------------------------------------------------------------------------------------

    def go(self) -> TrainResult:
        try:
            return self._go()
        finally:
            if self.board is not None:
                self.board.close()

    def _go(self) -> TrainResult:
        cfg = self.cfg
        if self.world.main:
            self.folder.write_settings(self._settings())
        stopped = False
        while self.epoch < cfg.total_epochs and not stopped:
            for batch in self._batches():
                losses = self.recipe.step(batch)
                self.step += 1
                self.batch_in_epoch += 1
                if cfg.per_step_decay > 0:
                    for scheduler in self.schedulers.values():
                        scheduler.step()
                lr = self.recipe.optimizers["G"].param_groups[0]["lr"]
                self.pending.append(_Pending(self.step, self.epoch + 1, lr, losses, len(batch["A"])))
                if len(self.pending) >= self.log_every:
                    self._log()
                reached_max = cfg.max_steps is not None and self.step >= cfg.max_steps
                if reached_max or self._stop_requested():
                    stopped = True
                    break
            else:
                self._end_epoch()
        if stopped:
            self._save(numbered=False)
        return TrainResult(self.folder.path, self.step, self.epoch, stopped, self.folder.exports(cfg.generators))

    def _batches(self):
        """This epoch's batches for this process, skipping those done before a resume."""
        self.sampler.set_epoch(self.epoch, skip=self.batch_in_epoch * self.cfg.batch_size)
        for batch in self.loader:
            yield {k: _to_device(v, self.device) for k, v in batch.items()}

    def _end_epoch(self) -> None:
        if self.cfg.per_step_decay == 0:
            for scheduler in self.schedulers.values():
                scheduler.step()
        self.epoch += 1
        self.batch_in_epoch = 0
        self._save(numbered=self.epoch % self.cfg.save_every == 0 or self.epoch == self.cfg.total_epochs)
        if self.world.main:
            forked = [self.device.index or 0] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=forked), torch.no_grad():  # samples must not change the training's random stream
                grid = sample_grid(self.recipe.samples(self.sample_batch))
            self.folder.write_samples(self.epoch, grid)
            if self.board is not None:
                self.board.samples(grid, self.step)

    def _stop_requested(self) -> bool:
        """A Ctrl-C asks every process to stop at the same step: checked at every step by one process,
        at log time by several (agreeing costs a collective)."""
        if not self.world.distributed:
            return self.stop.is_set()
        return not self.pending and distributed.any_true(self.stop.is_set(), self.world, self.device)

    # --- logging -----------------------------------------------------------------------------------------------

    def _log(self) -> None:
        """Read the pending steps' losses in one go, stop on a non-finite one, write and report them."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        names = list(pending[0].losses)
        values = torch.stack([torch.stack([torch.as_tensor(p.losses[k], dtype=torch.float32, device=self.device) for k in names]) for p in pending])
        rows = values.tolist()  # the one host sync
        now = time.perf_counter()
        rate = sum(p.images for p in pending) * self.world.size / max(now - self.window_start, 1e-9)
        self.window_start = now
        bad = next((i for i, row in enumerate(rows) if not all(map(math.isfinite, row))), None)
        if distributed.any_true(bad is not None, self.world, self.device):
            self._diverged(pending[bad] if bad is not None else pending[0], dict(zip(names, rows[bad or 0], strict=True)))
        if not self.world.main:
            return
        records = []
        for p, row in zip(pending, rows, strict=True):
            losses = dict(zip(names, row, strict=True))
            records.append({"step": p.step, "epoch": p.epoch, **losses, "lr": p.lr, "images_per_second": round(rate, 3)})
            if self.on_step is not None:
                self.on_step(TrainStep(p.epoch, self.cfg.total_epochs, p.step, self.total_steps, losses, p.lr, rate))
        self.folder.append_metrics(records)
        if self.board is not None:
            self.board.scalars(records)

    def _diverged(self, at: _Pending, losses: dict[str, float]) -> None:
        bad = ", ".join(f"{k}={v}" for k, v in losses.items() if not math.isfinite(v))
        raise TrainingError(
            f"training diverged at step {at.step} (epoch {at.epoch}): {bad}; {self.folder.last_good()}",
            "lower --lr, or resume from the checkpoint with --resume",
        )

    # --- saving and loading --------------------------------------------------------------------------------------

    def _save(self, *, numbered: bool) -> None:
        self._log()  # no checkpoint without checking the losses that led to it
        self._check_ranks_agree()
        if self.world.main:
            nets = {k: unwrap(v) for k, v in self.recipe.nets.items()}
            self.folder.save(self._state(), nets, self.epoch, numbered=numbered)
            plot_losses(self.folder.metrics, self.folder.path / "losses.png")
        distributed.barrier(self.world)

    def _state(self) -> dict:
        return {
            "config": self.cfg.to_dict(), "epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch,
            **self.recipe.state_dict(), "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "rng": {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }  # fmt: skip

    def _restore(self, state: dict) -> None:
        self.recipe.load_state_dict(state)
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        self.epoch, self.step, self.batch_in_epoch = state["epoch"], state["step"], state["batch_in_epoch"]
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def _settings(self) -> dict:
        how = {"device": devices.describe(self.device), "processes": self.world.size, "torch": torch.__version__}
        return {**self.cfg.to_dict(), **how}

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

    def _distribute(self) -> None:
        """Wrap the networks for multi-process training (after loading, so every rank starts alike)."""
        if not self.world.distributed:
            return
        for name, net in self.recipe.nets.items():
            if self.device.type == "cuda":
                net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)  # batch statistics over all ranks
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.recipe.nets[name] = DistributedDataParallel(net, device_ids=ids, broadcast_buffers=False)


# --- helpers -----------------------------------------------------------------------------------------------


def _schedule(optimizer, cfg: TrainSettings):
    """Per step 1 / (1 + decay * step) when the recipe decays per step (AdaIN); otherwise per epoch
    constant for cfg.epochs, then linear towards zero over cfg.epochs_decay (the official 'linear' policy)."""
    if cfg.per_step_decay > 0:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1.0 + cfg.per_step_decay * step))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: 1.0 - max(0, epoch + 1 - cfg.epochs) / float(cfg.epochs_decay + 1)
    )


def _autocast(cfg: TrainSettings, device: torch.device):
    if cfg.precision != "bf16":  # auto and fp32: float32 (TF32 on CUDA), measured the fastest at batch 1
        return nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _loader(dataset, sampler, cfg: TrainSettings, device: torch.device) -> DataLoader:
    """Batches decoded and augmented in worker processes that live for the whole run (not restarted
    each epoch), prefetching ahead, into pinned memory on a GPU."""
    workers = _workers(cfg, device)
    return DataLoader(
        dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers, pin_memory=device.type == "cuda",
        persistent_workers=workers > 0, prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator(),  # keeps the global RNG untouched
    )  # fmt: skip


def _workers(cfg: TrainSettings, device: torch.device) -> int:
    if cfg.workers is not None:
        return cfg.workers
    cpus = os.cpu_count() or 1
    # On a GPU the data must keep up; on a CPU the cores are better spent on the networks.
    return min(8, cpus) if device.type == "cuda" else min(2, cpus // 4)


def _to_device(value, device: torch.device):
    if not isinstance(value, torch.Tensor) or value.dim() != 4:
        return value
    return value.to(device, non_blocking=True)  # from pinned memory: the copy overlaps the GPU's work


def _fixed_batch(source, cfg: TrainSettings, device: torch.device) -> dict:
    """The first few pairs, centre-sized without augmentation: the same sample grid every epoch."""
    dataset = PairDataset(source, cfg, augment=False)
    items = [dataset[i] for i in range(min(4, len(dataset)))]
    return {k: torch.stack([it[k] for it in items]).to(device) for k in ("A", "B") if k in items[0]}
