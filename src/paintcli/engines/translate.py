"""Image-to-image translation with a pix2pix or CycleGAN generator, at full resolution.

The generator works on [-1, 1] with sides that are multiples of 4 (ResNet) or 2^downsamplings
(U-Net); `ImageToImage` hides both, so any size and aspect ratio works, and large pictures go
through in blended tiles, chosen automatically when one would not fit in the device's memory.

As in the pix2pix paper and the official test script, the network runs in training mode by
default: batch norm uses the statistics of the picture itself and dropout stays on (`eval_mode=True`
uses the running statistics and no dropout instead). For CycleGAN's instance-norm generators the two
modes give the same result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from paintcli import checkpoints, device as devices, imageio, models
from paintcli.config import TranslateConfig
from paintcli.config import OnePassConfig
from paintcli.engines.one_pass import OnePass, OnePassResult
from paintcli.errors import ImageError
from paintcli.nets.generators import GeneratorSpec
from paintcli.nets.image_to_image import ImageToImage
from paintcli.progress import ProgressHook


class Translator(OnePass):
    """A loaded generator; `run` translates one picture, `run_many` several (same-size ones together
    when that is exact)."""

    def __init__(
        self,
        model: str | os.PathLike[str],
        config: TranslateConfig | None = None,
        *,
        device: torch.device | str | None = None,
        download_progress: ProgressHook | None = None,
    ):
        self.config = (config or TranslateConfig()).validate()
        self.entry, path = models.locate(model, progress=download_progress)
        net, self.spec = checkpoints.load_generator(path)
        self.name = self.entry.name if self.entry else Path(model).stem
        settings = OnePassConfig(size=self.config.size, tile=self.config.tile, tile_overlap=self.config.tile_overlap, precision=self.config.precision)
        net.train(not self.config.eval_mode)
        seeded = self.config.seed is not None and _has_dropout(net)  # only dropout draws random numbers
        super().__init__(generator_net(net, self.spec), devices.resolve(device), settings, before_call=self._seeded if seeded else None)

    def default_direction(self) -> str | None:
        return self.entry.direction if self.entry else None

    def use_direction(self, direction: str | None) -> None:
        """Take the A (AtoB) or B (BtoA) half of side-by-side AB pictures from now on."""
        self.config = replace(self.config, direction=direction).validate()

    def run_many(self, images: Sequence[Image.Image]) -> list[OnePassResult]:
        if self.config.direction:
            images = [ab_half(imageio.to_rgb(img), self.config.direction) for img in images]
        return super().run_many(images)

    def _seeded(self) -> None:
        torch.manual_seed(self.config.seed)  # the same seed gives the same dropout for each picture


def _has_dropout(net: torch.nn.Module) -> bool:
    """True when the network drops activations at random as it runs (pix2pix's U-Net outside eval mode)."""
    return any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.training and m.p > 0 for m in net.modules())


def generator_net(net: torch.nn.Module, spec: GeneratorSpec) -> ImageToImage:
    """A pix2pix/CycleGAN generator ([-1, 1] in and out) behind the common interface."""
    return ImageToImage(net, multiple=spec.multiple, value_range=(-1.0, 1.0), bf16_safe=True)


def ab_half(img: Image.Image, direction: str) -> Image.Image:
    """The input half of a side-by-side AB image: A (left) for AtoB, B (right) for BtoA."""
    w, h = img.size
    if w % 2:
        raise ImageError(
            f"a {w}x{h} image cannot be split into A and B halves (odd width)",
            "pass a side-by-side AB image, or leave --direction out for a plain photo",
        )
    half = w // 2
    return img.crop((0, 0, half, h)) if direction == "AtoB" else img.crop((half, 0, w, h))


__all__ = ["GeneratorSpec", "TranslateConfig", "Translator", "ab_half", "generator_net"]
