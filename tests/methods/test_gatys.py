import math

import numpy as np
import pytest
import torch

from stylekit import TransferOptions, transfer
from stylekit.backbones import load_scratch
from stylekit.errors import OutOfMemoryEstimate, StylekitError
from stylekit.io import load_image
from stylekit.options import TransferOptions as Opts
from stylekit.methods.gatys import run_transfer, transfer_tiles
from stylekit.planning import memory as memory_module
from stylekit.planning import RunPlan, estimate_peak_bytes, run_plan
from stylekit.objectives import gram_matrix
from stylekit.optim import Callback, EarlyStopping, FunctionCallback, SaveEvery, StopScale
from stylekit.optim import Scale, optimize, schedule

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def fast(**kw):
    base = dict(size=48, steps=25, min_size=None, backbone="scratch", style_layers=STYLE_LAYERS,
                content_layers=("relu3_1",), seed=0, early_stopping=False)
    base.update(kw)
    return TransferOptions(**base)


def gram_distance(image, style, net):
    a = net(load_image(image).rgb, STYLE_LAYERS)
    b = net(torch.nn.functional.interpolate(load_image(style).rgb, size=a["relu1_1"].shape[-2:]), STYLE_LAYERS)
    return sum(((gram_matrix(a[k], "chw") - gram_matrix(b[k], "chw")) ** 2).sum().item() for k in STYLE_LAYERS)


def test_loss_falls_and_gram_statistics_move_to_style(content_path, style_path):
    result = run_transfer(content_path, style_path, fast(steps=40))
    losses = [h["loss"] for h in result.history]
    assert len(losses) == 40 and losses[-1] < 0.5 * losses[0]
    assert {"content:relu3_1", "style:relu1_1", "tv"} <= set(result.history[0])
    net = load_scratch()
    before = gram_distance(content_path, style_path, net)
    after = gram_distance(result.image, style_path, net)
    assert after < 0.5 * before
    assert result.image.size == (48, 48)


def test_seed_gives_bit_identical_output(content_path, style_path):
    a = transfer(content_path, style_path, **vars(fast(init="noise", steps=8, seed=3)))
    b = transfer(content_path, style_path, **vars(fast(init="noise", steps=8, seed=3)))
    c = transfer(content_path, style_path, **vars(fast(init="noise", steps=8, seed=4)))
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam", "sgd"])
@pytest.mark.parametrize("init", ["content", "noise", "style"])
def test_optimizers_and_inits_reduce_loss(content_path, style_path, optimizer, init):
    _, hist = transfer(content_path, style_path, return_history=True,
                       **vars(fast(optimizer=optimizer, init=init, steps=12)))
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_init_from_file(content_path, style_path, tmp_path):
    from PIL import Image
    y, x = np.mgrid[0:40, 0:56]  # a colour ramp unlike content and style, and of another shape
    ramp = np.stack([x * 255 // 55, np.full_like(x, 40), 255 - y * 255 // 39], -1).astype(np.uint8)
    Image.fromarray(ramp).save(tmp_path / "start.png")
    img, hist = transfer(content_path, style_path, return_history=True,
                         **vars(fast(init=str(tmp_path / "start.png"), steps=1)))
    assert img.size == (48, 48) and len(hist) == 1
    start = load_image(tmp_path / "start.png").rgb
    start = torch.nn.functional.interpolate(start, size=(48, 48), mode="bilinear", antialias=True)[0]
    out, content = load_image(img).rgb[0], load_image(content_path).rgb[0]
    assert (out - start).abs().mean().item() < 2 / 255  # one step leaves the start image, up to 8-bit rounding
    assert (out - content).abs().mean().item() > 40 / 255  # and that start was the file, not the content


def test_schedule_grows_to_target():
    plan = schedule((300, 400), 512, 256, [100, 40, 20])
    assert [s.size for s in plan] == [(192, 256), (272, 362), (384, 512)]
    assert [s.steps for s in plan] == [100, 40, 20]
    assert [s.steps for s in schedule((300, 400), 512, 128, 7)] == [7] * 5
    assert [s.steps for s in schedule((300, 400), 1024, 256, [50, 10])][-1] == 10
    assert len(schedule((300, 400), 512, None, 5)) == 1


def test_multiscale_run_and_intermediates(content_path, style_path, tmp_path):
    seen = []
    saver = SaveEvery(5, tmp_path / "i_{step}.png", lambda img, p: p.write_bytes(b"x"))
    result = run_transfer(content_path, style_path, fast(size=64, min_size=32, steps=[6, 4, 3]),
                          [FunctionCallback(lambda p: seen.append((p.scale, p.size))), saver])
    assert [s for s, _ in seen].count(0) == 6 and seen[-1][1] == (64, 64)
    assert sorted(p.name for p in tmp_path.glob("i_*.png")) == ["i_10.png", "i_5.png"]
    assert result.image.size == (64, 64)


def test_several_styles_with_blend_weights(content_path, style_path, tmp_path):
    other = tmp_path / "flat.png"
    from PIL import Image
    Image.new("RGB", (40, 40), (200, 30, 30)).save(other)
    net = load_scratch()
    only_first = transfer(content_path, [style_path, other], **vars(fast(style_blend_weights=[1, 0], steps=30)))
    only_second = transfer(content_path, [style_path, other], **vars(fast(style_blend_weights=[0, 1], steps=30)))
    assert gram_distance(only_first, style_path, net) < gram_distance(only_second, style_path, net)
    with pytest.raises(StylekitError, match="one weight per style image"):
        transfer(content_path, [style_path, other], **vars(fast(style_blend_weights=[1])))


def test_style_scale_sets_the_size_the_style_is_seen_at(content_path, tmp_path, scratch):
    from PIL import Image
    from ..conftest import pattern
    style = tmp_path / "wide.png"
    Image.fromarray(pattern(60, 1, "style")[:40]).save(style)  # 60x40: the aspect must be kept too
    seen = []
    scratch.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))

    def style_sizes(scale):
        seen.clear()
        result = run_transfer(content_path, style, fast(style_scale=scale, steps=10), backbone=scratch)
        return {hw for hw in seen if hw != (48, 48)}, np.asarray(result.image)  # all else is at the content's 48 px

    small, a = style_sizes(0.5)
    large, b = style_sizes(2.0)
    assert small == {(16, 24)} and large == {(64, 96)}  # long side 48 x the scale
    assert not np.array_equal(a, b)


def test_preserve_color_histogram_matches_content_statistics(content_path, style_path):
    out = transfer(content_path, style_path, **vars(fast(preserve_color="histogram", steps=15)))
    o = np.asarray(out, np.float64).reshape(-1, 3) / 255
    c = load_image(content_path).rgb[0].permute(1, 2, 0).reshape(-1, 3).double().numpy()
    assert np.allclose(o.mean(0), c.mean(0), atol=0.02)
    assert np.allclose(np.cov(o.T), np.cov(c.T), atol=0.01)


def test_preserve_color_luminance_keeps_content_chroma(content_path, style_path):
    from stylekit.color import rgb_to_yiq
    out = transfer(content_path, style_path, **vars(fast(preserve_color="luminance", steps=15)))
    o = rgb_to_yiq(load_image(out).rgb)
    c = rgb_to_yiq(load_image(content_path).rgb)
    assert (o[:, 1:] - c[:, 1:]).abs().mean() < 0.03
    plain = rgb_to_yiq(load_image(transfer(content_path, style_path, **vars(fast(steps=15)))).rgb)
    assert (plain[:, 1:] - c[:, 1:]).abs().mean() > (o[:, 1:] - c[:, 1:]).abs().mean()


def test_alpha_of_content_is_kept(tmp_path, style_path):
    from PIL import Image
    from ..conftest import pattern
    rgba = np.dstack([pattern(40), np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (40, 1))])
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = transfer(path, style_path, **vars(fast(steps=2)))
    assert out.mode == "RGBA" and np.asarray(out)[:, :, 3].std() > 50


def test_early_stopping_ends_a_flat_scale():
    calls = []

    def build(size):
        def loss_fn(x):
            calls.append(1)
            return {"flat": (x * 0).sum() + 1.0}
        return loss_fn

    result = optimize(torch.rand(1, 3, 8, 8), build, [Scale((8, 8), 200)], "adam", None, [EarlyStopping(5)])
    assert len(calls) == 6 and result.loss == 1.0


def test_keyboard_interrupt_returns_best_so_far():
    class Interrupt(Callback):
        def on_step(self, p):
            if p.step == 4:
                raise KeyboardInterrupt

    def build(size):
        target = torch.full((1, 3, *size), 0.5)
        return lambda x: {"mse": ((x - target) ** 2).mean()}

    result = optimize(torch.zeros(1, 3, 8, 8), build, [Scale((8, 8), 50), Scale((16, 16), 50)], "adam", 0.05,
                      [Interrupt()])
    assert result.interrupted and len(result.history) == 4 and result.image.shape[-1] == 8
    assert result.loss == min(h["loss"] for h in result.history)


def test_stop_scale_moves_on():
    class StopFirst(Callback):
        def on_step(self, p):
            if p.scale == 0 and p.step == 2:
                raise StopScale

    build = lambda size: (lambda x: {"l": (x ** 2).mean()})  # noqa: E731
    result = optimize(torch.rand(1, 3, 8, 8), build, [Scale((8, 8), 10), Scale((8, 8), 3)], "lbfgs", None,
                      [StopFirst()])
    assert [h["scale"] for h in result.history] == [0, 0, 1, 1, 1]


BAD_OPTIONS = [
    (dict(style_weight=-1), r"^style_weight must be between 0 and 1e\+12, got -1$"),
    (dict(content_weight=math.nan), "^content_weight must be a finite number, got nan$"),
    (dict(size=0), "size"),
    (dict(size=10**6), "between 16 and 65536"),
    (dict(init="bogus"), "init"),
    (dict(optimizer="newton"), "optimizer"),
    (dict(style_layers=("relu1_1", "nope")), "nope"),
    (dict(style_layer_weights=[1.0, 2.0]), "one weight per layer, or one for all"),
    (dict(device="tpu"), "device"),
    (dict(preserve_color="sepia"), "preserve_color must be one of"),
]


@pytest.mark.parametrize("kw, message", BAD_OPTIONS,
                         ids=[",".join(f"{k}={v}" for k, v in kw.items()) for kw, _ in BAD_OPTIONS])
def test_bad_options(content_path, style_path, kw, message):
    with pytest.raises(StylekitError, match=message):
        run_transfer(content_path, style_path, fast(**kw))


def test_unknown_keyword_option(content_path, style_path):
    with pytest.raises(TypeError, match="unknown option"):
        transfer(content_path, style_path, sise=3)


def test_cuda_without_cuda(content_path, style_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(StylekitError, match="CUDA"):
        run_transfer(content_path, style_path, fast(device="cuda"))


def test_memory_estimate_grows_and_refuses():
    net, cpu = load_scratch(), torch.device("cpu")
    small = estimate_peak_bytes(net, STYLE_LAYERS, (64, 64))
    big = estimate_peak_bytes(net, STYLE_LAYERS, (1024, 1024))
    assert big > small
    tiled = estimate_peak_bytes(net, STYLE_LAYERS, (4096, 4096), tile=512, content_layers=["relu4_1"])
    assert tiled < estimate_peak_bytes(net, STYLE_LAYERS, (4096, 4096))
    opts = Opts(style_layers=STYLE_LAYERS, content_layers=("relu3_1",), tile=0)
    with pytest.raises(OutOfMemoryEstimate, match=r"use size \d+ or less"):
        transfer_tiles(net, opts, run_plan(Opts(size=60000, steps=5), (60000, 60000)), cpu)
    one = RunPlan((64, 64), (Scale((64, 64), 5),))
    assert transfer_tiles(net, opts, one, cpu) == {(64, 64): None}
    forced = Opts(style_layers=STYLE_LAYERS, content_layers=("relu3_1",), tile=128)
    assert transfer_tiles(net, forced, one, cpu) == {(64, 64): 128}


def test_forced_tiles_give_the_same_transfer(content_path, style_path):
    whole = run_transfer(content_path, style_path, fast(size=96, steps=5, init="noise"))
    tiled = run_transfer(content_path, style_path, fast(size=96, steps=5, init="noise", tile=64))
    a, b = np.asarray(whole.image, float), np.asarray(tiled.image, float)
    assert np.abs(a - b).mean() < 1.0  # the same optimisation up to float rounding (in 8-bit levels)
    assert tiled.history[-1]["loss"] == pytest.approx(whole.history[-1]["loss"], rel=1e-2)


def test_tiles_are_chosen_when_memory_is_short(monkeypatch):
    net, cpu, size = load_scratch(), torch.device("cpu"), (4096, 4096)
    whole = estimate_peak_bytes(net, STYLE_LAYERS, size, steps=8)
    tiled = estimate_peak_bytes(net, STYLE_LAYERS, size, steps=8, tile=1024, content_layers=["relu3_1"])
    monkeypatch.setattr(memory_module, "available_memory", lambda device: (whole + tiled) // 2)
    opts = Opts(style_layers=STYLE_LAYERS, content_layers=("relu3_1",))
    plan = RunPlan(size, (Scale((1024, 1024), 8), Scale(size, 8)))
    with pytest.warns(UserWarning, match="4096x4096 would not fit in memory whole: computing in 1024 px tiles"):
        assert transfer_tiles(net, opts, plan, cpu) == {(1024, 1024): None, size: 1024}
    with pytest.raises(OutOfMemoryEstimate, match="4096x4096 step"):
        transfer_tiles(net, Opts(style_layers=STYLE_LAYERS, content_layers=("relu3_1",), tile=0), plan, cpu)


def test_init_fast_starts_from_magentas_painting_of_the_content(content_path, style_path):
    import numpy as np

    from stylekit.feedforward import fast
    from stylekit.io import load_image
    from stylekit.methods.gatys import _initial_image

    opts = TransferOptions(init="fast", backbone="scratch", size=48)
    content, style = load_image(content_path).rgb, load_image(style_path).rgb
    start = _initial_image(opts, content, [style], torch.Generator().manual_seed(0))
    painted = np.asarray(fast(content_path, style_path, model="magenta"), np.float32) / 255
    assert start.shape == content.shape
    assert np.abs(start[0].permute(1, 2, 0).numpy() - painted).mean() < 2 / 255  # (8-bit rounding apart)
    assert (start - content).abs().mean() > 0.05  # a painting, not the photo
    image = transfer(content_path, style_path, init="fast", backbone="scratch", size=48, steps="3")
    assert image.size == (48, 48)
