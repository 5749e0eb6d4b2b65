"""The one network shape: every feed-forward network takes RGB in [0, 1] of any size and returns the same."""

from __future__ import annotations

import pytest
import torch

from paintcli.engines.fast_style import transformer_net
from paintcli.engines.translate import generator_net
from paintcli.nets.adain import AdaINEncoder, AdaINLayer, StyledAdaIN, decoder, mean_std, vgg_normalised
from paintcli.nets.generators import GeneratorSpec
from paintcli.nets.image_to_image import ImageToImage, pad_to_multiple
from paintcli.nets.transformer_net import TransformerNet


def _randomise(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    for name, p in net.named_parameters():
        torch.nn.init.normal_(p, 1.0 if (p.dim() == 1 and name.endswith("weight")) else 0.0, 0.05)
    return net


def _adain() -> ImageToImage:
    encoder = AdaINEncoder(_randomise(vgg_normalised(), 1))
    style = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        stats = [mean_std(encoder(style)["relu4_1"])]
    layer = AdaINLayer(stats, [1.0], alpha=0.8)
    return ImageToImage(StyledAdaIN(encoder, _randomise(decoder(), 2), layer), multiple=StyledAdaIN.multiple)


def _bundled_arbitrary() -> ImageToImage:
    from paintcli.engines.instant import ArbitraryStylizer

    stylizer = ArbitraryStylizer(device="cpu")
    return stylizer.painter(stylizer.style_vector(_picture())).net


def _bundled_builtin(precision: str = "fp32") -> ImageToImage:
    from paintcli.config import OnePassConfig
    from paintcli.engines.instant import BuiltinStylizer, parse_styles

    return BuiltinStylizer(device="cpu").painter(parse_styles("starry:0.5,wave:0.5"), OnePassConfig(precision=precision)).net


def _picture():
    from tests.fixtures import style_image

    return style_image()


NETWORKS = {
    "transformer_net": lambda: transformer_net(_randomise(TransformerNet())),
    "transformer_net in bf16": lambda: transformer_net(_randomise(TransformerNet())).compute_in("bf16"),
    "resnet generator": lambda: generator_net(_randomise(GeneratorSpec("resnet", 2, ngf=8).build()), GeneratorSpec("resnet", 2, ngf=8)),
    "unet generator (eval)": lambda: generator_net(_randomise(GeneratorSpec("unet", 5, ngf=4, norm="batch").build()).eval(), GeneratorSpec("unet", 5)),
    "resnet generator in bf16": lambda: generator_net(_randomise(GeneratorSpec("resnet", 2, ngf=8).build()), GeneratorSpec("resnet", 2, ngf=8)).compute_in("bf16"),
    "unet generator (eval) in bf16": lambda: generator_net(_randomise(GeneratorSpec("unet", 5, ngf=4, norm="batch").build()).eval(), GeneratorSpec("unet", 5)).compute_in("bf16"),
    "adain": _adain,
    "bundled arbitrary": _bundled_arbitrary,
    "bundled builtin": _bundled_builtin,
    "bundled builtin in bf16": lambda: _bundled_builtin("bf16"),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_odd_sizes_come_back_the_same_size_in_range(name):
    net = NETWORKS[name]().eval()
    for h, w in [(37, 23), (17, 50), (64, 48)]:
        with torch.no_grad():
            y = net(torch.rand(1, 3, h, w))
        assert y.shape == (1, 3, h, w)
        assert 0 <= float(y.min()) and float(y.max()) <= 1 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", NETWORKS)
def test_a_batch_of_three_equals_three_single_runs(name):
    net = NETWORKS[name]().eval()
    assert net.batch_independent
    torch.manual_seed(3)
    x = torch.rand(3, 3, 40, 28)
    with torch.no_grad():
        batch = net(x)
        single = torch.cat([net(x[i : i + 1]) for i in range(3)])
    if net.dtype == torch.bfloat16:  # a batch and a single picture take different kernels, each rounding to bf16
        assert batch.dtype == torch.float32 and 10 * torch.log10(1 / (batch - single).square().mean()) > 40
    else:
        assert torch.allclose(batch, single, atol=1e-5)


def test_batch_norm_in_training_mode_is_not_batch_independent():
    net = generator_net(GeneratorSpec("unet", 5, ngf=4, norm="batch").build().train(), GeneratorSpec("unet", 5))
    assert not net.batch_independent
    assert net.eval().batch_independent


def test_value_range_and_padding_are_the_networks_own():
    seen = {}

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen["range"], seen["shape"] = (float(x.min()), float(x.max())), tuple(x.shape)
            return x

    wrapped = ImageToImage(Probe(), multiple=8, value_range=(-1.0, 1.0))
    x = torch.zeros(1, 3, 21, 30)
    x[..., 0, 0] = 1.0
    y = wrapped(x)
    assert seen["range"] == (-1.0, 1.0) and seen["shape"] == (1, 3, 24, 32)
    assert torch.equal(y, x)  # the identity network gives the input back exactly
    padded, box = pad_to_multiple(torch.rand(1, 3, 21, 30), 8)
    assert padded.shape[-2:] == (24, 32) and box == (1, 1, 21, 30)
