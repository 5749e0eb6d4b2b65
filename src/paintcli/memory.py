"""How the process allocates and collects memory: settings the `paint` command makes for its own process.

Imports no torch, so the command line can make them before any work starts at no cost to `--help`.
"""

from __future__ import annotations

import ctypes
import gc
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the system at once.

    By default glibc serves every allocation over 32 MiB with a fresh mmap and unmaps it on free, so
    each large activation (32 channels at 512x512 is 32 MiB) costs a page fault per 4 KiB page on
    first touch: measured on 2 cores, copying a 32 MiB tensor took 18 ms instead of 3, and the
    26-style network at 512 px ran 1.75x slower. onnxruntime avoids this with its own memory arena;
    this does the same for PyTorch's CPU tensors. The cost: the process holds on to memory it has
    freed (up to 2 GiB of it) until it exits. PAINT_KEEP_FREED_MEMORY=0 turns this off. Returns whether
    the setting was made (False where the C library is not glibc).
    """
    if os.environ.get("PAINT_KEEP_FREED_MEMORY", "1").strip() == "0":
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or not one that names glibc
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1))


_collector_paused = False


def pause_collector() -> None:
    """Pause Python's cyclic garbage collector for start-up; `resume_collector` ends the pause.

    Importing torch and building a network make a few hundred thousand objects (303 000 for a video
    command) of which about 2% are garbage, and the collector's many passes over them cost 0.15-0.2 s
    of the 1.2 s those imports take on 2 cores. Frozen at the end of start-up, that 2% (about 7 000
    small objects) stays with the process. Only the `paint` command pauses the collector, for its own
    process; a program that imports paintcli keeps its own settings. A collector already off stays off.
    """
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True


def resume_collector() -> None:
    """End the start-up pause, when the work begins: what start-up made is frozen out of the
    collector's later passes (modules and networks live as long as the process), and the collector
    runs again for the work. Does nothing without a pause."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()
