"""pix2pix and CycleGAN generators, state-dict compatible with the official pytorch-CycleGAN-and-pix2pix.

Module names and positions reproduce the official `models/networks.py` layout exactly, so the
official `.pth` files load with strict key matching (after dropping their legacy InstanceNorm
buffers, see `paintcli.checkpoints`). Images are RGB in [-1, 1] in and out (Tanh); engines use them
through `nets.image_to_image.ImageToImage` (engines/translate.py: `generator_net`).
    Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017.
    Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from paintcli.nets.norm import InstanceNorm2d

Norm = Literal["instance", "batch", "none"]


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """The official choices: InstanceNorm without affine or running stats, BatchNorm with both, or none."""
    if kind == "instance":
        return InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


@dataclass(frozen=True)
class GeneratorSpec:
    """Everything needed to rebuild a generator: stored with our checkpoints, inferred for official ones."""

    arch: Literal["resnet", "unet"]
    blocks: int  # residual blocks (resnet) or downsamplings (unet)
    ngf: int = 64
    norm: Norm = "instance"
    dropout: bool = False
    input_nc: int = 3
    output_nc: int = 3

    @property
    def name(self) -> str:
        return f"resnet_{self.blocks}blocks" if self.arch == "resnet" else f"unet_{2**self.blocks}"

    @property
    def multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 4 if self.arch == "resnet" else 2**self.blocks

    def build(self) -> nn.Module:
        cls = ResnetGenerator if self.arch == "resnet" else UnetGenerator
        return cls(self.input_nc, self.output_nc, self.blocks, ngf=self.ngf, norm=self.norm, dropout=self.dropout)


# --- ResNet generator (CycleGAN) -------------------------------------------------------------------------


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: Norm, dropout: bool, bias: bool):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim), nn.ReLU(True),
        ]  # fmt: skip
        if dropout:
            layers.append(nn.Dropout(0.5))  # shifts the second conv from index 5 to 6, as officially
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-3 (Johnson et al.'s layout)."""

    def __init__(self, input_nc=3, output_nc=3, n_blocks=9, *, ngf=64, norm: Norm = "instance", dropout=False):
        super().__init__()
        bias = norm == "instance"  # batch norm has its own shift; the official code drops conv biases then
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), norm_layer(norm, ngf), nn.ReLU(True),
        ]  # fmt: skip
        for first in layers[1:3]:  # in bf16 (ImageToImage.compute_in) the layers that see the photo stay float32
            first.keeps_float32 = True
        for i in range(2):  # downsample
            c = ngf * 2**i
            layers += [nn.Conv2d(c, c * 2, 3, stride=2, padding=1, bias=bias), norm_layer(norm, c * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, dropout, bias) for _ in range(n_blocks)]
        for i in range(2):  # upsample
            c = ngf * 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                norm_layer(norm, c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


# --- U-Net generator (pix2pix) -----------------------------------------------------------------------------


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and a skip connection around them."""

    def __init__(
        self, outer_nc: int, inner_nc: int, *, input_nc: int | None = None, submodule: nn.Module | None = None,
        outermost=False, innermost=False, norm: Norm = "batch", dropout=False,
    ):  # fmt: skip
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        down_conv = nn.Conv2d(input_nc or outer_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        if outermost:
            down_conv.keeps_float32 = True  # in bf16 (ImageToImage.compute_in) the layer that sees the photo stays float32
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
            layers = [down_conv, submodule, nn.ReLU(True), up_conv, nn.Tanh()]
        elif innermost:
            up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down_conv, nn.ReLU(True), up_conv, norm_layer(norm, outer_nc)]
        else:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=bias)
            layers = [
                nn.LeakyReLU(0.2), down_conv, norm_layer(norm, inner_nc), submodule,
                nn.ReLU(True), up_conv, norm_layer(norm, outer_nc),
            ]  # fmt: skip
            if dropout:
                layers.append(nn.Dropout(0.5))  # last in the block, so it shifts no key
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        # The official block's first LeakyReLU is in-place, so its skip connection carries
        # leaky_relu(x), not x. We reproduce that explicitly so official weights give official pictures.
        return torch.cat([F.leaky_relu(x, 0.2), self.model(x)], dim=1)


class UnetGenerator(nn.Module):
    """U-Net with `num_downs` halvings (8 for 256 px: unet_256, 7 for unet_128)."""

    def __init__(self, input_nc=3, output_nc=3, num_downs=8, *, ngf=64, norm: Norm = "batch", dropout=True):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
