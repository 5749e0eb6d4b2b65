"""VGG19 convolutional features with named taps (relu1_1 ... relu5_4).

The module takes RGB images in [0, 1] and applies the input space of its weights inside (Caffe's
BGR 0-255 minus the mean, or torchvision's ImageNet mean/std), so callers never think about it.
It is built only up to the deepest layer a caller needs, and its weights never require gradients.
State-dict keys follow torchvision (`features.N.weight`), so torchvision's file loads directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from paintcli.errors import UsageError, did_you_mean
from paintcli.registry import InputSpace

# (block, convs per block, channels) of VGG configurations "E" (19 layers) and "D" (16 layers),
# Simonyan & Zisserman, Table 1.
_BLOCKS = {
    19: ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512)),
    16: ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512)),
}


def _layer_plan(depth: int = 19) -> list[tuple[str, str, int]]:
    """[(name, type, out_channels)] in torchvision's order: conv, relu, ..., pool."""
    plan = []
    for block, convs, channels in _BLOCKS[depth]:
        for i in range(1, convs + 1):
            plan.append((f"conv{block}_{i}", "conv", channels))
            plan.append((f"relu{block}_{i}", "relu", channels))
        plan.append((f"pool{block}", "pool", channels))
    return plan


LAYERS: list[str] = [name for name, _, _ in _layer_plan()]
LAYER_INDEX: dict[str, int] = {name: i for i, name in enumerate(LAYERS)}
LAYERS_BY_DEPTH = {depth: [name for name, _, _ in _layer_plan(depth)] for depth in _BLOCKS}


def check_layers(names: Iterable[str], depth: int = 19) -> None:
    """Raise a UsageError naming the first unknown layer."""
    known = LAYERS_BY_DEPTH[depth]
    for name in names:
        if name not in known:
            raise UsageError(
                f"unknown VGG{depth} layer {name!r}{did_you_mean(name, known)}",
                "use names like relu1_1, relu4_2 or conv5_1 (blocks 1-5)",
            )


class VGG19Features(nn.Module):
    """VGG19 (or VGG16 with depth=16) up to `last_layer`; forward returns the activations asked for."""

    def __init__(self, input_space: InputSpace, last_layer: str = "relu5_4", depth: int = 19):
        super().__init__()
        check_layers([last_layer], depth)
        self.last_layer, self.depth = last_layer, depth
        self.layers = LAYERS_BY_DEPTH[depth]
        index = {name: i for i, name in enumerate(self.layers)}
        self.bgr = input_space.channel_order == "bgr"
        self.register_buffer("scale", torch.tensor(input_space.scale), persistent=False)
        self.register_buffer("mean", torch.tensor(input_space.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(input_space.std).view(1, 3, 1, 1), persistent=False)
        modules: list[nn.Module] = []
        in_channels = 3
        for _name, kind, channels in _layer_plan(depth)[: index[last_layer] + 1]:
            if kind == "conv":
                modules.append(nn.Conv2d(in_channels, channels, kernel_size=3, padding=1))
                in_channels = channels
            elif kind == "relu":
                modules.append(nn.ReLU(inplace=False))
            else:
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*modules)
        self.requires_grad_(False)
        self.eval()

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb.flip(1) if self.bgr else rgb
        return (x * self.scale - self.mean) / self.std

    def forward(self, rgb: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        check_layers(wanted, self.depth)
        deepest = max(self.layers.index(n) for n in wanted)
        if deepest >= len(self.features):
            raise ValueError(f"this network was built only up to {self.last_layer}")
        out: dict[str, torch.Tensor] = {}
        x = self.normalize(rgb)
        for index in range(deepest + 1):
            layer = self.features[index]
            if isinstance(layer, nn.ReLU) and self.layers[index - 1] not in wanted:
                x = torch.relu_(x)  # the convolution's output is not kept: overwrite it (half the memory)
            else:
                x = layer(x)
            if self.layers[index] in wanted:
                out[self.layers[index]] = x
        return out

    def load_features(self, state: dict[str, torch.Tensor]) -> None:
        """Load `features.N.*` tensors (torchvision layout), ignoring layers beyond `last_layer`."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        if missing:
            raise KeyError(f"weights lack {missing[:3]}")
        self.load_state_dict({k: state[k] for k in own}, strict=True)


def dequantize(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Expand paintcli's 8-bit file (codes + 256-entry table per conv) into float weights."""
    state: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if key.endswith(".weight_codes"):
            prefix = key[: -len(".weight_codes")]
            table = tensors[f"{prefix}.weight_table"]
            state[f"{prefix}.weight"] = table[value.long()]
        elif key.endswith(".bias"):
            state[key] = value
    return state
