"""Images per second of the downloadable one-pass methods (fast, AdaIN) beside one Gatys run at the
same size, with random weights in the official architectures (speed does not depend on the weights,
and nothing is downloaded). Run through `python benchmarks/stylize.py --one-pass`."""

from __future__ import annotations

import tempfile
import time

import torch

from paintcli import GatysConfig
from paintcli.config import OnePassConfig
from paintcli.engines.adain import AdaINStylizer
from paintcli.engines.fast_style import FastStylizer
from paintcli.engines.gatys import GatysStylizer
from paintcli.nets.adain import decoder, vgg_normalised
from paintcli.nets.transformer_net import TransformerNet


def one_pass(content, style, device, sizes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(TransformerNet().state_dict(), f"{tmp}/fast.pth")
        torch.save(vgg_normalised().state_dict(), f"{tmp}/enc.pth")
        torch.save(decoder().state_dict(), f"{tmp}/dec.pth")
        adain = AdaINStylizer(encoder=f"{tmp}/enc.pth", decoder_path=f"{tmp}/dec.pth", device=device)
        print(f"{'size':>9} {'fast img/s':>11} {'adain img/s':>12} {'gatys default (s)':>18} {'fast vs gatys':>14}")
        for longest in sizes:
            fast = FastStylizer(f"{tmp}/fast.pth", OnePassConfig(size=longest), device=device)
            fast_rate = _rate(lambda: fast.run(content))
            adain_rate = _rate(lambda: adain.run(content, [style], size=longest, style_size=512))
            gatys = GatysStylizer(GatysConfig(size=longest, seed=0), device=device)
            start = time.perf_counter()
            result = gatys.run(content, style)
            seconds = time.perf_counter() - start
            w, h = result.image.size
            print(f"{w:>4}x{h:<4} {fast_rate:>11.2f} {adain_rate:>12.2f} {seconds:>18.1f} {seconds * fast_rate:>13.0f}x")


def _rate(run, repeats: int = 3) -> float:
    run()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return repeats / (time.perf_counter() - start)
