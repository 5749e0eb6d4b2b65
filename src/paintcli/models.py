"""Finding a model file: a registry name (downloaded into the cache on first use) or a path."""

from __future__ import annotations

import os
from pathlib import Path

from paintcli import registry
from paintcli.errors import CheckpointError


def identify(model: str | os.PathLike[str], *, family: str | None = None) -> tuple[registry.Entry | None, Path | None]:
    """(registry entry, None) for a model name, (None, path) for a .pth/.pt file; nothing is fetched."""
    path = Path(model)
    if path.suffix in {".pth", ".pt", ".model"} or path.exists():
        if not path.is_file():
            raise CheckpointError(f"{path} does not exist", "check the path, or use a model name from `paint download --list`")
        return None, path
    entry = registry.resolve(str(model), kind="model")
    if family and entry.family != family:
        names = ", ".join(e.name for e in registry.entries("model") if e.family == family and not e.name.endswith("models"))
        raise registry.UnknownNameError(f"{entry.name} is a {entry.family} model, not a {family} one", f"use one of: {names}")
    return entry, None


def name_of(model: str | os.PathLike[str], *, family: str | None = None) -> str:
    """The short name outputs are called after: the registry name, or the file's stem."""
    entry, path = identify(model, family=family)
    return entry.name if entry else path.stem


def locate(model: str | os.PathLike[str], *, family: str | None = None, progress=None) -> tuple[registry.Entry | None, Path]:
    """(registry entry or None, local path) for a model name (fetched into the cache if needed) or a file."""
    from paintcli import cache

    entry, path = identify(model, family=family)
    return entry, path if entry is None else cache.fetch(entry, progress=progress)
