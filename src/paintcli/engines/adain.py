"""Arbitrary style transfer in one pass with AdaIN (Huang and Belongie 2017).

The photo's relu4_1 features take the channel-wise mean and standard deviation of the painting's,
and a decoder turns them back into an image. Options from the paper: `alpha` (content-style
trade-off), several styles interpolated in feature space, colour preservation (the style image is
first given the photo's colour statistics), and spatial control: a mask gives one region one style
and the rest another, with the statistics of each region matched separately.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import replace

import torch
from PIL import Image

from paintcli import checkpoints, device as devices, functional as fn, imageio, models
from paintcli.config import AdaINConfig, OnePassConfig, blend_weights
from paintcli.engines.one_pass import OnePass, OnePassResult
from paintcli.errors import UsageError
from paintcli.nets.adain import AdaINEncoder, AdaINLayer, StyledAdaIN, decoder, mean_std, vgg_normalised
from paintcli.nets.image_to_image import ImageToImage
from paintcli.progress import ProgressHook


class AdaINStylizer:
    """The official encoder and decoder (downloaded once), or local files."""

    def __init__(
        self,
        *,
        encoder: str | os.PathLike[str] = "adain-encoder",
        decoder_path: str | os.PathLike[str] = "adain-decoder",
        device: torch.device | str | None = None,
        download_progress: ProgressHook | None = None,
    ):
        self.device = devices.resolve(device)
        _, enc_path = models.locate(encoder, family="adain", progress=download_progress)
        _, dec_path = models.locate(decoder_path, family="adain", progress=download_progress)
        full = checkpoints.load_into(vgg_normalised(), _tensors(enc_path), source=f"{enc_path} is not the AdaIN encoder: it")
        self.encoder = AdaINEncoder(full).to(self.device).eval()
        self.decoder = checkpoints.load_into(decoder(), _tensors(dec_path), source=f"{dec_path} is not the AdaIN decoder: it")
        self.decoder.to(self.device).eval().requires_grad_(False)

    def styled(
        self, styles: Sequence[Image.Image], settings: AdaINConfig = AdaINConfig(), *,
        mask: Image.Image | None = None, colours_of: torch.Tensor | None = None,
    ) -> OnePass:  # fmt: skip
        """A one-pass painter in these styles. With `colours_of` (a photo tensor), the styles first
        take that photo's colours (preserve_colors)."""
        settings.validate(len(styles), mask is not None)
        style_ts = [self._tensor(s, settings.style_size) for s in styles]
        if colours_of is not None:
            style_ts = [fn.match_colors(s, colours_of) for s in style_ts]
        with torch.no_grad():
            stats = [mean_std(self.encoder(s)["relu4_1"]) for s in style_ts]
        layer = AdaINLayer(stats, list(blend_weights(settings.blend, len(styles))), settings.alpha)
        mask_t = self._mask(mask) if mask is not None else None
        # Copies: the painter may convert its layers to bfloat16 (--precision), the styles' encoder stays float32.
        styled = StyledAdaIN(copy.deepcopy(self.encoder), copy.deepcopy(self.decoder), layer, mask_t)
        # Channels-last on the CPU: 1.2-1.4x faster on 2 cores, the same pictures (not measured on GPUs yet).
        # bf16-safe: a decoder trained here stays 49 dB or more from float32 in bfloat16 (benchmarks/precision.py).
        net = ImageToImage(styled, multiple=StyledAdaIN.multiple, channels_last=self.device.type == "cpu", bf16_safe=True)
        return OnePass(net, self.device, OnePassConfig(settings.size, settings.tile, settings.tile_overlap, precision=settings.precision))

    def run(
        self,
        content: Image.Image,
        styles: Sequence[Image.Image],
        *,
        mask: Image.Image | None = None,
        **settings,
    ) -> OnePassResult:
        """Stylise one photo; `settings` are AdaINConfig fields (alpha, blend, size, ...)."""
        return self.for_photo(content, styles, mask=mask, **settings).run(content)

    def for_photo(self, content: Image.Image, styles: Sequence[Image.Image], *, mask: Image.Image | None = None, **settings) -> OnePass:
        """The painter for this photo (and the frames of its clip): the mask at its size, the styles in
        its colours with preserve_colors."""
        chosen = replace(AdaINConfig(), **settings)
        if mask is not None:  # the mask is drawn on the photo, so it takes the photo's size
            size = imageio.fit_longest_side(content.size, chosen.size) if chosen.size else content.size
            mask = imageio.resize(imageio.to_rgb(mask), size)
        colours = self._tensor(content, chosen.size) if chosen.preserve_colors else None
        return self.styled(styles, chosen, mask=mask, colours_of=colours)

    def _tensor(self, img: Image.Image, longest: int | None) -> torch.Tensor:
        return fn.to_tensor(imageio.resize_longest(imageio.to_rgb(img), longest), self.device)

    def _mask(self, mask: Image.Image) -> torch.Tensor:
        region = fn.to_tensor(imageio.to_rgb(mask), self.device)[:, :1]
        if bool((region >= 0.5).all()) or not bool((region >= 0.5).any()):
            raise UsageError("the mask is all one colour", "white marks the first style's region, black the second's")
        return region


def _tensors(path) -> dict[str, torch.Tensor]:
    return checkpoints.read_state(path)[0]


