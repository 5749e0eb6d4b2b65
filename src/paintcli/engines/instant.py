"""Instant painting with the networks that ship inside paint: offline from the first run.

`ArbitraryStylizer` paints in the style of any picture with Magenta's arbitrary stylization network
(a style image becomes 100 numbers; several mix by weight; `strength` moves the numbers toward the
photo's own, as Magenta does). `BuiltinStylizer` paints one of 26 built-in styles or a mix of them.
Both networks are `ImageToImage` networks, so the one-pass engine gives them any size, batches,
tiles and colour preservation; they run at the output's resolution unless `work_size` says smaller.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import torch
from PIL import Image
from torch import nn

from paintcli import device as devices, functional as fn, imageio, registry
from paintcli.config import OnePassConfig, blend_weights
from paintcli.engines.one_pass import OnePass, OnePassResult
from paintcli.errors import PaintError, UnknownNameError, UsageError, did_you_mean
from paintcli.nets.image_to_image import ImageToImage
from paintcli.nets.magenta import STYLE_SIZE, CodeConv, StylePredictor, StyleTransformer
from paintcli.nets.multistyle import STYLES, MultiStyleNet

FORMATS = {"magenta-arbitrary": "paintcli.magenta-q8/1", "multistyle26": "paintcli.multistyle26/1"}


class ArbitraryStylizer:
    """Any picture as the style, in one pass."""

    def __init__(self, *, device: torch.device | str | None = None):
        self.device = devices.resolve(device)
        tensors = _bundled("magenta-arbitrary")
        self.predictor = _load_q8(StylePredictor(), tensors["predictor"]).to(self.device)
        self.transformer = _load_q8(StyleTransformer(), tensors["transformer"]).to(self.device)

    @torch.no_grad()
    def style_vector(self, image: Image.Image) -> torch.Tensor:
        """The (1, 100) style of a picture: its centre square at 256 x 256 through the predictor."""
        return self.predictor(fn.to_tensor(_centre_square(imageio.to_rgb(image), STYLE_SIZE), self.device))

    def mix(self, styles: Sequence[Image.Image], blend: Sequence[float] = ()) -> torch.Tensor:
        """The style vectors of several pictures, mixed by `blend` (equal weights when empty)."""
        weights = blend_weights(tuple(blend), len(styles))
        return sum(w * self.style_vector(s) for w, s in zip(weights, styles, strict=True))

    def painter(self, vector: torch.Tensor, config: OnePassConfig = OnePassConfig()) -> OnePass:
        """A one-pass painter in the style `vector` (from style_vector or mix)."""
        net = ImageToImage(self.transformer.conditioned(vector), multiple=StyleTransformer.multiple, channels_last=True)
        return OnePass(net.eval(), self.device, config)

    def run(
        self, photo: Image.Image, styles: Sequence[Image.Image], *, blend: Sequence[float] = (), strength: float = 1.0,
        config: OnePassConfig = OnePassConfig(),
    ) -> OnePassResult:  # fmt: skip
        """Paint one photo; `strength` 0 gives the photo's own style, 1 the styles'."""
        return self.painter(self.toward_photo(self.mix(styles, blend), photo, strength), config).run(photo)

    def toward_photo(self, vector: torch.Tensor, photo: Image.Image, strength: float) -> torch.Tensor:
        check_strength(strength)
        return vector if strength == 1 else strength * vector + (1 - strength) * self.style_vector(photo)


class BuiltinStylizer:
    """The 26 built-in styles (by name or number) and mixes of them, in one pass."""

    def __init__(self, *, device: torch.device | str | None = None):
        self.device = devices.resolve(device)
        net = MultiStyleNet()
        net.load_state_dict(_bundled("multistyle26")["state_dict"], strict=True)
        self.net = net.to(self.device).eval().requires_grad_(False)

    def painter(self, weights: Sequence[float], config: OnePassConfig = OnePassConfig(), *, strength: float = 1.0) -> OnePass:
        """A one-pass painter for a mix of the styles: 26 weights (see parse_styles)."""
        check_strength(strength)
        styled = self.net.conditioned(torch.tensor(list(weights), dtype=torch.float32))
        net = ImageToImage(_Mixed(styled, strength), multiple=MultiStyleNet.multiple, channels_last=True, bf16_safe=True)
        return OnePass(net.eval(), self.device, config)

    def run(self, photo: Image.Image, styles: str, *, strength: float = 1.0, config: OnePassConfig = OnePassConfig()) -> OnePassResult:
        return self.painter(parse_styles(styles), config, strength=strength).run(photo)


class _Mixed(nn.Module):
    """`strength` of the network's picture over the photo (the built-in styles' --strength)."""

    def __init__(self, net: nn.Module, strength: float):
        super().__init__()
        self.net, self.strength = net, strength

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        return y if self.strength == 1 else self.strength * y + (1 - self.strength) * x


def parse_styles(spec: str) -> tuple[float, ...]:
    """'starry', '19', or a mix like 'starry:0.5,wave:0.5' -> 26 weights that sum to 1."""
    weights = [0.0] * STYLES
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, amount = part.partition(":")
        try:
            weight = float(amount) if amount else 1.0
        except ValueError:
            raise UsageError(f"--style {spec!r}: {amount!r} is not a number", "write a mix like starry:0.5,wave:0.5") from None
        weights[style_index(name.strip())] += weight
    if not any(weights) or any(w < 0 for w in weights):
        raise UsageError(f"--style {spec!r} gives no style", "name one, e.g. --style starry, or a mix like starry:0.5,wave:0.5")
    total = sum(weights)
    return tuple(w / total for w in weights)


def style_index(name: str) -> int:
    """The number of a built-in style, from its name or its number."""
    if name.isdigit():
        if int(name) >= STYLES:
            raise UnknownNameError(f"there is no built-in style {name}", f"use 0 to {STYLES - 1}, or a name from paint stylize --list-styles")
        return int(name)
    try:
        return registry.BUILTIN_STYLES.index(name.lower())
    except ValueError:
        raise UnknownNameError(
            f"unknown built-in style {name!r}{did_you_mean(name.lower(), registry.BUILTIN_STYLES)}",
            "see paint stylize --list-styles, or give a picture file as --style",
        ) from None


def check_strength(strength: float) -> None:
    if not 0 <= strength <= 1:
        raise UsageError(f"--strength must be between 0 and 1, got {strength}", "0 keeps the photo's own look, 1 is full style")


def _centre_square(img: Image.Image, side: int) -> Image.Image:
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    return img.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.LANCZOS)


@lru_cache(maxsize=2)
def _bundled(name: str) -> dict:
    """A bundled weight file, read once per process."""
    entry = registry.get(name)
    path = resources.files("paintcli") / "data" / entry.filename
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise PaintError(f"the bundled file {entry.filename} is missing from this installation", "reinstall paintcli") from None
    if state.get("format") != FORMATS[name]:
        raise PaintError(f"{entry.filename} is not a paintcli {name} file", "reinstall paintcli")
    return state


def _load_q8(net: nn.Module, tensors: dict[str, torch.Tensor]) -> nn.Module:
    """Load a network from int8 weight codes with per-channel scales (and everything else as stored);
    convolutions that can work on the codes (CodeConv) keep them too."""
    state, codes = {}, {}
    for key, value in tensors.items():
        if key.endswith(".weight_codes"):
            prefix = key.removesuffix(".weight_codes")
            scale = tensors[f"{prefix}.weight_scale"]
            state[f"{prefix}.weight"] = value.float() * scale.view(-1, 1, 1, 1)
            codes[prefix] = (value, scale)
        elif not key.endswith(".weight_scale"):
            state[key] = value
    net.load_state_dict(state, strict=True)
    for name, module in net.named_modules():
        if isinstance(module, CodeConv):
            module.keep_codes(*codes[name])
    return net.eval().requires_grad_(False)


def contact_sheet(photo: Image.Image, stylizer: BuiltinStylizer, *, tile: int = 256, columns: int = 7) -> Image.Image:
    """The photo and its 26 built-in styles side by side, each under its number and name."""
    from PIL import ImageDraw

    small = imageio.resize_longest(imageio.to_rgb(photo), tile)
    tiles = [("photo", small)]
    for number, name in enumerate(registry.BUILTIN_STYLES):
        weights = [0.0] * STYLES
        weights[number] = 1.0
        tiles.append((f"{number} {name}", stylizer.painter(weights).run(small).image))
    w, h = small.size
    pad, label = 6, 18
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (pad + columns * (w + pad), pad + rows * (h + label + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (text, image) in enumerate(tiles):
        row, column = divmod(i, columns)
        x, y = pad + column * (w + pad), pad + row * (h + label + pad)
        draw.text((x + 2, y + 2), text, fill="black")
        sheet.paste(image, (x, y + label))
    return sheet
