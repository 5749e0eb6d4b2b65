"""Multi-process training under torchrun: setup from its environment, and a launcher for --devices N.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; each process then trains on its share of every
batch, DistributedDataParallel averages the gradients, and only rank 0 writes files or prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist



@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def setup(device: torch.device) -> World:
    """Join the process group torchrun describes (if any) on `device`, this process's own device
    (device.resolve already picked cuda:LOCAL_RANK for it)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world


def teardown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def any_true(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank if `flag` is true on any (so all ranks stop together)."""
    if not world.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def launch(nproc: int, argv: list[str]) -> int:
    """Run `paint <argv>` under torchrun with `nproc` processes on this machine; return its exit code."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m", "paintcli", *argv]
    return subprocess.call(command)


def unwrap(net: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside torch.compile and DistributedDataParallel wrappers, or `net` itself: for
    saving, sampling, and for passes whose gradients must not be synchronised."""
    while True:
        inner = getattr(net, "_orig_mod", None) or getattr(net, "module", None)
        if not isinstance(inner, torch.nn.Module):
            return net
        net = inner
