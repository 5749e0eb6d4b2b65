"""The VGG19 feature network: names, truncation, frozen weights and the input space handled inside."""

from __future__ import annotations

import pytest
import torch

from paintcli import registry
from paintcli.backbones import load_vgg19
from paintcli.errors import UsageError
from paintcli.nets.vgg import LAYERS, VGG19Features, check_layers, dequantize


def test_layer_names_follow_the_paper():
    assert LAYERS[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert LAYERS[-1] == "pool5" and len(LAYERS) == 37  # torchvision's vgg19().features has 37 modules
    assert LAYERS.index("relu4_2") == 22 and LAYERS.index("relu5_1") == 29


def test_unknown_layer_suggests_the_closest_name():
    with pytest.raises(UsageError, match="unknown VGG19 layer 'relu4_22'.*did you mean 'relu4_2'"):
        check_layers(["relu1_1", "relu4_22"])


def test_network_stops_at_the_deepest_layer_needed_and_is_frozen():
    net = load_vgg19("vgg19", last_layer="relu3_1")
    assert len(net.features) == LAYERS.index("relu3_1") + 1
    assert not any(p.requires_grad for p in net.parameters())
    out = net(torch.rand(1, 3, 32, 40), ["relu1_1", "relu3_1"])
    assert out["relu1_1"].shape == (1, 64, 32, 40)
    assert out["relu3_1"].shape == (1, 256, 8, 10)
    with pytest.raises(ValueError, match="built only up to relu3_1"):
        net(torch.rand(1, 3, 32, 32), ["relu4_1"])


def test_caffe_input_space_is_applied_inside():
    """RGB in [0, 1] in; the first conv sees BGR on 0-255 minus the Caffe mean."""
    net = VGG19Features(registry.CAFFE_SPACE, last_layer="conv1_1")
    rgb = torch.rand(1, 3, 8, 8)
    expected = rgb.flip(1) * 255 - torch.tensor(registry.CAFFE_BGR_MEAN).view(1, 3, 1, 1)
    assert torch.allclose(net.normalize(rgb), expected)


def test_imagenet_input_space_for_torchvision_weights():
    net = VGG19Features(registry.IMAGENET_SPACE, last_layer="conv1_1")
    rgb = torch.rand(1, 3, 8, 8)
    mean = torch.tensor(registry.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(registry.IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.allclose(net.normalize(rgb), (rgb - mean) / std)


def test_torchvision_state_dict_layout_loads(tmp_path):
    """A file in torchvision's vgg19 layout (features + classifier) loads by key into our network."""
    import torchvision

    reference = torchvision.models.vgg19(init_weights=False)  # the layout is what matters here
    for p in reference.features.parameters():
        torch.nn.init.normal_(p, std=0.05)
    net = VGG19Features(registry.IMAGENET_SPACE, last_layer="relu5_4")
    net.load_features(reference.state_dict())
    x = torch.rand(1, 3, 32, 32)
    mean = torch.tensor(registry.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(registry.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference.features[:36]((x - mean) / std)
    assert torch.allclose(net(x, ["relu5_4"])["relu5_4"], expected, atol=1e-5)


def test_dequantize_looks_up_codes_in_the_table():
    codes = torch.tensor([[0, 2], [1, 2]], dtype=torch.uint8)
    table = torch.linspace(-1, 1, 256)
    state = dequantize({"features.0.weight_codes": codes, "features.0.weight_table": table, "features.0.bias": torch.ones(2)})
    assert torch.equal(state["features.0.weight"], table[codes.long()])
    assert torch.equal(state["features.0.bias"], torch.ones(2))


def test_bundled_weights_are_the_real_network():
    """The bundled file dequantises to all 16 convs with plausible ImageNet-trained statistics."""
    net = load_vgg19("vgg19")
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 16
    first = convs[0].weight
    assert first.shape == (64, 3, 3, 3) and first.abs().max() > 0.1 and first.std() > 0.05
    # Channel responses differ (a random or zero network would not respond like this to structure).
    x = torch.zeros(1, 3, 32, 32)
    x[..., :, 16:] = 1.0  # a vertical edge
    act = net(x, ["relu1_1"])["relu1_1"][0]
    assert act[:, :, 14:18].mean() > 2 * act[:, :, 4:8].mean()
