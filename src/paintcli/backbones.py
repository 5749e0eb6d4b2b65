"""Feature networks by registry name: the bundled 8-bit VGG19 or torchvision's VGG19 from the cache."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from paintcli import cache, registry
from paintcli.errors import PaintError
from paintcli.nets.vgg import VGG19Features, dequantize

EMBEDDED_FORMAT = "paintcli.vgg19-q8/1"


def load_vgg19(
    name: str = "vgg19",
    *,
    last_layer: str = "relu5_4",
    device: torch.device | str = "cpu",
    progress: cache.ProgressHook | None = None,
) -> VGG19Features:
    """VGG features up to `last_layer`, with the weights called `name` in the registry (VGG16 for
    vgg16-torchvision, VGG19 otherwise)."""
    entry = registry.get(name)
    if entry.input_space is None:
        raise PaintError(f"{name!r} is not a feature network", f"use one of: {', '.join(registry.BACKBONES)}")
    path = cache.fetch(entry, progress=progress)
    net = VGG19Features(entry.input_space, last_layer=last_layer, depth=int(entry.extra.get("depth", 19)))
    net.load_features(_read_weights(str(path), entry.bundled))
    return net.to(device)


@lru_cache(maxsize=2)
def _read_weights(path: str, quantised: bool) -> dict[str, torch.Tensor]:
    # Cached per process: stylising a folder, or the test suite, reads the file once.
    state = torch.load(path, map_location="cpu", weights_only=True)
    if quantised:
        if state.get("format") != EMBEDDED_FORMAT:
            raise PaintError(f"{Path(path).name} is not a paintcli VGG19 file", "reinstall paintcli")
        return dequantize(state["tensors"])
    return {k: v for k, v in state.items() if k.startswith("features.")}
