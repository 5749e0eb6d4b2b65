"""Training the one-pass style networks: Johnson's feed-forward TransformerNet and AdaIN's decoder.

    fast-style (pytorch/examples fast_neural_style/neural_style.py `train`): the network learns one
    style with the perceptual loss: content at relu2_2, Gram style losses at relu1_2, relu2_2,
    relu3_3 and relu4_3 of a fixed VGG, Adam 1e-3.
    adain (naoto0804/pytorch-AdaIN train.py): a decoder learns to invert AdaIN-ed relu4_1 features:
    content loss against the AdaIN target at relu4_1, style loss on the channel means and standard
    deviations at relu1_1 .. relu4_1, Adam 1e-4 with decay 1/(1 + 5e-5 step).
The results are bare state dicts in the official layouts, so `paint stylize --method fast --model`,
`--method adain --decoder` and the official scripts load them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paintcli import backbones, checkpoints, functional as fn, imageio, models
from paintcli.training.settings import AdaINSettings, FastStyleSettings
from paintcli.nets.adain import ENCODER_TAPS, AdaINEncoder, adain, decoder, mean_std, vgg_normalised
from paintcli.nets.transformer_net import TransformerNet
from paintcli.training.distributed import unwrap
from paintcli.training.recipes import Recipe

CONTENT_LAYER = "relu2_2"
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
STYLE_IMAGE_MAX_SIDE = 1024  # the style's Gram matrices are computed once; this bounds that pass


class FastStyle(Recipe):
    def __init__(self, cfg: FastStyleSettings, device: torch.device, autocast=None):
        super().__init__(cfg, device, autocast)
        torch.manual_seed(cfg.seed * 10 + 1)
        net = TransformerNet().to(device)  # PyTorch's default init, as the reference trainer
        self.nets = {"transformer": net}
        self.optimizers = {"G": self._adam(net)}
        self.pools = {}
        self.vgg = backbones.load_vgg19(cfg.backbone, last_layer="relu4_3", device=device)
        style = imageio.load_image(cfg.style)
        style = imageio.resize(style, imageio.fit_longest_side(style.size, min(max(style.size), STYLE_IMAGE_MAX_SIDE)))
        with torch.no_grad():
            feats = self.vgg(fn.to_tensor(style, device), STYLE_LAYERS)
        self.style_grams = {k: fn.gram(v) for k, v in feats.items()}

    def step(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        photo = (batch["A"] + 1) / 2
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            styled = self.nets["transformer"](photo * 255) / 255  # the network works on 0-255
            feats = self.vgg(styled, STYLE_LAYERS)
            with torch.no_grad():
                target = self.vgg(photo, [CONTENT_LAYER])[CONTENT_LAYER]
            content_weight, style_weight = cfg.weights
            content = content_weight * F.mse_loss(feats[CONTENT_LAYER], target)
            style = style_weight * sum(
                F.mse_loss(fn.gram(feats[k]), g.expand(len(photo), -1, -1)) for k, g in self.style_grams.items()
            )
        (content + style).backward()
        self.optimizers["G"].step()
        return {"content": content.detach(), "style": style.detach()}

    @torch.no_grad()
    def samples(self, batch: dict) -> list[torch.Tensor]:
        """Rows of the sample grid: the photos and their stylised versions."""
        photo = (batch["A"] + 1) / 2
        net = unwrap(self.nets["transformer"])
        return [batch["A"], (net(photo * 255) / 255).clamp(0, 1) * 2 - 1]


class AdaINTrainer(Recipe):
    def __init__(self, cfg: AdaINSettings, device: torch.device, autocast=None):
        super().__init__(cfg, device, autocast)
        _, encoder_path = models.locate(cfg.encoder, family="adain")
        full = checkpoints.load_into(vgg_normalised(), checkpoints.read_state(encoder_path)[0], source=f"{encoder_path} is not the AdaIN encoder: it")
        self.encoder = AdaINEncoder(full).to(device).eval()
        torch.manual_seed(cfg.seed * 10 + 1)
        net = decoder().to(device)
        self.nets = {"decoder": net}
        self.optimizers = {"G": self._adam(net)}
        self.pools = {}

    def step(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        content, style = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            with torch.no_grad():
                style_feats = self.encoder(style)
                target = adain(self.encoder(content)["relu4_1"], style_feats["relu4_1"])
            out_feats = self.encoder(self.nets["decoder"](target))
            loss_c = cfg.content_weight * F.mse_loss(out_feats["relu4_1"], target)
            loss_s = cfg.style_weight * sum(_stat_loss(out_feats[k], style_feats[k]) for k in ENCODER_TAPS)
        (loss_c + loss_s).backward()
        self.optimizers["G"].step()
        return {"content": loss_c.detach(), "style": loss_s.detach()}

    @torch.no_grad()
    def samples(self, batch: dict) -> list[torch.Tensor]:
        """Rows of the sample grid: photo, painting, and the photo in the painting's style."""
        content, style = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2
        net = unwrap(self.nets["decoder"])
        out = net(adain(self.encoder(content)["relu4_1"], self.encoder(style)["relu4_1"])).clamp(0, 1)
        return [batch["A"], batch["B"], out * 2 - 1]


def _stat_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    (m, s), (tm, ts) = mean_std(features), mean_std(target)
    return F.mse_loss(m, tm) + F.mse_loss(s, ts)
