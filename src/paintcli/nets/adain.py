"""AdaIN's encoder and decoder, state-dict compatible with naoto0804/pytorch-AdaIN (`net.py`).

The encoder is the 53-module `vgg_normalised` network converted from Torch: a 1x1 convolution that
maps RGB in [0, 1] into Caffe's BGR mean-subtracted space, then VGG19 with reflection padding and
ceil-mode pooling. Only its first 31 modules (up to relu4_1) are used. The decoder mirrors it.
    Huang and Belongie. "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017.
"""

from __future__ import annotations

import torch
from torch import nn

# (module index of each tap in the 53-module encoder)
ENCODER_TAPS = {"relu1_1": 3, "relu2_1": 10, "relu3_1": 17, "relu4_1": 30}
ENCODER_USED = 31  # modules 0..30: everything up to relu4_1


def _conv(in_c: int, out_c: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(in_c, out_c, (3, 3)), nn.ReLU()]


def _pool() -> nn.Module:
    return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)


def vgg_normalised() -> nn.Sequential:
    """The full 53-module encoder, as in the official file (conv 1x1, then VGG19 conv1_1..conv5_4)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, (1, 1))]
    plan = [(3, 64), (64, 64), "pool", (64, 128), (128, 128), "pool", (128, 256), (256, 256), (256, 256),
            (256, 256), "pool", (256, 512), (512, 512), (512, 512), (512, 512), "pool", (512, 512), (512, 512),
            (512, 512), (512, 512)]  # fmt: skip
    for item in plan:
        layers += [_pool()] if item == "pool" else _conv(*item)
    return nn.Sequential(*layers)


def decoder() -> nn.Sequential:
    """The official decoder: relu4_1 features (512 channels) back to an RGB image (no output activation)."""
    up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
    layers: list[nn.Module] = _conv(512, 256) + [up()]
    layers += _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 128) + [up()]
    layers += _conv(128, 128) + _conv(128, 64) + [up()]
    layers += _conv(64, 64) + [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(64, 3, (3, 3))]
    return nn.Sequential(*layers)


class AdaINEncoder(nn.Module):
    """The used part of vgg_normalised, returning relu1_1 .. relu4_1. Keys stay `0.weight`, `2.weight`, ..."""

    def __init__(self, full: nn.Sequential):
        super().__init__()
        self.layers = nn.Sequential(*list(full.children())[:ENCODER_USED])
        self.requires_grad_(False)
        # In bfloat16 (ImageToImage.compute_in) the 1x1 colour convolution and conv1_1 stay float32: they
        # see the photo itself.
        for first in (self.layers[0], self.layers[2]):
            first.keeps_float32 = True

    def forward(self, x: torch.Tensor, upto: str = "relu4_1") -> dict[str, torch.Tensor]:
        out = {}
        last = ENCODER_TAPS[upto]
        for i in range(last + 1):
            x = self.layers[i](x)
            for name, index in ENCODER_TAPS.items():
                if index == i:
                    out[name] = x
        return out


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over space (unbiased variance + eps, as the official calc_mean_std)."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    return flat.mean(2).view(n, c, 1, 1), (flat.var(2) + eps).sqrt().view(n, c, 1, 1)


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Content features with the channel-wise mean and std of the style features."""
    c_mean, c_std = mean_std(content)
    s_mean, s_std = mean_std(style)
    return (content - c_mean) / c_std * s_std + s_mean


class AdaINLayer(nn.Module):
    """AdaIN towards fixed style statistics: the input's channel statistics are replaced by a blend of
    the styles' (`weights` sum to 1), then mixed with the input by `alpha`.

    `statistics` and `normalise` split the work so that tiled inference can measure the whole
    picture's statistics once and use them for every tile (tiling.shared_norm_statistics).
    """

    def __init__(self, style_stats: list[tuple[torch.Tensor, torch.Tensor]], weights: list[float], alpha: float):
        super().__init__()
        self.style_stats, self.weights, self.alpha = style_stats, weights, alpha

    def statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mean_std(x)

    def normalise(self, x: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        c_mean, c_std = stats
        target = sum(w * ((x - c_mean) / c_std * s_std + s_mean) for w, (s_mean, s_std) in zip(self.weights, self.style_stats, strict=True))
        return self.alpha * target + (1 - self.alpha) * x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalise(x, self.statistics(x))


class StyledAdaIN(nn.Module):
    """The whole AdaIN pass for given style features: RGB [0, 1] in (sides multiples of 8), RGB out.

    With a `mask` (a (1, 1, H, W) tensor, 1 where the first style goes), each region of the photo
    takes one style's statistics, normalised by its own; the mask is resized to each input.
    """

    multiple = 8  # three ceil-mode poolings in the encoder, three 2x upsamplings in the decoder

    def __init__(self, encoder: AdaINEncoder, decoder_net: nn.Sequential, layer: AdaINLayer, mask: torch.Tensor | None = None):
        super().__init__()
        self.encoder, self.decoder, self.adain = encoder, decoder_net, layer
        self.mask = mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)["relu4_1"].float()  # the statistics and AdaIN in float32 whatever the layers compute in
        if self.mask is None:
            target = self.adain(features)
        else:
            target = masked_adain(features, self.adain.style_stats, self._region(features))
            target = self.adain.alpha * target + (1 - self.adain.alpha) * features
        return self.decoder(target)

    def _region(self, features: torch.Tensor) -> torch.Tensor:
        small = torch.nn.functional.interpolate(self.mask.to(features.device), size=features.shape[-2:], mode="nearest")[0, 0]
        return small >= 0.5


def masked_adain(content_f: torch.Tensor, style_stats: list[tuple[torch.Tensor, torch.Tensor]], region: torch.Tensor) -> torch.Tensor:
    """Each region of the content (`region` True: the first style) takes one style's statistics,
    normalised by its own."""
    out = torch.empty_like(content_f)
    for inside, (s_mean, s_std) in ((region, style_stats[0]), (~region, style_stats[1])):
        picked = content_f[..., inside]  # (N, C, n)
        c_mean, c_std = picked.mean(-1, keepdim=True), (picked.var(-1, keepdim=True) + 1e-5).sqrt()
        out[..., inside] = (picked - c_mean) / c_std * s_std.view(1, -1, 1) + s_mean.view(1, -1, 1)
    return out
