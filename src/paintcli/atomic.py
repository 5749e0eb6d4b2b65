"""Writing files so that nothing half-written ever carries the final name.

Every file paint writes (images, checkpoints, exported networks, files copied out of archives) goes
through `atomic_path`: the data goes to a hidden temporary file beside the target, with a name no
other process uses, which is renamed over the target in one step when the writing succeeded and
deleted when it failed or was interrupted. Downloads use their own resumable `.part` file (see
cache.py) and the same final rename.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh temporary path beside `path`; it becomes `path` when the block ends without error.

    The temporary file is created by whoever writes it (so the umask applies, unlike mkstemp's
    private 0600 files); on any exception, Ctrl-C included, it is removed and `path` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
