"""Starting several paint processes on this machine for `--devices N`.

Training goes through torchrun (its processes talk to each other, and torchrun stops them all when
one fails). Inference needs no talking: each process paints its own share of the pictures
(paths.Shard), so `run_shards` starts them directly with torchrun's variables (RANK, LOCAL_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE) and returns the worst exit code; a bad picture in one share then
reads as paint's own one-line error, not as torchrun's failure report.
"""

from __future__ import annotations

import os
import subprocess
import sys


def argv_without_devices(argv: list[str]) -> list[str]:
    """The command line with `--devices N` (or `--devices=N`) taken out."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--devices":
            skip = True
        elif not arg.startswith("--devices="):
            out.append(arg)
    return out


def torchrun(nproc: int, argv: list[str]) -> int:
    """Run `paint <argv>` under torchrun with `nproc` processes on this machine; its exit code."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m", "paintcli", *argv]
    return subprocess.call(command)


def run_shards(nproc: int, argv: list[str]) -> int:
    """Run `paint <argv>` as `nproc` independent processes, each told its share; the worst exit code."""
    processes = []
    for rank in range(nproc):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc)}
        processes.append(subprocess.Popen([sys.executable, "-m", "paintcli", *argv], env=env))
    try:
        codes = [p.wait() for p in processes]
    except KeyboardInterrupt:  # the children got the same Ctrl-C; wait for them to save and stop
        codes = [p.wait() for p in processes]
    return max(codes, key=abs)
