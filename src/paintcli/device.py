"""Choosing the device: CUDA, then MPS, then CPU, unless the user names one.

A device asked for by name (`--device` or PAINT_DEVICE) that is not available is an error with the
facts, never a silent fallback. Choosing a device changes nothing global.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

import torch

from paintcli.errors import DeviceError, UsageError

_VALID = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve(requested: torch.device | str | None = None) -> torch.device:
    """The torch.device for `requested` (a torch.device, or 'auto', 'cpu', 'cuda', 'cuda:1', 'mps';
    None reads PAINT_DEVICE).

    Under torchrun (or `--devices N`), each process takes its own GPU, cuda:LOCAL_RANK, when the
    request names none; on the CPU the processes share the cores equally.
    """
    if isinstance(requested, torch.device):
        requested = str(requested)
    name = (requested or os.environ.get("PAINT_DEVICE") or "auto").strip().lower()
    if not _VALID.match(name):
        raise DeviceError(f"unknown device {name!r}", "use auto, cpu, cuda, cuda:N or mps")
    if name == "auto":
        if torch.cuda.is_available():
            return _cuda("cuda")
        if _mps_available():
            return torch.device("mps")
        return _cpu()
    if name.startswith("cuda"):
        return _cuda(name)
    if name == "mps" and not _mps_available():
        raise DeviceError(
            "device 'mps' is not available (needs Apple silicon and a PyTorch built with MPS)",
            "use --device cpu, or leave --device out to choose automatically",
        )
    return _cpu() if name == "cpu" else torch.device(name)


def _local_process() -> tuple[int, int] | None:
    """(LOCAL_RANK, LOCAL_WORLD_SIZE) when this is one of several processes started by torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or "LOCAL_RANK" not in os.environ:
        return None
    return int(os.environ["LOCAL_RANK"]), int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))


def _cpu() -> torch.device:
    local = _local_process()
    if local is not None:  # several processes on one machine: divide the cores, do not oversubscribe them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local[1]))
    return torch.device("cpu")


def _cuda(name: str) -> torch.device:
    if not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        facts = f"torch.cuda.is_available() is False, torch {torch.__version__}"
        if visible is not None:
            facts += f", CUDA_VISIBLE_DEVICES={visible!r}"
        raise DeviceError(
            f"device {name!r} is not available ({facts})",
            "use --device cpu, or install a CUDA build of PyTorch and check the driver",
        )
    device = torch.device(name)
    local = _local_process()
    if device.index is None and local is not None:
        device = torch.device("cuda", local[0])
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise DeviceError(
            f"device {str(device)!r} does not exist: {count} CUDA device(s) visible",
            f"use cuda:0 to cuda:{count - 1}",
        )
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def native_bf16(device: torch.device) -> bool:
    """Whether `device` is a CPU that multiplies bfloat16 in hardware (AVX512-BF16 or AMX). oneDNN
    runs bf16 convolutions elsewhere too, by conversion, and then slower than float32."""
    if device.type != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check is not None and check() for check in checks)


def one_pass_precision(precision: str, device: torch.device, net) -> str:
    """What a one-pass ImageToImage network computes in: 'fp32', 'bf16' or 'int8'. bf16 only for a
    network measured to stay within 40 dB of float32 in it: 'bf16' asks for it, 'auto' takes it on a
    CPU with native bf16 (on 2 cores the 26-style network alone ran 1.3-2.2x faster, fast style,
    AdaIN and the translation generators 1.7x; GPUs are not measured yet). int8 for an 8-bit network under 'auto', on a CPU with oneDNN's exact int8
    convolutions (x86 with VNNI; its own integer arithmetic, 3x faster convolutions). 'fp32' always float32."""
    if precision == "bf16" and not net.bf16_safe:
        raise UsageError("--precision bf16 is measured only for --method builtin, fast and adain and for paint translate", "leave --precision out for this method")
    if precision == "bf16" or (precision == "auto" and net.bf16_safe and native_bf16(device)):
        return "bf16"
    if precision == "auto" and device.type == "cpu" and net.int8_available():
        return "int8"
    return "fp32"


def describe(device: torch.device) -> str:
    """A short human name: 'cpu', 'cuda:0 (NVIDIA H100)', 'mps'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


@contextmanager
def fast_math(device: torch.device, *, autotune: bool = True):
    """Allow TF32 matmuls and convolutions on CUDA for the duration, then restore the settings.

    TF32 keeps fp32 range with a 10-bit mantissa: on Ampere and later it makes convolutions several
    times faster, and the losses do not change visibly. (bf16 autocast is an option, --precision bf16;
    on an H100 it measured slower than TF32 for these networks at batch 1. fp16 is not offered: Gram
    matrices of ReLU activations overflow it.) `autotune` turns on cuDNN's algorithm search.
    """
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    # Autotuning pays off when one shape repeats for hours (training); for a Gatys run it cost about 7 s
    # and 32 GiB of trial workspace on an H100, for a per-evaluation gain within noise.
    torch.backends.cudnn.benchmark = autotune
    try:
        yield
    finally:
        (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.benchmark,
        ) = saved
