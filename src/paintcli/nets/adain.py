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
