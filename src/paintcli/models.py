"""Finding a model file: a registry name (downloaded into the cache on first use) or a path."""

from __future__ import annotations

import os
from pathlib import Path

from paintcli import cache, registry
from paintcli.checkpoints import CheckpointError


def locate(model: str | os.PathLike[str], *, family: str | None = None, progress=None) -> tuple[registry.Entry | None, Path]:
    """(registry entry or None, local path) for a model name or a .pth/.pt path."""
    path = Path(model)
    if path.suffix in {".pth", ".pt", ".model"} or path.exists():
        if not path.is_file():
            raise CheckpointError(f"{path} does not exist", "check the path, or use a model name from `paint download --list`")
        return None, path
    entry = registry.resolve(str(model), kind="model")
    if family and entry.family != family:
        names = ", ".join(e.name for e in registry.entries("model") if e.family == family and not e.name.endswith("models"))
        raise registry.UnknownNameError(f"{entry.name} is a {entry.family} model, not a {family} one", f"use one of: {names}")
    return entry, cache.fetch(entry, progress=progress)
