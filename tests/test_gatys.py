"""Gatys style transfer with the bundled VGG19 at 64 px: the losses do what the method promises."""

from __future__ import annotations

import pytest
import torch

from paintcli import GatysConfig, functional as fn, imageio, stylize
from paintcli.config import parse_layer_weights
from paintcli.engines.gatys import GatysStylizer, Interrupted
from paintcli.engines.gatys_scale import CoarseLock
from paintcli.errors import UsageError
from tests.fixtures import content_image, style_image


def gray_small(img, size=(16, 12)) -> torch.Tensor:
    return fn.luminance(fn.to_tensor(img.resize(size)))[0, 0].flatten()


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()))


def run(config: GatysConfig, content=None, styles=None):
    events = []
    result = GatysStylizer(config).run(content or content_image(), styles or style_image(), on_event=events.append)
    return result, events


def test_style_loss_falls_by_a_large_factor_and_the_layout_stays():
    result, events = run(GatysConfig(size=64, iterations=60, seed=0))
    first, last = events[0], events[-1]
    assert first.content_loss == 0  # started from the photo itself
    assert last.style_loss < first.style_loss / 20, (first.style_loss, last.style_loss)
    assert result.image.size == (64, 48)
    # The house, sky and ground are still where they were.
    assert correlation(gray_small(result.image), gray_small(content_image())) > 0.6
    # And the picture changed towards the painting: more high-frequency texture than the flat photo.
    out, photo = fn.to_tensor(result.image), fn.to_tensor(content_image())
    assert fn.tv_loss(out) > 1.5 * fn.tv_loss(photo)


def test_iterations_count_evaluations_for_both_optimizers():
    for optimizer in ("lbfgs", "adam"):
        result, events = run(GatysConfig(size=32, iterations=7, optimizer=optimizer, seed=1))
        assert len(events) == 7 and result.iterations == 7
        assert [e.iteration for e in events] == list(range(1, 8))
        assert events[-1].total_loss < events[0].total_loss


def test_seed_makes_runs_repeatable():
    config = GatysConfig(size=32, iterations=5, init="noise", seed=3)
    a, _ = run(config)
    b, _ = run(config)
    assert a.image.tobytes() == b.image.tobytes()
    c, _ = run(config.with_(seed=4))
    assert a.image.tobytes() != c.image.tobytes()


def test_scales_run_coarse_to_fine_and_end_at_the_last_scale():
    result, events = run(GatysConfig(scales=(32, 64), iterations=4, seed=0))
    assert result.image.size == (64, 48)
    assert [(e.scale, e.size) for e in events] == [(1, (32, 24))] * 4 + [(2, (64, 48))] * 4
    assert result.iterations == 8
    # The second scale starts from the first one's result, not from the photo.
    assert events[4].content_loss > 0


def test_preserve_colors_keeps_the_photo_chroma():
    result, _ = run(GatysConfig(size=64, iterations=20, seed=0, preserve_colors=True))
    out = fn.rgb_to_ycbcr(fn.to_tensor(result.image))
    photo = fn.rgb_to_ycbcr(fn.to_tensor(content_image()))
    assert (out[:, 1:] - photo[:, 1:]).abs().mean() < 0.02  # Cb, Cr unchanged (up to rounding)
    assert (out[:, :1] - photo[:, :1]).abs().mean() > 0.02  # the luminance was stylised


def test_style_blend_pulls_towards_the_heavier_style():
    plain = content_image().resize((64, 64))  # a second 'style' with flat colours
    heavy_busy = GatysConfig(size=32, iterations=30, seed=0, style_blend=(0.9, 0.1))
    heavy_plain = heavy_busy.with_(style_blend=(0.1, 0.9))
    busy_result, _ = run(heavy_busy, styles=[style_image(), plain])
    plain_result, _ = run(heavy_plain, styles=[style_image(), plain])
    assert fn.tv_loss(fn.to_tensor(busy_result.image)) > fn.tv_loss(fn.to_tensor(plain_result.image))


def test_layer_weights_parse():
    assert parse_layer_weights("decay:0.5", 4) == (1.0, 0.5, 0.25, 0.125)
    assert parse_layer_weights("1,2,3", 3) == (1.0, 2.0, 3.0)
    assert parse_layer_weights("equal", 5) == ()
    with pytest.raises(UsageError, match="not a number"):
        parse_layer_weights("1,x", 2)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"style_weight": -1.0}, "--style-weight must not be negative"),
        ({"tv_weight": -0.1}, "--tv-weight must not be negative"),
        ({"content_layers": ("relu9_1",)}, "unknown VGG19 layer 'relu9_1'"),
        ({"style_layer_weights": (1.0, 2.0)}, "2 style layer weights for 5 style layers"),
        ({"iterations": 0}, "--iterations must be at least 1"),
        ({"backbone": "resnet"}, "unknown backbone"),
        ({"coarse_losses_above": -1}, "coarse_losses_above must not be negative"),
    ],
)
def test_invalid_settings_are_refused(changes, message):
    with pytest.raises(UsageError, match=message):
        GatysConfig(**changes).validate()


def test_interrupt_returns_the_image_so_far():
    def stop_at_three(step):
        if step.iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        GatysStylizer(GatysConfig(size=32, iterations=50)).run(content_image(), style_image(), on_event=stop_at_three)
    assert info.value.image.size == (32, 24)


def test_python_api_returns_a_pil_image(tmp_path):
    content_image().save(tmp_path / "c.png")
    img = stylize(tmp_path / "c.png", style_image(), size=32, iterations=3)
    assert img.size == (32, 24) and img.mode == "RGB"


def test_import_is_light():
    """Importing paintcli loads no torch (so `paint --help` is instant)."""
    import subprocess
    import sys

    code = "import sys, paintcli, paintcli.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the coarse-to-fine default, --tol, progress ------------------------------------------------------------------


def test_the_default_schedule_is_chosen_from_the_size():
    assert GatysConfig(size=512).schedule == ((256, 250), (512, 100))
    assert GatysConfig(size=384).schedule == ((192, 250), (384, 100))
    assert GatysConfig(size=1024).schedule == ((256, 250), (512, 100), (1024, 50))
    assert GatysConfig(size=2048).schedule == ((256, 250), (512, 100), (1024, 50), (2048, 30))
    assert GatysConfig(size=300).schedule == ((300, 300),)  # too small to halve: one scale


def test_scales_and_iterations_given_by_hand_win():
    assert GatysConfig(size=512, scales=(128, 512)).schedule == ((128, 500), (512, 500))
    assert GatysConfig(size=512, scales=(128, 512), iterations=20).schedule == ((128, 20), (512, 20))
    assert GatysConfig(size=512, iterations=40).schedule == ((512, 40),)  # --iterations alone: one scale


def _style_distance(net, layers, img, size) -> float:
    """Gram distance to the style image of `img` shrunk to `size`, as a viewer sees it at that size."""
    from paintcli import imageio

    seen = fn.to_tensor(imageio.resize(img, size))
    style = fn.to_tensor(imageio.resize_longest(style_image(), max(size)))
    with torch.no_grad():
        a, b = net(seen, layers), net(style, layers)
    return sum(float(((fn.gram(a[k]) - fn.gram(b[k])) ** 2).sum()) for k in layers)


def test_coarse_losses_keep_the_picture_painted_as_seen_at_the_earlier_scale():
    stylizer = GatysStylizer(GatysConfig(seed=0))
    layers = stylizer.config.style_layers
    results = {
        on: stylizer.with_config(GatysConfig(scales=(32, 64), iterations=20, seed=0, tol=0, coarse_losses=on, coarse_losses_above=0)).run(content_image(), style_image())
        for on in (True, False)
    }  # fmt: skip
    coarse = {on: _style_distance(stylizer.net, layers, r.image, (32, 24)) for on, r in results.items()}
    full = {on: _style_distance(stylizer.net, layers, r.image, (64, 48)) for on, r in results.items()}
    # Without them the fine scale trades the coarse scale's strokes away (measured: 5x the distance).
    assert coarse[True] < 0.5 * coarse[False], coarse
    assert full[True] < 1.2 * full[False], full  # and the full-size picture is as painted


def test_coarse_losses_apply_only_to_finer_scales_above_their_threshold():
    def image(**changes):
        return run(GatysConfig(scales=(32, 64), iterations=3, seed=0, tol=0, **changes))[0].image.tobytes()

    off = image(coarse_losses=False)
    assert image(coarse_losses_above=0) != off  # the 64 px scale takes the 32 px view
    assert image(coarse_losses_above=64) == off  # 64 px is not above 64: as without them (the 512 px default)
    single = dict(size=32, iterations=5, seed=0, tol=0, coarse_losses_above=0)
    assert run(GatysConfig(**single))[0].image.tobytes() == run(GatysConfig(**single, coarse_losses=False))[0].image.tobytes()


def test_a_locked_scale_keeps_the_settled_picture_when_shrunk():
    # Above coarse_losses_above the finer scale may change only what a shrink to the settled scale's
    # size does not see: its result, shrunk as paint shrinks pictures, is the coarse result.
    stylizer = GatysStylizer(GatysConfig(seed=0))

    def picture(scales, **changes):
        config = GatysConfig(scales=scales, iterations=15, seed=0, tol=0, coarse_losses_above=32, **changes)
        return fn.to_tensor(stylizer.with_config(config).run(content_image(), style_image()).image) * 255

    settled = picture((32,))
    locked, free = (fn.to_tensor(imageio.resize(fn.to_pil(p / 255), (32, 24))) * 255 for p in (picture((32, 64)), picture((32, 64), coarse_losses=False)))
    assert (locked - settled).abs().mean() < 1.5, float((locked - settled).abs().mean())  # rounding and the range
    assert (free - settled).abs().mean() > 4 * (locked - settled).abs().mean()  # unlocked, the strokes move


def test_coarse_lock_maps_onto_the_settled_picture_exactly():
    settled = torch.rand(1, 3, 6, 8, dtype=torch.float64)
    lock = CoarseLock(settled, (19, 13))  # (width, height): odd factors, both axes
    free = torch.rand(1, 3, 13, 19, dtype=torch.float64)
    locked = lock(free)
    assert torch.allclose(lock.down_y @ locked @ lock.down_x.T, settled, atol=1e-9)
    assert torch.allclose(lock(locked), locked, atol=1e-9)  # already settled: left as it is


def test_coarse_lock_counts_overshoot_of_the_picture_and_of_pillows_first_pass():
    lock = CoarseLock(torch.full((1, 3, 4, 8), 0.5), (32, 16))
    assert float(lock.overshoot(torch.full((1, 3, 16, 32), 0.5))) == 0
    edge = torch.zeros(1, 3, 16, 32)
    edge[..., 16:] = 1  # black to white: in range, but Lanczos rings past both in the shrink across
    assert float(lock.overshoot(edge)) > 0
    assert float(lock.overshoot(edge * 1.2 - 0.1)) > float(lock.overshoot(edge))


def test_tol_stops_a_scale_when_the_loss_stops_falling():
    stopped, events = run(GatysConfig(size=32, iterations=60, seed=0, tol=0.5))  # any fall under half: done
    assert stopped.iterations < 60 and stopped.evaluations == (stopped.iterations,)
    assert events[-1].iteration == stopped.iterations
    every, _ = run(GatysConfig(size=32, iterations=30, seed=0, tol=0))
    assert every.evaluations == (30,)


def test_progress_covers_the_whole_run_once():
    result, events = run(GatysConfig(scales=(32, 64), iterations=5, seed=0, tol=0))
    progress = [e.progress for e in events]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    # the 64 px scale has 4 times the pixels, so 5 evaluations there are 4/5 of the work
    assert progress[4] == pytest.approx(1 / 5)


def test_reports_every_n_evaluations_and_at_the_end():
    result, _ = run(GatysConfig(size=32, iterations=7, seed=0, tol=0))
    events = []
    GatysStylizer(GatysConfig(size=32, iterations=7, seed=0, tol=0)).run(content_image(), style_image(), on_event=events.append, report_every=3)
    assert [e.iteration for e in events] == [3, 6, 7]


def test_out_of_memory_advice_names_a_size_that_fits():
    from paintcli.engines.gatys import fitting_size

    size = fitting_size((2048, 1536), free_bytes=8 * 2**30, history=30)
    assert 1024 <= size < 2048 and size % 16 == 0
    assert fitting_size((1024, 768), free_bytes=80 * 2**30, history=100) > 2048  # plenty of room


def test_our_lbfgs_retraces_torchs():
    from paintcli.engines.lbfgs import LBFGS

    torch.manual_seed(0)
    a = torch.randn(30, 30, dtype=torch.float64)
    q = a @ a.T / 30 + torch.eye(30, dtype=torch.float64)

    def f(x):
        return 0.5 * x @ q @ x + 0.01 * (x**4).sum() + torch.sin(x).sum()

    ours_x = torch.randn(30, dtype=torch.float64)
    theirs_x = ours_x.clone().requires_grad_(True)
    ours = LBFGS(ours_x, history=4, first_step=3.0)  # a short history, so the ring wraps around
    theirs = torch.optim.LBFGS([theirs_x], lr=1.0, max_iter=1, history_size=4, tolerance_grad=-1, tolerance_change=-1)
    for i in range(25):
        x = ours_x.clone().requires_grad_(True)
        f(x).backward()
        ours.step(x.grad)

        def closure():
            theirs.zero_grad()
            loss = f(theirs_x)
            loss.backward()
            return loss

        theirs.param_groups[0]["lr"] = 3.0 if i == 0 else 1.0
        theirs.step(closure)
    assert torch.allclose(ours_x, theirs_x.detach(), atol=1e-9)
