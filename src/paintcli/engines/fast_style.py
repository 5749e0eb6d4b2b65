"""Feed-forward style transfer: one pass through a trained TransformerNet (Johnson et al. 2016).

Official pytorch/examples checkpoints load as they are (their deprecated InstanceNorm running
statistics are dropped). The network works on 0-255 RGB, which `ImageToImage` hides; any size
works, and large pictures go through in blended tiles.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from paintcli import checkpoints, device as devices, models
from paintcli.config import OnePassConfig
from paintcli.engines.one_pass import OnePass
from paintcli.nets.image_to_image import ImageToImage
from paintcli.nets.transformer_net import TransformerNet
from paintcli.progress import ProgressHook

class FastStylizer(OnePass):
    """A loaded style network; `run` stylises one picture, `run_many` several."""

    def __init__(
        self,
        model: str | os.PathLike[str],
        settings: OnePassConfig | None = None,
        *,
        device: torch.device | str | None = None,
        tile: int | None = None,
        tile_overlap: int = 64,
        download_progress: ProgressHook | None = None,
    ):
        entry, path = models.locate(model, family="fast-style", progress=download_progress)
        self.name = entry.name if entry else Path(model).stem
        settings = settings or OnePassConfig(tile=tile, tile_overlap=tile_overlap)
        super().__init__(transformer_net(load_transformer_net(path)), devices.resolve(device), settings)


def transformer_net(net: TransformerNet) -> ImageToImage:
    """A TransformerNet (0-255 in and out, sides multiples of 4) behind the common interface. bf16-safe:
    a network trained here stays 48 dB or more from float32 in bfloat16 (benchmarks/precision.py); its
    first layer need not stay float32, since bf16 holds every whole number of the 0-255 input."""
    return ImageToImage(net.eval(), multiple=TransformerNet.multiple, value_range=(0.0, 255.0), bf16_safe=True)


def load_transformer_net(path: str | os.PathLike[str]) -> TransformerNet:
    """A TransformerNet from an official pytorch/examples file or one `paint train fast-style` wrote."""
    state, _ = checkpoints.read_state(path)
    return checkpoints.load_into(TransformerNet(), state, source=f"{path} is not a fast style (TransformerNet) checkpoint: it")
