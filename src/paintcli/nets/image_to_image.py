"""One shape for every feed-forward image network: RGB in [0, 1] of any size in, the same out.

Each network has its own habits: TransformerNet works on 0-255, the pix2pix/CycleGAN generators on
[-1, 1], and all of them need sides that are multiples of their downsampling (4, 8, 256, ...).
`ImageToImage` keeps those habits with the network: it maps [0, 1] to the network's range, pads
the batch (reflection, split evenly between the sides) to the multiple, runs the network, crops
back and maps the result to [0, 1]. Engines, tiling, batching, torch.compile and video frames then
treat every network alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Box = tuple[int, int, int, int]  # top, left, height, width of the original inside the padded image


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, Box]:
    """`x` padded by reflection so height and width are multiples of `multiple`, and where `x` sits in it."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    top, left = ph // 2, pw // 2
    pads = (left, pw - left, top, ph - top)
    if any(pads):
        # Reflection needs the padding to be smaller than the image; fall back to edge replication.
        mode = "reflect" if max(pads[0], pads[1]) < w and max(pads[2], pads[3]) < h else "replicate"
        x = F.pad(x, pads, mode=mode)
    return x, (top, left, h, w)


def _input_in_weights_type(conv: nn.Module, args: tuple) -> tuple:
    return (args[0].to(conv.weight.dtype), *args[1:])


class ImageToImage(nn.Module):
    """`net` behind the common interface: (N, 3, H, W) RGB in [0, 1] -> the same shape in [0, 1]."""

    def __init__(
        self,
        net: nn.Module,
        *,
        multiple: int,
        value_range: tuple[float, float] = (0.0, 1.0),
        channels_last: bool = False,
        bf16_safe: bool = False,
    ):
        super().__init__()
        self.net = net
        self.multiple = multiple
        self.value_range = value_range  # the network's values for black and white
        self.channels_last = channels_last  # runs faster with NHWC tensors (measured per network)
        self.bf16_safe = bf16_safe  # in bfloat16 within 40 dB PSNR of float32 (measured per network)
        self.precision = "fp32"  # what the network computes in (set by `compute_in`)

    @property
    def dtype(self) -> torch.dtype:
        """The float type of the network's weights and activations."""
        return torch.bfloat16 if self.precision == "bf16" else torch.float32

    def int8_available(self) -> bool:
        """Whether this network is an 8-bit one that can convolve its int8 codes (it has
        `integer_convolutions`) on this machine's CPU."""
        available = getattr(self.net, "int8_available", None)
        return available is not None and available()

    def compute_in(self, precision: str) -> ImageToImage:
        """Compute in 'fp32', 'bf16' or 'int8' (device.one_pass_precision). bf16: the weights converted,
        except in modules marked `keeps_float32` (layers that see the photo itself, whose grey levels
        bf16's 8 significant bits would round); every convolution then takes its input in its own
        weights' type, and pictures still come in and go out as float32. int8: the network's
        convolutions on its codes."""
        self.precision = precision
        if precision == "bf16":
            self.to(torch.bfloat16)
            for module in self.modules():
                if getattr(module, "keeps_float32", False):
                    module.float()
                if isinstance(module, nn.modules.conv._ConvNd):
                    module.register_forward_pre_hook(_input_in_weights_type)
        elif precision == "int8":
            self.net.integer_convolutions()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, (top, left, h, w) = pad_to_multiple(x, self.multiple)
        low, high = self.value_range
        y = self.net(padded * (high - low) + low) if (low, high) != (0.0, 1.0) else self.net(padded)
        y = y.float()
        if (low, high) != (0.0, 1.0):
            y = (y - low) / (high - low)
        return y[..., top : top + h, left : left + w].clamp(0, 1)

    @property
    def batch_independent(self) -> bool:
        """True when each picture's result does not depend on the others in its batch (no batch norm
        that normalises by the batch's own statistics)."""
        return not any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in self.modules())
