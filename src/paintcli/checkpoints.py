"""Loading generator checkpoints: official pix2pix/CycleGAN files as they are, or paintcli's own.

An official file is a bare state dict with no record of its architecture; we work it out from the
key names and tensor shapes (generator type, blocks or downsamplings, ngf, norm, dropout), drop the
InstanceNorm running statistics that the released CycleGAN files carry from an old PyTorch, and then
load strictly. paintcli's own files carry a `spec` next to the weights.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict
from pathlib import Path

import torch

from paintcli.atomic import atomic_path
from paintcli.errors import CheckpointError
from paintcli.nets.generators import GeneratorSpec

LEGACY_STAT = re.compile(r"\.(running_mean|running_var|num_batches_tracked)$")
_RESNET_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.")


def read_state(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], GeneratorSpec | None]:
    """The tensors of a checkpoint and, for paintcli's own files, the spec stored with them."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist", "check the path, or give a model name from `paint download --list`")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncation, not a torch file at all
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__})",
            "check that the download finished, or download it again",
        ) from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} holds a {type(raw).__name__}, not a state dict", "pass a generator .pth file")
    spec = GeneratorSpec(**raw["spec"]) if isinstance(raw.get("spec"), dict) else None
    state = raw.get("state_dict", raw)
    state = {_strip_prefixes(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    return state, spec


def _strip_prefixes(key: str) -> str:
    for prefix in ("module.", "_orig_mod."):  # DataParallel / DDP and torch.compile leave these
        key = key.removeprefix(prefix)
    return key


def infer_spec(state: dict[str, torch.Tensor], *, source: str = "the checkpoint") -> GeneratorSpec:
    """The generator architecture that produced `state`, from its keys and shapes."""
    if "model.model.0.weight" in state:
        return _infer_unet(state)
    if "model.1.weight" in state and any(_RESNET_BLOCK.match(k) for k in state):
        return _infer_resnet(state)
    sample = ", ".join(list(state)[:3]) or "no tensors"
    raise CheckpointError(
        f"{source} matches no known generator (keys start {sample})",
        "paint translate reads pix2pix/CycleGAN generators (resnet_6/9blocks, unet_128/256) and paintcli checkpoints",
    )


def _infer_resnet(state) -> GeneratorSpec:
    blocks = sorted({int(m.group(1)) for k in state if (m := _RESNET_BLOCK.match(k))})
    first = state["model.1.weight"]
    last_conv = max((k for k in state if re.fullmatch(r"model\.\d+\.weight", k)), key=lambda k: int(k.split(".")[1]))
    return GeneratorSpec(
        arch="resnet",
        blocks=len(blocks),
        ngf=first.shape[0],
        norm=_norm_kind(state, norm_weight="model.2.weight", conv_bias="model.1.bias"),
        dropout=f"model.{blocks[0]}.conv_block.6.weight" in state,
        input_nc=first.shape[1],
        output_nc=state[last_conv].shape[0],
    )


def _infer_unet(state) -> GeneratorSpec:
    prefix, downs = "model.model.1.", 1  # the outermost level is one downsampling
    while f"{prefix}model.1.weight" in state:
        downs += 1
        prefix += "model.3."
    first = state["model.model.0.weight"]
    return GeneratorSpec(
        arch="unet",
        blocks=downs,
        ngf=first.shape[0],
        norm=_norm_kind(state, norm_weight="model.model.1.model.2.weight", conv_bias="model.model.0.bias"),
        dropout=True,  # U-Net dropout shifts no key, so files cannot tell; the pix2pix recipe has it on
        input_nc=first.shape[1],
        output_nc=state["model.model.3.weight"].shape[1],
    )


def _norm_kind(state, *, norm_weight: str, conv_bias: str) -> str:
    if norm_weight in state:
        return "batch"  # affine BatchNorm; convs then have no bias
    if conv_bias in state:
        return "instance"  # non-affine InstanceNorm; convs keep their bias
    return "none"


def load_generator(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, GeneratorSpec]:
    """A generator ready to run, from an official file or one of ours; no flags needed."""
    state, spec = read_state(path)
    spec = spec or infer_spec(state, source=str(path))
    net = spec.build()
    load_into(net, state, source=f"{path} looks like {spec.name} but")
    return net, spec


def load_into(net: torch.nn.Module, state: dict[str, torch.Tensor], *, source: str) -> torch.nn.Module:
    """Load `state` into `net` strictly, after dropping running statistics `net` has no place for.

    Files saved by PyTorch < 0.4 (the released CycleGAN generators, pytorch/examples' fast style
    models) carry InstanceNorm running statistics; today's InstanceNorm (like the official code's)
    has none, and using them would change the pictures, so they are dropped.
    """
    expected = net.state_dict()
    state = {k: v for k, v in state.items() if k in expected or not LEGACY_STAT.search(k)}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise CheckpointError(
            f"{source} does not fit it "
            f"({len(missing)} missing keys such as {missing[:2]}, {len(unexpected)} unexpected such as {unexpected[:2]})",
            "the file may be damaged, or made for another network",
        )
    bad = [k for k, v in expected.items() if v.shape != state[k].shape]
    if bad:
        raise CheckpointError(f"{source} has a shape mismatch at {bad[0]}", "the file may be made for another network")
    net.load_state_dict(state, strict=True)
    return net


def save_generator(net: torch.nn.Module, spec: GeneratorSpec, path: str | os.PathLike[str], *, official: bool) -> Path:
    """Write a generator atomically: the bare official layout, or ours with the spec beside it."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    payload = state if official else {"format": "paintcli.generator/1", "spec": asdict(spec), "state_dict": state}
    return save(payload, path)


def save(obj, path: str | os.PathLike[str]) -> Path:
    """torch.save through a temporary file: `path` holds the old file or the whole new one, never half."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)
