"""Every named thing paint can fetch or ship, as data.

One record per name (records.py): where it comes from, how big it is, how to check it, and what it
is; the records themselves are in catalog.py. Code looks names up here instead of branching on them.
Nothing here imports anything heavy, so `paint download --list` stays instant.
"""

from __future__ import annotations

from paintcli.errors import UnknownNameError, did_you_mean
from paintcli.registry.catalog import BUILTIN_STYLES, all_entries
from paintcli.registry.records import (
    CAFFE_BGR_MEAN, CAFFE_SPACE, IMAGENET_MEAN, IMAGENET_SPACE, IMAGENET_STD, Entry, InputSpace, Kind,
)  # fmt: skip

__all__ = ["ALIASES", "BACKBONES", "BUILTIN_STYLES", "CAFFE_BGR_MEAN", "CAFFE_SPACE", "ENTRIES", "Entry", "IMAGENET_MEAN", "IMAGENET_SPACE",
           "IMAGENET_STD", "InputSpace", "Kind", "UnknownNameError", "datasets_named", "entries", "get", "resolve"]  # fmt: skip

ENTRIES: dict[str, Entry] = {e.name: e for e in all_entries()}
BACKBONES = ("vgg19", "vgg19-torchvision")  # for Gatys; fast-style training also takes vgg16-torchvision

# Short names users type. Each points at one entry.
ALIASES = {
    "facades": "facades_label2photo",
    "monet": "style_monet",
    "vangogh": "style_vangogh",
    "cezanne": "style_cezanne",
    "ukiyoe": "style_ukiyoe",
    "zebra": "horse2zebra",
    "horse": "zebra2horse",
    "orange": "apple2orange",
    "apple": "orange2apple",
    "winter": "summer2winter_yosemite",
    "summer": "winter2summer_yosemite",
    "map": "sat2map",
    "satellite": "map2sat",
    "shoes": "edges2shoes",
    "night": "day2night",
    "dslr": "iphone2dslr_flower",
}
REFUSED = {  # names users try that cannot be served, and why
    "cityscapes": "the Cityscapes licence forbids redistribution: build it from the official files "
    "(gtFine_trainvaltest.zip, leftImg8bit_trainvaltest.zip) and pass the folder with --data",
}


def get(name: str) -> Entry:
    """The entry called `name` (or an alias of it), or an error that suggests the closest name."""
    entry = ENTRIES.get(ALIASES.get(name, name))
    if entry is not None:
        return entry
    if name in REFUSED:
        raise UnknownNameError(f"{name} cannot be downloaded", REFUSED[name])
    raise UnknownNameError(
        f"unknown name {name!r}{did_you_mean(name, list(ENTRIES) + list(ALIASES))}",
        "run `paint download --list` to see every name",
    )


def resolve(name: str, kind: Kind | None = None, family: str | None = None) -> Entry:
    """Look `name` up, preferring entries of `kind` and `family`: `monet2photo` is a model, but
    `resolve("monet2photo", "dataset", "cyclegan")` is the CycleGAN dataset `cyclegan/monet2photo`."""
    if kind == "dataset":
        for candidate in ([f"{family}/{name}"] if family else []) + [name, f"cyclegan/{name}", f"pix2pix/{name}"]:
            entry = ENTRIES.get(candidate)
            if entry is not None and entry.kind == "dataset" and (family is None or entry.family == family):
                return entry
    entry = get(name)
    if kind is not None and entry.kind != kind:
        raise UnknownNameError(f"{name!r} is a {entry.kind}, not a {kind}", "run `paint download --list` to see the names")
    return entry


def datasets_named(short: str) -> list[Entry]:
    """Datasets whose name without the family is `short` (for hints)."""
    return [e for e in ENTRIES.values() if e.kind == "dataset" and e.name.split("/", 1)[-1] == short]


def entries(kind: Kind | None = None) -> list[Entry]:
    """All entries, optionally of one kind, in registry order."""
    return [e for e in ENTRIES.values() if kind is None or e.kind == kind]
