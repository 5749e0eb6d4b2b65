"""Pure tensor maths shared by the engines: losses, colour spaces, image <-> tensor.

Images are float tensors of shape (1, 3, H, W), RGB in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

# ITU-R BT.601 full-range YCbCr, as JPEG and Pillow use it.
_RGB_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)


def to_tensor(img: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    t = data.view(img.height, img.width, 3).permute(2, 0, 1).unsqueeze(0)
    return t.to(device=device, dtype=torch.float32).div_(255).contiguous()


def to_pil(t: torch.Tensor) -> Image.Image:
    array = t.detach()[0].clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).contiguous().cpu()
    return Image.frombytes("RGB", (array.shape[1], array.shape[0]), array.numpy().tobytes())


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of (B, C, H, W) features, divided by C*H*W (as neural-style)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Total variation: summed absolute neighbour differences of the image on a 0-255 scale."""
    dx = (img[..., :, 1:] - img[..., :, :-1]).abs().sum()
    dy = (img[..., 1:, :] - img[..., :-1, :]).abs().sum()
    return (dx + dy) * 255


def rgb_to_ycbcr(img: torch.Tensor) -> torch.Tensor:
    m = _RGB_TO_YCBCR.to(img)
    ycc = torch.einsum("ij,bjhw->bihw", m, img)
    return ycc + torch.tensor([0.0, 0.5, 0.5], device=img.device).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    m = torch.linalg.inv(_RGB_TO_YCBCR).to(ycc)
    centred = ycc - torch.tensor([0.0, 0.5, 0.5], device=ycc.device).view(1, 3, 1, 1)
    return torch.einsum("ij,bjhw->bihw", m, centred)


def luminance(img: torch.Tensor) -> torch.Tensor:
    """The image's luma Y repeated in three channels: a gray RGB image."""
    return rgb_to_ycbcr(img)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Shift and scale the luma of `source` to the mean and std of `reference`'s luma (Gatys et al. 2016)."""
    y, ref = luminance(source), luminance(reference)
    return ((y - y.mean()) / (y.std() + 1e-8) * ref.std() + ref.mean()).clamp(0, 1)


def combine_luma_chroma(luma_from: torch.Tensor, chroma_from: torch.Tensor) -> torch.Tensor:
    """RGB image with the Y of `luma_from` and the Cb, Cr of `chroma_from` (same size)."""
    y = rgb_to_ycbcr(luma_from)[:, :1]
    cbcr = rgb_to_ycbcr(chroma_from)[:, 1:]
    return ycbcr_to_rgb(torch.cat([y, cbcr], dim=1)).clamp(0, 1)


def resize_tensor(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize to (width, height)."""
    w, h = size
    if img.shape[-2:] == (h, w):
        return img
    return F.interpolate(img, size=(h, w), mode="bilinear", align_corners=False, antialias=True)


def shrink_tensor(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic, antialiased resize to the smaller (width, height), differentiable. It keeps the fine
    contrast that Lanczos (how paint shrinks pictures) keeps; a bilinear shrink blurs it away, and
    an image optimised to look right through one comes out over-sharpened."""
    w, h = size
    return F.interpolate(img, size=(h, w), mode="bicubic", align_corners=False, antialias=True)


def lanczos_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) float64 weights of Pillow's LANCZOS resize along one axis (how paint shrinks
    pictures): a Lanczos-3 kernel, widened by the scale factor when shrinking, centred on each output
    pixel and normalised, so `matrix @ line` is the resized line before Pillow's 8-bit rounding."""
    scale = n_in / n_out
    widen = max(scale, 1.0)
    support = 3.0 * widen
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    for i in range(n_out):
        center = (i + 0.5) * scale
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
        x = (torch.arange(lo, hi, dtype=torch.float64) - center + 0.5) / widen
        w = torch.where(x.abs() < 3, torch.sinc(x) * torch.sinc(x / 3), torch.zeros_like(x))
        weights[i, lo:hi] = w / w.sum()
    return weights


def match_colors(source: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """`source` with the colour mean and covariance of `reference` (whitening and colouring, as
    AdaIN's CORAL option): a painting's strokes in a photo's palette."""
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
