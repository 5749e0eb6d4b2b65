"""The records the registry is made of: an Entry per downloadable (or bundled) file, and the input
spaces of feature networks. Data only; no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
    size: int | None = None  # exact bytes, checked after download
    approx_size: int | None = None  # for display only, when the exact size is not published
    sha256: str | None = None
    sha256_prefix: str | None = None
    bundled: bool = False  # shipped inside the paintcli package; never downloaded
    license: str = ""
    source: str = ""
    input_space: InputSpace | None = None
    family: str = ""  # cyclegan | pix2pix for models and datasets
    direction: str | None = None  # AtoB | BtoA: which half of an AB dataset image the model takes
    layout: tuple[str, ...] = ()  # datasets: folders the extracted archive must hold
    archive: str | None = None  # the entry (a zip) this file is taken from
    member: str | None = None  # its path inside that zip
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def display_size(self) -> int | None:
        return self.size or self.approx_size
