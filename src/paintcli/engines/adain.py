"""Arbitrary style transfer in one pass with AdaIN (Huang and Belongie 2017).

The photo's relu4_1 features take the channel-wise mean and standard deviation of the painting's,
and a decoder turns them back into an image. Options from the paper: `alpha` (content-style
trade-off), several styles interpolated in feature space, colour preservation (the style image is
first given the photo's colour statistics), and spatial control: a mask gives one region one style
and the rest another, with the statistics of each region matched separately.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from paintcli import cache, checkpoints, device as devices, functional as fn, imageio, models
from paintcli.errors import UsageError
from paintcli.nets.adain import AdaINEncoder, adain, decoder, mean_std, vgg_normalised

MULTIPLE = 8  # three ceil-mode poolings in the encoder, three 2x upsamplings in the decoder


@dataclass(frozen=True)
class AdaINResult:
    image: Image.Image
    seconds: float


class AdaINStylizer:
    """The official encoder and decoder (downloaded once), or local files."""

    def __init__(
        self,
        *,
        encoder: str | os.PathLike[str] = "adain-encoder",
        decoder_path: str | os.PathLike[str] = "adain-decoder",
        device: torch.device | str | None = None,
        download_progress: cache.ProgressHook | None = None,
    ):
        self.device = devices.resolve(device)
        _, enc_path = models.locate(encoder, family="adain", progress=download_progress)
        _, dec_path = models.locate(decoder_path, family="adain", progress=download_progress)
        full = checkpoints.load_into(vgg_normalised(), _tensors(enc_path), source=f"{enc_path} is not the AdaIN encoder: it")
        self.encoder = AdaINEncoder(full).to(self.device).eval()
        self.decoder = checkpoints.load_into(decoder(), _tensors(dec_path), source=f"{dec_path} is not the AdaIN decoder: it")
        self.decoder.to(self.device).eval().requires_grad_(False)

    @torch.no_grad()
    def run(
        self,
        content: Image.Image,
        styles: Sequence[Image.Image],
        *,
        alpha: float = 1.0,
        blend: Sequence[float] = (),
        size: int | None = 512,
        style_size: int | None = 512,
        preserve_colors: bool = False,
        mask: Image.Image | None = None,
    ) -> AdaINResult:
        if not 0 <= alpha <= 1:
            raise UsageError(f"--alpha must be between 0 and 1, got {alpha}", "0 keeps the photo, 1 is full style")
        if mask is not None and len(styles) != 2:
            raise UsageError(f"--mask needs exactly two --style images, got {len(styles)}", "the first styles the white region, the second the rest")
        weights = _normalised(blend, len(styles))
        start = time.perf_counter()
        content_t = self._tensor(content, size)
        style_ts = [self._tensor(s, style_size) for s in styles]
        if preserve_colors:
            style_ts = [match_colors(s, content_t) for s in style_ts]
        padded, (top, left, h, w) = _pad(content_t)
        content_f = self.encoder(padded)["relu4_1"]
        style_fs = [self.encoder(s)["relu4_1"] for s in style_ts]
        if mask is None:
            target = sum(wt * adain(content_f, sf) for wt, sf in zip(weights, style_fs, strict=True))
        else:
            target = _masked_adain(content_f, style_fs, _mask_tensor(mask, content_t, padded, (top, left), content_f))
        target = alpha * target + (1 - alpha) * content_f
        out = self.decoder(target)[..., top : top + h, left : left + w].clamp(0, 1)
        return AdaINResult(fn.to_pil(out), time.perf_counter() - start)

    def _tensor(self, img: Image.Image, longest: int | None) -> torch.Tensor:
        return fn.to_tensor(imageio.resize_longest(imageio.to_rgb(img), longest), self.device)


def _tensors(path) -> dict[str, torch.Tensor]:
    return checkpoints.read_state(path)[0]


def _normalised(blend: Sequence[float], n: int) -> list[float]:
    raw = list(blend) or [1.0] * n
    if len(raw) != n:
        raise UsageError(f"--style-blend has {len(raw)} weights for {n} style image(s)", "give one weight per --style")
    if any(w < 0 for w in raw) or sum(raw) <= 0:
        raise UsageError("--style-blend weights must be non-negative and not all zero", "use e.g. 0.7,0.3")
    return [w / sum(raw) for w in raw]


def _pad(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
    top, left = ph // 2, pw // 2
    mode = "reflect" if max(ph, pw) < min(h, w) else "replicate"
    return F.pad(x, (left, pw - left, top, ph - top), mode=mode), (top, left, h, w)


def _mask_tensor(mask: Image.Image, content_t, padded, offset, features) -> torch.Tensor:
    """The mask at feature resolution, True where the first style goes."""
    gray = fn.to_tensor(imageio.resize(imageio.to_rgb(mask), (content_t.shape[-1], content_t.shape[-2])), features.device)
    full = torch.zeros(padded.shape[-2:], device=features.device)
    top, left = offset
    full[top : top + content_t.shape[-2], left : left + content_t.shape[-1]] = gray[0, 0]
    small = F.interpolate(full[None, None], size=features.shape[-2:], mode="nearest")[0, 0]
    region = small >= 0.5
    if region.all() or not region.any():
        raise UsageError("the mask is all one colour at this size", "white marks the first style's region, black the second's")
    return region


def _masked_adain(content_f: torch.Tensor, style_fs: list[torch.Tensor], region: torch.Tensor) -> torch.Tensor:
    """Each region of the content takes one style's statistics, normalised by its own."""
    out = torch.empty_like(content_f)
    for inside, style_f in ((region, style_fs[0]), (~region, style_fs[1])):
        picked = content_f[..., inside]  # (1, C, n)
        c_mean, c_std = picked.mean(-1, keepdim=True), (picked.var(-1, keepdim=True) + 1e-5).sqrt()
        s_mean, s_std = mean_std(style_f)
        out[..., inside] = (picked - c_mean) / c_std * s_std.view(1, -1, 1) + s_mean.view(1, -1, 1)
    return out


def match_colors(source: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """`source` with the colour mean and covariance of `reference` (whitening and colouring, as
    AdaIN's CORAL option): the painting's strokes in the photo's palette."""
    s, r = source[0].reshape(3, -1), reference[0].reshape(3, -1)
    s_mean, r_mean = s.mean(1, keepdim=True), r.mean(1, keepdim=True)
    eye = torch.eye(3, device=s.device)
    s_cov = torch.cov(s) + eps * eye
    r_cov = torch.cov(r) + eps * eye
    whitened = _matrix_power(s_cov, -0.5) @ (s - s_mean)
    coloured = _matrix_power(r_cov, 0.5) @ whitened + r_mean
    return coloured.reshape(source.shape).clamp(0, 1)


def _matrix_power(m: torch.Tensor, p: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp_min(1e-8) ** p) @ vectors.T
