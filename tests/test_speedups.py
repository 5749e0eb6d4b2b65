"""The CPU speed-ups change no result a user sees: the instance norm on the CPU gives the float64
numbers, the bundled networks give the same pictures in every memory layout, the 8-bit rounding
leaves the caller's tensors alone, and the memory setting can be turned off."""

from __future__ import annotations

import platform

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from paintcli import memory
from paintcli.engines.instant import ArbitraryStylizer, BuiltinStylizer, parse_styles
from paintcli.nets.magenta import CodeConv, QuantPoint, _sums_codes, int8_convolutions_available
from paintcli.nets.norm import InstanceNorm2d, instance_norm


def reference_instance_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    x = x.double()
    var, mean = torch.var_mean(x, dim=(2, 3), correction=0, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight.double().view(1, -1, 1, 1) + bias.double().view(1, -1, 1, 1)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_instance_norm_is_exact_even_for_channels_with_a_large_mean(layout):
    # channel means of 0, 5 and 50 with a deviation of 1: E[x^2] - E[x]^2 in float32 loses the variance
    torch.manual_seed(0)
    x = (torch.randn(2, 3, 64, 64) + torch.tensor([0.0, 5.0, 50.0]).view(1, 3, 1, 1)).contiguous(memory_format=layout)
    weight, bias = torch.rand(3) + 0.5, torch.randn(3)
    assert (instance_norm(x, weight, bias, 1e-5).double() - reference_instance_norm(x, weight, bias)).abs().max() < 1e-4


def test_our_instance_norm_is_torchs_with_the_same_state_dict():
    ours, theirs = InstanceNorm2d(8, affine=True), nn.InstanceNorm2d(8, affine=True)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.load_state_dict({"weight": torch.rand(8), "bias": torch.rand(8)})
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 8, 20, 12)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


@pytest.mark.parametrize("kind", ["builtin", "arbitrary"])
def test_bundled_networks_paint_the_same_picture_in_either_memory_layout(kind):
    torch.manual_seed(1)
    if kind == "builtin":
        net = BuiltinStylizer(device="cpu").net.conditioned(torch.tensor(parse_styles("starry")))
    else:
        net = ArbitraryStylizer(device="cpu").transformer.conditioned(torch.rand(1, 100))
    x = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        plain = net(x.clone())
        layered = net.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert plain.shape == layered.shape == (1, 3, 48, 64)
    assert (plain - layered).abs().max() < 2 / 255


def test_flat_pictures_come_out_as_float64_paints_them():
    """A picture of one colour has no variance: a norm that amplifies rounding noise shows there
    (channels-last batch norm throughout was 2.6 grey levels off)."""
    base, weights = BuiltinStylizer(device="cpu").net, torch.tensor(parse_styles("starry"))
    x = torch.ones(1, 3, 48, 64)
    with torch.no_grad():
        ours = base.conditioned(weights)(x.contiguous(memory_format=torch.channels_last))
        exact = base.double().conditioned(weights)(x.double())
    assert (ours.double() - exact).abs().max() < 0.25 / 255


def test_rounding_to_int8_leaves_the_callers_tensors_alone():
    stylizer = ArbitraryStylizer(device="cpu")
    painting = torch.rand(1, 3, 256, 256)
    kept = painting.clone()
    with torch.no_grad():
        vector = stylizer.predictor(painting) + 0.001  # off the int8 grid
        vector_kept = vector.clone()
        stylizer.transformer.conditioned(vector)
    assert torch.equal(painting, kept)
    assert torch.equal(vector, vector_kept)


@pytest.mark.parametrize("n", [34, 4001])  # a norm's per-channel numbers (one fused operation), and activations
@pytest.mark.parametrize("relu", [False, True])
def test_int8_rounding_with_loaded_numbers_equals_the_formula(n, relu):
    q = QuantPoint()
    q.load_state_dict({"qp": torch.tensor([0.05, 3.0])})
    x = torch.linspace(-10, 10, n)
    expected = (torch.clamp(torch.round((x.clamp(min=0) if relu else x) / 0.05) + 3, -128, 127) - 3) * 0.05
    assert torch.allclose(q(x.clone(), relu=relu), expected, atol=1e-6)


@pytest.mark.skipif(not int8_convolutions_available(), reason="oneDNN's exact int8 convolutions: x86 CPUs with VNNI")
@pytest.mark.parametrize("stride", [1, 2])
def test_int8_convolution_sums_the_codes_exactly(stride):
    """On the codes the sums are whole numbers (float32 sums round); on or off the input's grid, the
    input is rounded as the float path rounds it."""
    torch.manual_seed(0)
    conv, grid = CodeConv(8, 4, 3, stride), QuantPoint()
    grid.load_state_dict({"qp": torch.tensor([0.02, -3.0])})
    codes, scale = torch.randint(-127, 128, (4, 8, 3, 3), dtype=torch.int8), torch.rand(4) * 0.01 + 0.001
    conv.keep_codes(codes, scale)
    conv.load_state_dict({"weight": codes.float() * scale.view(-1, 1, 1, 1), "bias": torch.randn(4)})
    for x, rounded_as in ((grid(torch.randn(1, 8, 20, 24)), grid), (torch.randn(1, 8, 20, 24), None)):
        on_grid = grid(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        exact = F.conv2d(on_grid.double(), codes.double() * scale.double().view(-1, 1, 1, 1), conv.bias.double(), stride)
        conv.packed = None
        floats = conv.on_grid(x, 1, grid, rounded_as)
        conv.pack(grid)
        ints = conv.on_grid(x, 1, grid, rounded_as)
        assert ints.dtype == torch.float32 and ints.shape == exact.shape
        assert (ints.double() - exact).abs().max() < 1e-5 and (ints - floats).abs().max() < 1e-4


def _one_by_one_int8_ops(saturate: bool):
    """Stand-ins for oneDNN's prepack and int8 convolution, 1x1 and stride 1 only: exact, or adding
    pairs of byte products into 16 bits with saturation as its kernels do on x86 CPUs without VNNI."""

    def prepack(weight, *_):
        return weight.clone()

    def convolve(codes, x_scale, x_zero, weight, w_scale, _w_zero, bias, *_):
        products = codes.int()[:, None] * weight[..., 0, 0].int()[None, :, :, None, None]  # (N, out, in, H, W)
        if saturate:
            products = F.pad(products, (0, 0, 0, 0, 0, products.shape[2] % 2)).unflatten(2, (-1, 2)).sum(3).clamp(-32768, 32767)
        sums = products.sum(2) - x_zero * weight.int().sum((1, 2, 3)).view(1, -1, 1, 1)
        return sums.float() * x_scale * w_scale.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)

    return convolve, prepack


def test_int8_convolutions_are_refused_where_they_saturate():
    """On a CPU without VNNI two products of 255 x 127 would add up to 32767, not 64770: float32 is used there."""
    assert _sums_codes(*_one_by_one_int8_ops(saturate=False))
    assert not _sums_codes(*_one_by_one_int8_ops(saturate=True))


def test_a_different_int8_rounding_is_never_skipped():
    first, same, other = QuantPoint(), QuantPoint(), QuantPoint()
    first.load_state_dict({"qp": torch.tensor([0.05, 3.0])})
    same.load_state_dict({"qp": torch.tensor([0.05, 3.0])})
    other.load_state_dict({"qp": torch.tensor([0.07, 3.0])})
    x = first(torch.linspace(-5, 5, 301))
    assert same.unless_same(x, first) is x
    assert torch.equal(other.unless_same(x.clone(), first), other(x.clone()))
    assert not torch.equal(other(x.clone()), x)


def test_skipping_the_repeated_int8_roundings_changes_no_value(monkeypatch):
    """The arbitrary network skips a rounding after each padding when the padded values went through
    the same one just before; doing every rounding of the release gives the same numbers."""
    net = ArbitraryStylizer(device="cpu").transformer.conditioned(torch.rand(1, 100))
    x = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        skipping = net(x)
        monkeypatch.setattr(QuantPoint, "unless_same", lambda self, x, rounded_as: self(x))
        every = net(x)
    assert torch.equal(skipping, every)


@pytest.mark.parametrize("kind", ["builtin", "arbitrary", "arbitrary on int8 codes"])
def test_bundled_networks_compile_as_one_graph(kind):
    """--compile is only faster when dynamo traces the whole network: a break in the middle (the
    arbitrary network's int8 points once compared tensors there) made it slower than not compiling."""
    torch._dynamo.reset()
    if kind == "builtin":
        net = BuiltinStylizer(device="cpu").net.conditioned(torch.tensor(parse_styles("starry")))
    else:
        net = ArbitraryStylizer(device="cpu").transformer.conditioned(torch.rand(1, 100))
    if kind == "arbitrary on int8 codes":
        if not int8_convolutions_available():
            pytest.skip("oneDNN's exact int8 convolutions: x86 CPUs with VNNI")
        net.integer_convolutions()
    with torch.no_grad():
        explained = torch._dynamo.explain(net)(torch.rand(1, 3, 32, 48))
    assert explained.graph_break_count == 0, explained.break_reasons


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_memory_is_kept_on_glibc_unless_turned_off(monkeypatch):
    assert memory.keep_freed_memory() is True
    monkeypatch.setenv("PAINT_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory() is False


def test_collector_paused_for_start_up_and_back_for_the_work():
    """The paint command pauses the cyclic collector while it imports and builds, and turns it back
    on (what start-up made frozen) once the work begins; a collector someone else turned off stays off."""
    import gc

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        memory.pause_collector()
        assert not gc.isenabled()
        start_up = [[i] for i in range(100)]  # objects made during start-up
        memory.resume_collector()
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(start_up)
        memory.resume_collector()  # without a pause: nothing to do
        assert gc.isenabled()
        gc.disable()  # the program's own choice
        memory.pause_collector()
        memory.resume_collector()
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()  # the test process's objects back under the collector


def test_the_paint_command_paints_with_the_collector_running(tmp_path):
    """In the real command (main) the collector is paused through start-up and running for the work."""
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from paintcli.cli import runner, main\n"
        "original = runner.memory.resume_collector\n"
        "def resume():\n"
        "    print('start-up:', gc.isenabled(), file=sys.stderr)\n"
        "    original()\n"
        "    print('work:', gc.isenabled(), file=sys.stderr)\n"
        "runner.memory.resume_collector = resume\n"
        "sys.argv = ['paint', 'stylize', sys.argv[1], '--style', 'starry', '--size', '32', '-o', sys.argv[2]]\n"
        "main()\n"
    )
    from PIL import Image

    Image.new("RGB", (40, 30), (120, 80, 40)).save(tmp_path / "in.png")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "in.png"), str(tmp_path / "out.png")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "start-up: False" in done.stderr and "work: True" in done.stderr and (tmp_path / "out.png").is_file()
