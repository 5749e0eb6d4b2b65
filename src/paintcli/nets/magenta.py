"""Magenta's arbitrary image stylization network, as its 8-bit TFLite release computes it.

    Ghiasi, Lee, Kudlur, Dumoulin, Shlens. "Exploring the structure of a real-time, arbitrary neural
    artistic stylization network." BMVC 2017. (TF Hub: magenta/arbitrary-image-stylization-v1-256,
    int8 prediction and transfer models; Apache-2.0.)

Two networks: a MobileNetV2 style predictor turns a 256x256 painting into 100 numbers, and a small
transformer (three convolutions down, five residual blocks, three up) paints a photo with instance
norms whose scale and shift are computed from those numbers. The released models are quantized:
weights are int8 per output channel, and every activation is rounded to int8 with its own scale and
zero point. `QuantPoint` repeats each rounding where the release does it, so our results match the
release's (scripts/make_instant_weights.py fills in the numbers; the parity test compares them).

The transformer's convolutions (`CodeConv`) can also run on the int8 codes themselves, as the
release's arithmetic does: on an x86 CPU oneDNN's int8 kernels sum the products exactly and are about
three times faster than float32 (`StyleTransformer.integer_convolutions`).
"""

from __future__ import annotations

import copy
import platform
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

STYLE_DIM = 100
STYLE_SIZE = 256  # the predictor's input side
# MobileNetV2 (Sandler et al. 2018): (expansion, output channels, blocks, first stride)
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class QuantPoint(nn.Module):
    """Rounds a tensor to int8 with a fixed scale and zero point and back, as TFLite's activations are:
    clamp(round(x / scale) + zero, -128, 127) - zero, times scale. The zero point is a whole number, so
    it moves into the clamp's bounds, and every step works in place on x: four passes over the tensor
    and no new one. Callers pass tensors of their own (every caller here rounds a result it has just
    computed). The scale divides and multiplies as a 0-d float32 tensor (a Python float is converted to
    a tensor at every use) and bounds the clamp as a Python number (twice as fast as a tensor there).

    Small tensors (a norm's numbers per channel: seven roundings per norm) are rounded in one operation,
    torch's fake quantization, where each operation's fixed cost is all its cost (2 against 5.5 us on
    32 numbers). It multiplies by 1 / scale instead of dividing, which can move a value that lies
    within float precision of a tie by one step (none in 12 pictures at 512 px); on large tensors its
    loop is not vectorised (6x slower than the four passes)."""

    SMALL = 1024  # elements

    def __init__(self):
        super().__init__()
        self.register_buffer("qp", torch.tensor([1.0, 0.0]))  # (scale, zero point), set from the release
        self.constants = (1.0, 0)
        self.scale = torch.tensor(1.0)  # also as a 0-d float32 tensor (CPU): a Python float costs a conversion per use

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        scale, zero = self.qp.tolist()
        self.constants, self.scale = (scale, int(zero)), torch.tensor(scale)

    def forward(self, x: torch.Tensor, *, relu: bool = False) -> torch.Tensor:
        """`relu`: a ReLU first, as the lower bound of the clamp (the same numbers, one pass fewer)."""
        scale, zero = self.constants
        if x.numel() <= self.SMALL and x.device.type == "cpu":
            return torch.fake_quantize_per_tensor_affine(x, scale, zero, zero if relu else -128, 127)
        return x.div_(self.scale).round_().clamp_(0 if relu else -128 - zero, 127 - zero).mul_(self.scale)

    def codes(self, x: torch.Tensor, *, on_grid: bool = False) -> torch.Tensor:
        """x rounded here, as uint8 codes (the int8 code plus 128: oneDNN's int8 convolutions take
        unsigned inputs). A new tensor; x stays as it was. `on_grid`: x went through this rounding
        already, so its codes are whole numbers give or take float noise, and half a step added
        before the conversion's truncation finds them: x / scale + offset in one pass, then the bytes
        (2.5x as fast as rounding)."""
        scale, zero = self.constants
        if on_grid:
            return _to_bytes(torch.add(torch.tensor(zero + 128.5), x, alpha=1 / scale))
        return _to_bytes(torch.div(x, self.scale).round_().add_(zero + 128).clamp_(0, 255))

    def same_as(self, other: QuantPoint) -> bool:
        """Rounding twice with the same scale and zero point changes nothing the second time. (Compares
        the Python numbers: a comparison of tensors would split a torch.compile graph here.)"""
        return self.constants == other.constants

    def unless_same(self, x: torch.Tensor, rounded_as: QuantPoint | None) -> torch.Tensor:
        """x rounded here, unless x's values last went through `rounded_as` and that is the same
        rounding: then x is on this grid already. (The release rounds again after every padding, in
        every case with the numbers of the rounding just before it: four passes for nothing.)"""
        return x if rounded_as is not None and self.same_as(rounded_as) else self(x)


def _to_bytes(x: torch.Tensor) -> torch.Tensor:
    """x (float, every value in [0, 256)) truncated to uint8, by way of int16: torch converts float to
    uint8 in a loop that is not vectorised, 2.7x as slow as the two vectorised steps (8x170x258)."""
    return x.to(torch.int16).to(torch.uint8)


@lru_cache(maxsize=1)
def _int8_convolution():
    """oneDNN's int8 convolution with a float32 output and its weight packing (torch.ops.onednn on x86
    builds; named qconv2d_pointwise in older torch), or None where there is none or it does not give
    the right answer on two tiny cases (the ops are internal to torch and have changed between
    versions, and on CPUs without VNNI they saturate: `_sums_codes`)."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available():
        return None
    onednn = torch.ops.onednn
    for name in ("qconv_pointwise", "qconv2d_pointwise"):
        try:
            ops = getattr(onednn, name), onednn.qconv_prepack
            if _sums_codes(*ops):
                return ops
        except (AttributeError, RuntimeError, TypeError):
            continue
    return None


def _sums_codes(convolve, prepack) -> bool:
    """Whether the op sums codes exactly. A 1x1 convolution of codes 1..4 (zero point 1, scale 0.5) by
    weight code 3 (scale 0.25), bias 1: the op's arguments mean what `CodeConv` takes them to mean. And
    four channels of code 255 by weight codes 127 and -127: on x86 CPUs without VNNI (AVX2 only, as
    many AMD and older Intel ones) oneDNN multiplies bytes with an instruction that adds pairs of
    products into 16 bits and saturates there (255 x 127 x 2 = 64770 comes out as 32767), so the
    network's sums would be wrong by up to half; float32 is used there instead."""
    small = _convolve_once(convolve, prepack, torch.arange(1, 5, dtype=torch.uint8).view(1, 1, 2, 2), torch.full((1, 1, 1, 1), 3, dtype=torch.int8),
                           scales=(0.5, 0.25), zero=1, bias=1.0)  # fmt: skip
    large = _convolve_once(convolve, prepack, torch.full((1, 4, 1, 1), 255, dtype=torch.uint8), torch.tensor([127, -127], dtype=torch.int8).view(2, 1, 1, 1).expand(2, 4, 1, 1),
                           scales=(1.0, 1.0), zero=0, bias=0.0)  # fmt: skip
    return (
        small.dtype == torch.float32
        and torch.equal(small.flatten(), torch.tensor([1.0, 1.375, 1.75, 2.125]))
        and torch.equal(large.flatten(), torch.tensor([4 * 255 * 127.0, -4 * 255 * 127.0]))
    )


def _convolve_once(convolve, prepack, codes: torch.Tensor, weight: torch.Tensor, *, scales: tuple[float, float], zero: int, bias: float) -> torch.Tensor:
    """A stride-1 convolution of uint8 `codes` (input scale and zero point) by int8 `weight` (one scale for every output channel)."""
    channels = weight.shape[0]
    scale = torch.full((channels,), scales[1])
    packed = _prepack(prepack, weight, scale, scales[0], zero, (1, 1), 1)
    return _convolve(convolve, codes, scales[0], zero, packed, scale, _symmetric(channels), torch.full((channels,), bias), (1, 1), 1)


def _prepack(prepack, weight: torch.Tensor, weight_scale: torch.Tensor, scale: float, zero: int, stride: tuple[int, ...], groups: int):
    """oneDNN's packing of int8 `weight` codes (a scale per output channel) for uint8 input codes of `scale` and `zero` point, unpadded."""
    return prepack(weight.contiguous(), weight_scale, scale, zero, list(stride), [0, 0], [1, 1], groups, None)


def _convolve(convolve, codes: torch.Tensor, scale: float, zero: int, packed, weight_scale: torch.Tensor, weight_zeros: torch.Tensor,
              bias: torch.Tensor | None, stride: tuple[int, ...], groups: int) -> torch.Tensor:  # fmt: skip
    """oneDNN's convolution of uint8 `codes` by `packed` weight codes, in float32 with the scales applied."""
    return convolve(codes, scale, zero, packed, weight_scale, weight_zeros, bias, list(stride), [0, 0], [1, 1], groups, 1.0, 0, torch.float32, "none", [], None)


def _symmetric(channels: int) -> torch.Tensor:
    """The weight codes' zero points: 0 for every output channel (the release's weights are symmetric)."""
    return torch.zeros(channels, dtype=torch.int64)


def int8_convolutions_available() -> bool:
    return _int8_convolution() is not None


class CodeConv(nn.Conv2d):
    """One of the release's convolutions: int8 weight codes times a scale per output channel, over an
    input rounded to an int8 grid just before it (padding in between). `weight` holds the products,
    for the float path; after `pack`, on a CPU, `on_grid` convolves the codes themselves (exact
    integer sums: a float32 sum rounds) and gives the float32 result with the scales applied."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("weight_codes", torch.zeros(self.weight.shape, dtype=torch.int8), persistent=False)
        self.register_buffer("weight_scale", torch.ones(self.out_channels), persistent=False)
        self.packed: tuple | None = None  # oneDNN's op, the input's scale and uint8 zero point, the prepacked codes, their zero points

    def keep_codes(self, codes: torch.Tensor, scale: torch.Tensor) -> None:
        self.weight_codes.copy_(codes)
        self.weight_scale.copy_(scale)

    def pack(self, grid: QuantPoint) -> None:
        """Get ready to convolve codes on `grid` (the rounding before this convolution)."""
        convolve, prepack = _int8_convolution()
        scale, zero = grid.constants
        zero += 128  # the uint8 codes' zero point
        codes = _prepack(prepack, self.weight_codes, self.weight_scale, scale, zero, self.stride, self.groups)
        self.packed = (convolve, scale, zero, codes, _symmetric(self.out_channels))

    def on_grid(self, x: torch.Tensor, pad: int, grid: QuantPoint, rounded_as: QuantPoint | None = None) -> torch.Tensor:
        """The convolution of x reflection-padded by `pad` and rounded to `grid` (the rounding is
        skipped on the float path when x went through the same one last: `rounded_as`)."""
        padded = F.pad(x, (pad,) * 4, mode="reflect") if pad else x
        if self.packed is not None and x.device.type == "cpu":  # (torch pads floats faster than bytes)
            return self._convolve_codes(grid.codes(padded, on_grid=rounded_as is not None and grid.same_as(rounded_as)))
        return self(grid.unless_same(padded if pad else x.clone(), rounded_as))  # the rounding works in place

    def _convolve_codes(self, codes: torch.Tensor) -> torch.Tensor:
        convolve, scale, zero, packed, zeros = self.packed
        return _convolve(convolve, codes, scale, zero, packed, self.weight_scale, zeros, self.bias, self.stride, self.groups)


def _same_pad(x: torch.Tensor, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding for a 3x3 convolution: stride 2 pads only after (bottom and right)."""
    return F.pad(x, (0, 1, 0, 1)) if stride == 2 else F.pad(x, (1, 1, 1, 1))


# --- the style predictor --------------------------------------------------------------------------------------


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, 3x3 depthwise, 1x1 projection, and a skip when shapes allow."""

    def __init__(self, cin: int, cout: int, expansion: int, stride: int):
        super().__init__()
        hidden = cin * expansion
        self.stride, self.skip = stride, stride == 1 and cin == cout
        self.expand = nn.Conv2d(cin, hidden, 1) if expansion != 1 else None
        self.q_expand = QuantPoint() if expansion != 1 else None
        self.depthwise, self.q_depthwise = nn.Conv2d(hidden, hidden, 3, stride, groups=hidden), QuantPoint()
        self.project, self.q_project = nn.Conv2d(hidden, cout, 1), QuantPoint()
        self.q_add = QuantPoint() if self.skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.q_expand(F.relu6(self.expand(x))) if self.expand is not None else x
        y = self.q_depthwise(F.relu6(self.depthwise(_same_pad(y, self.stride))))
        y = self.q_project(self.project(y))
        return self.q_add(x + y) if self.skip else y


class StylePredictor(nn.Module):
    """A (N, 3, 256, 256) painting in [0, 1] -> its (N, 100) style vector."""

    def __init__(self):
        super().__init__()
        self.q_input = QuantPoint()
        self.stem, self.q_stem = nn.Conv2d(3, 32, 3, 2), QuantPoint()
        blocks, cin = [], 32
        for expansion, cout, repeats, stride in MOBILENET_V2:
            for i in range(repeats):
                blocks.append(InvertedResidual(cin, cout, expansion, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head, self.q_head = nn.Conv2d(320, 1280, 1), QuantPoint()
        self.q_pool = QuantPoint()
        self.bottleneck, self.q_out = nn.Conv2d(1280, STYLE_DIM, 1), QuantPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.q_input(x.clone())  # the caller's tensor stays as it was
        x = self.q_stem(F.relu6(self.stem(_same_pad(x, 2))))
        x = self.blocks(x)
        x = self.q_head(F.relu6(self.head(x)))
        x = self.q_pool(x.mean((2, 3), keepdim=True))
        return self.q_out(self.bottleneck(x)).flatten(1)


# --- the style transformer ------------------------------------------------------------------------------------


class StyleNorm(nn.Module):
    """Instance norm whose scale (gamma) and shift (beta) come from the style vector, rounded step by
    step as TFLite's batch_normalization does it. `condition` computes gamma and beta for one style;
    `statistics` and `normalise` split the work for tiled inference (tiling.shared_norm_statistics)."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma, self.beta = nn.Conv2d(STYLE_DIM, channels, 1), nn.Conv2d(STYLE_DIM, channels, 1)
        self.register_buffer("eps", torch.tensor(1e-5))
        names = ("gamma", "beta", "mean", "square", "var", "var_eps", "rsqrt", "scale", "mean_scale", "shift", "scaled")
        self.q = nn.ModuleDict({name: QuantPoint() for name in names})
        self.condition_on: tuple[torch.Tensor, torch.Tensor] | None = None

    def condition(self, style: torch.Tensor) -> None:
        """Fix gamma and beta for a (N, 100) quantized style vector."""
        s = style[:, :, None, None]
        self.condition_on = (self.q["gamma"](self.gamma(s)), self.q["beta"](self.beta(s)))

    def statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.q["mean"](x.mean((2, 3), keepdim=True))
        var = self.q["var"](self.q["square"](torch.sub(x, mean).square_()).mean((2, 3), keepdim=True))
        return mean, var

    def normalise(self, x: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        mean, var = stats
        gamma, beta = self.condition_on
        rsqrt = self.q["rsqrt"](torch.sqrt(self.q["var_eps"](var + self.eps)).reciprocal_())  # as 1 / sqrt, one op
        scale = self.q["scale"](rsqrt * gamma)
        shift = self.q["shift"](beta - self.q["mean_scale"](mean * scale))
        return self.q["scaled"](x * scale).add_(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalise(x, self.statistics(x))


class NormConv(nn.Module):
    """Reflection padding, a convolution and a StyleNorm, each output rounded; ReLU or not."""

    def __init__(self, cin: int, cout: int, kernel: int, *, relu: bool = True):
        super().__init__()
        self.pad, self.relu = kernel // 2, relu
        self.q_pad = QuantPoint()
        self.conv, self.q_conv = CodeConv(cin, cout, kernel), QuantPoint()
        self.norm, self.q_out = StyleNorm(cout), QuantPoint()

    def forward(self, x: torch.Tensor, rounded_as: QuantPoint | None = None) -> torch.Tensor:
        """`rounded_as`: the rounding x's values last went through, if known."""
        y = self.norm(self.q_conv(self.conv.on_grid(x, self.pad, self.q_pad, rounded_as)))
        return self.q_out(y, relu=self.relu)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int = 32):
        super().__init__()
        self.conv1, self.conv2 = NormConv(channels, channels, 3), NormConv(channels, channels, 3, relu=False)
        self.q_add = QuantPoint()

    def forward(self, x: torch.Tensor, rounded_as: QuantPoint | None = None) -> torch.Tensor:
        return self.q_add(x + self.conv2(self.conv1(x, rounded_as), self.conv1.q_out))


class StyleTransformer(nn.Module):
    """A photo (N, 3, H, W) in [0, 1], H and W multiples of 4, painted in the style that `condition`
    fixed; the result is in [0, 1]."""

    multiple = 4

    def __init__(self):
        super().__init__()
        self.q_style = QuantPoint()
        self.q_input = QuantPoint()
        self.contract = nn.ModuleList([CodeConv(3, 8, 9), CodeConv(8, 16, 3, 2), CodeConv(16, 32, 3, 2)])
        self.q_contract = nn.ModuleList([QuantPoint() for _ in range(3)])  # after each ReLU
        self.q_contract_pad = nn.ModuleList([QuantPoint() for _ in range(2)])  # after the padding of convs 2, 3
        self.residual = nn.Sequential(*[ResidualBlock() for _ in range(5)])
        self.expand = nn.ModuleList([NormConv(32, 16, 3), NormConv(16, 8, 3), NormConv(8, 3, 9, relu=False)])
        self.q_output = QuantPoint()

    def conditioned(self, style: torch.Tensor) -> StyleTransformer:
        """A copy of this network fixed to one (1, 100) style vector (the vector is rounded first, as the
        release rounds its input)."""
        net = copy.deepcopy(self)
        with torch.no_grad():
            style = net.q_style(style.to(next(net.parameters()).device, copy=True))
            for module in net.modules():
                if isinstance(module, StyleNorm):
                    module.condition(style)
        return net

    @staticmethod
    def int8_available() -> bool:
        return int8_convolutions_available()

    def integer_convolutions(self) -> StyleTransformer:
        """Convolve int8 codes from now on, where that is possible (a CPU with oneDNN's int8 kernels:
        `int8_convolutions_available`): the release's integer arithmetic, 3x faster than float32."""
        for conv, grid in self._convolutions():
            conv.pack(grid)
        return self

    def _convolutions(self) -> list[tuple[CodeConv, QuantPoint]]:
        """Each convolution with the rounding its input goes through."""
        pairs = [(self.contract[0], self.q_input), *zip(self.contract[1:], self.q_contract_pad)]
        return pairs + [(m.conv, m.q_pad) for m in self.modules() if isinstance(m, NormConv)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.q_contract[0](self.contract[0].on_grid(x, 4, self.q_input), relu=True)
        for conv, q_pad, q_before, q_out in zip(self.contract[1:], self.q_contract_pad, self.q_contract, self.q_contract[1:]):
            x = q_out(conv.on_grid(x, 1, q_pad, q_before), relu=True)
        rounded_as = self.q_contract[-1]
        for block in self.residual:
            x, rounded_as = block(x, rounded_as), block.q_add
        x = self.expand[0](F.interpolate(x, scale_factor=2, mode="nearest"), rounded_as)  # nearest: same values
        x = self.expand[1](F.interpolate(x, scale_factor=2, mode="nearest"), self.expand[0].q_out)
        return self.q_output(torch.sigmoid(self.expand[2](x, self.expand[1].q_out)))
