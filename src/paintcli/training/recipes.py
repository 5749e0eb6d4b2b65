"""The CycleGAN and pix2pix training recipes: their networks, losses and one optimisation step each.

Both follow the official implementation step for step (models/cycle_gan_model.py and
models/pix2pix_model.py of junyanz/pytorch-CycleGAN-and-pix2pix), with the defaults of the papers:
    CycleGAN: LSGAN, cycle weight 10, identity 0.5 x 10, a pool of 50 fakes, Adam 2e-4 (0.5, 0.999).
    pix2pix: a conditional PatchGAN on (input, output), vanilla GAN loss, L1 weight 100.
A recipe owns named networks and optimisers so the loop can checkpoint them without knowing which;
the optimiser whose learning rate is reported is called "G". The one-pass style recipes are in
style_recipes.py.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from paintcli.training.settings import GENERATORS, CycleGANSettings, GANSettings, Pix2PixSettings, TrainSettings
from paintcli.nets.discriminators import NLayerDiscriminator
from paintcli.nets.generators import GeneratorSpec
from paintcli.training.distributed import unwrap


def generator_spec(cfg: GANSettings) -> GeneratorSpec:
    arch, blocks = GENERATORS[cfg.netG]
    return GeneratorSpec(arch, blocks, cfg.ngf, cfg.norm, cfg.dropout)


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """The official 'normal' init: conv weights N(0, 0.02), biases 0, batch-norm scales N(1, 0.02)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def gan_loss(prediction: torch.Tensor, real: bool, kind: str) -> torch.Tensor:
    target = torch.ones_like(prediction) if real else torch.zeros_like(prediction)
    if kind == "lsgan":
        return F.mse_loss(prediction, target)
    return F.binary_cross_entropy_with_logits(prediction, target)


class ImagePool:
    """A buffer of earlier fakes: the discriminator sees an old one half the time once it is full
    (Shrivastava et al. 2017), which steadies GAN training."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                i = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        stored = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.images = [img.to(device) for img in state["images"]]
        self.generator.set_state(state["generator"])


def _requires_grad(nets, flag: bool) -> None:
    for net in nets:
        net.requires_grad_(flag)


class Recipe:
    """Named networks (`nets`) and optimisers (`optimizers`), plus `step(batch) -> losses`."""

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    pools: dict[str, ImagePool]

    def __init__(self, cfg: TrainSettings, device: torch.device, autocast=None):
        self.cfg, self.device = cfg, device
        self.autocast = autocast or nullcontext

    def state_dict(self) -> dict:
        """Networks, optimisers and image pools, for an exact resume."""
        return {
            "nets": {k: unwrap(v).state_dict() for k, v in self.nets.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "pools": {k: v.state_dict() for k, v in self.pools.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        for name, net in self.nets.items():
            unwrap(net).load_state_dict(state["nets"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, pool in self.pools.items():
            pool.load_state_dict(state["pools"][name], self.device)

    def _adam(self, *nets: nn.Module) -> torch.optim.Adam:
        """Adam; on a GPU the fused kernel (one launch for all parameters instead of several per tensor)."""
        params = [p for net in nets for p in net.parameters()]
        fused = self.device.type == "cuda"
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=(self.cfg.beta1, self.cfg.beta2), fused=fused)

    def _generator(self, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return init_weights(generator_spec(self.cfg).build()).to(self.device)

    def _discriminator(self, input_nc: int, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        d = NLayerDiscriminator(input_nc, self.cfg.ndf, self.cfg.n_layers_D, norm=self.cfg.norm)
        return init_weights(d).to(self.device)


class CycleGAN(Recipe):
    def __init__(self, cfg: CycleGANSettings, device: torch.device, autocast=None):
        super().__init__(cfg, device, autocast)
        base = cfg.seed * 10
        self.nets = {
            "G_A": self._generator(base + 1),  # A -> B
            "G_B": self._generator(base + 2),  # B -> A
            "D_A": self._discriminator(3, base + 3),  # real B vs G_A's fakes
            "D_B": self._discriminator(3, base + 4),  # real A vs G_B's fakes
        }
        self.optimizers = {
            "G": self._adam(self.nets["G_A"], self.nets["G_B"]),
            "D": self._adam(self.nets["D_A"], self.nets["D_B"]),
        }
        self.pools = {"A": ImagePool(cfg.pool_size, base + 5), "B": ImagePool(cfg.pool_size, base + 6)}

    def step(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg, n = self.cfg, self.nets
        real_a, real_b = batch["A"], batch["B"]
        lam, lam_idt = cfg.lambda_cycle, cfg.lambda_cycle * cfg.lambda_identity
        # Generators: fool both discriminators, reconstruct both ways, leave the target domain alone.
        _requires_grad([n["D_A"], n["D_B"]], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            fake_b, fake_a = n["G_A"](real_a), n["G_B"](real_b)
            rec_a, rec_b = n["G_B"](fake_b), n["G_A"](fake_a)
            losses = {
                "G_A": gan_loss(unwrap(n["D_A"])(fake_b), True, cfg.gan_loss),
                "G_B": gan_loss(unwrap(n["D_B"])(fake_a), True, cfg.gan_loss),
                "cycle_A": F.l1_loss(rec_a, real_a) * lam,
                "cycle_B": F.l1_loss(rec_b, real_b) * lam,
            }
            if lam_idt > 0:
                losses["idt_A"] = F.l1_loss(n["G_A"](real_b), real_b) * lam_idt
                losses["idt_B"] = F.l1_loss(n["G_B"](real_a), real_a) * lam_idt
        sum(losses.values()).backward()
        self.optimizers["G"].step()
        # Discriminators: real against (pooled) fakes, each loss halved.
        _requires_grad([n["D_A"], n["D_B"]], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            losses["D_A"] = self._d_loss(n["D_A"], real_b, self.pools["B"].query(fake_b))
            losses["D_B"] = self._d_loss(n["D_B"], real_a, self.pools["A"].query(fake_a))
        (losses["D_A"] + losses["D_B"]).backward()
        self.optimizers["D"].step()
        return {k: v.detach() for k, v in losses.items()}

    def _d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (gan_loss(d(real), True, self.cfg.gan_loss) + gan_loss(d(fake.detach()), False, self.cfg.gan_loss))

    @torch.no_grad()
    def samples(self, batch: dict) -> list[torch.Tensor]:
        """Rows of the sample grid: input, translation and reconstruction, for each direction."""
        g_a, g_b = unwrap(self.nets["G_A"]), unwrap(self.nets["G_B"])
        a, b = batch["A"], batch["B"]
        fake_b, fake_a = g_a(a), g_b(b)
        return [a, fake_b, g_b(fake_b), b, fake_a, g_a(fake_a)]


class Pix2Pix(Recipe):
    def __init__(self, cfg: Pix2PixSettings, device: torch.device, autocast=None):
        super().__init__(cfg, device, autocast)
        base = cfg.seed * 10
        self.nets = {"G": self._generator(base + 1), "D": self._discriminator(6, base + 2)}
        self.optimizers = {"G": self._adam(self.nets["G"]), "D": self._adam(self.nets["D"])}
        self.pools = {}

    def step(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg, g, d = self.cfg, self.nets["G"], self.nets["D"]
        real_a, real_b = batch["A"], batch["B"]
        with self.autocast():
            fake_b = g(real_a)
        # Discriminator first, on (input, output) pairs; its loss is halved.
        _requires_grad([d], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            fake_score = d(torch.cat([real_a, fake_b.detach()], 1))
            real_score = d(torch.cat([real_a, real_b], 1))
            loss_d = 0.5 * (gan_loss(fake_score, False, cfg.gan_loss) + gan_loss(real_score, True, cfg.gan_loss))
        loss_d.backward()
        self.optimizers["D"].step()
        # Generator: fool the discriminator and stay close to the target (L1).
        _requires_grad([d], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            loss_gan = gan_loss(unwrap(d)(torch.cat([real_a, fake_b], 1)), True, cfg.gan_loss)
            loss_l1 = F.l1_loss(fake_b, real_b) * cfg.lambda_l1
        (loss_gan + loss_l1).backward()
        self.optimizers["G"].step()
        return {"G_GAN": loss_gan.detach(), "G_L1": loss_l1.detach(), "D": loss_d.detach()}

    @torch.no_grad()
    def samples(self, batch: dict) -> list[torch.Tensor]:
        """Rows of the sample grid: input, output, target."""
        return [batch["A"], unwrap(self.nets["G"])(batch["A"]), batch["B"]]

