"""Johnson et al.'s feed-forward style network, state-dict compatible with pytorch/examples'
fast_neural_style (`neural_style/transformer_net.py`): 0-255 RGB in, 0-255 RGB out.
    Johnson, Alahi, Fei-Fei. "Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paintcli.nets.norm import InstanceNorm2d


class ConvLayer(nn.Module):
    """Reflection padding then a convolution (stored as `conv2d`, as in the official files)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


class UpsampleConvLayer(ConvLayer):
    """Nearest-neighbour upsampling then a convolution: no checkerboard artefacts (Odena et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, upsample: int = 2):
        super().__init__(in_channels, out_channels, kernel_size)
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.interpolate(x, scale_factor=self.upsample, mode="nearest"))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.in1 = InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, 3)
        self.in2 = InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x)))))


class TransformerNet(nn.Module):
    """Down 2x twice, five residual blocks, up 2x twice. Input and output are RGB on a 0-255 scale."""

    multiple = 4  # height and width must be multiples of this to come back at the same size

    def __init__(self):
        super().__init__()
        self.conv1, self.in1 = ConvLayer(3, 32, 9), InstanceNorm2d(32, affine=True)
        self.conv2, self.in2 = ConvLayer(32, 64, 3, stride=2), InstanceNorm2d(64, affine=True)
        self.conv3, self.in3 = ConvLayer(64, 128, 3, stride=2), InstanceNorm2d(128, affine=True)
        self.res1, self.res2, self.res3, self.res4, self.res5 = (ResidualBlock(128) for _ in range(5))
        self.deconv1, self.in4 = UpsampleConvLayer(128, 64, 3), InstanceNorm2d(64, affine=True)
        self.deconv2, self.in5 = UpsampleConvLayer(64, 32, 3), InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)
