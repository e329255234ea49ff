"""Feature maps, inversion, texture synthesis and DeepDream on the scratch backbone at tiny sizes."""
import av
import numpy as np
import pytest
import torch
from PIL import Image

from stylekit.backbones import load_scratch
from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.io import load_image
from stylekit.methods.deepdream import dream_zoom, run_dream
from stylekit.methods.feature_maps import feature_figures, features
from stylekit.methods.inversion import run_invert
from stylekit.methods.texture_synthesis import run_texture
from stylekit.options import DreamOptions, InvertOptions, TextureOptions
from stylekit.objectives import activation_l2, gram_matrix, guided_activation
from stylekit.optim import Callback

LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def gram_distance(image, source, net):
    a = net(load_image(image).rgb, LAYERS)
    b = net(load_image(source).rgb, LAYERS)
    return sum(((gram_matrix(a[k], "chw") - gram_matrix(b[k], "chw")) ** 2).sum().item() for k in LAYERS)


# --- feature maps ---------------------------------------------------------------------------------------------

def test_feature_maps_channels_and_order(content_path):
    maps = features(content_path, ["relu1_1", "relu2_1"], channels=5, order="mean", size=32, backbone="scratch")
    assert maps["relu1_1"].maps.shape == (5, 32, 32) and maps["relu2_1"].maps.shape == (5, 16, 16)
    means = maps["relu2_1"].maps.mean((1, 2))
    assert list(means) == sorted(means, reverse=True)
    assert features(content_path, ["relu1_1"], channels=3, size=32, backbone="scratch")["relu1_1"].channels == [0, 1, 2]
    assert len(features(content_path, ["relu1_1"], channels=500, size=32, backbone="scratch")["relu1_1"].channels) == 16


def test_feature_grid_panels_and_color_scale(content_path):
    maps = features(content_path, ["relu1_1", "relu3_1"], channels=6, size=32, backbone="scratch")
    (sheet,) = feature_figures(maps, "shared")
    images = [im for ax in sheet.get_axes() for im in ax.get_images()]
    assert len(images) == 12
    relu1 = images[:6]
    assert len({im.get_clim() for im in relu1}) == 1
    per_map = [im for ax in feature_figures(maps, "per-map")[0].get_axes() for im in ax.get_images()]
    assert len({im.get_clim() for im in per_map[:6]}) > 1
    figs = feature_figures(maps, per_layer=True)
    assert len(figs) == 2 and [len(f.get_axes()) >= 6 for f in figs] == [True, True]


def test_features_cli(tmp_path, content_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["features", str(content_path), "--layers", "relu1_1,relu2_1", "--channels", "4", "--size", "32",
                 "--backbone", "scratch", "-o", str(out), "-q"]) == 0
    assert Image.open(out).size[0] > 100
    assert main(["features", str(content_path), "--layers", "relu1_1,relu2_1", "--per-layer", "--size", "32",
                 "--backbone", "scratch", "-o", str(out), "-q"]) == 0
    assert (tmp_path / "grid_relu1_1.png").is_file() and (tmp_path / "grid_relu2_1.png").is_file()
    assert main(["features", str(content_path), "--layers", "relu7_1", "--backbone", "scratch", "-o", str(out)]) == 2
    assert "valid layers" in capsys.readouterr().err


# --- inversion -----------------------------------------------------------------------------------------------

def test_inversion_feature_distance_falls_a_lot(content_path):
    result = run_invert(content_path, InvertOptions(layer="relu2_1", size=32, steps=80, backbone="scratch", seed=0))
    assert result.final_distance < result.initial_distance / 20
    assert result.image.size == (32, 32)


def test_inversion_regularisers_change_result(content_path):
    a = run_invert(content_path, InvertOptions(layer="relu3_1", size=32, steps=20, backbone="scratch", seed=0,
                                               tv_weight=0))
    b = run_invert(content_path, InvertOptions(layer="relu3_1", size=32, steps=20, backbone="scratch", seed=0,
                                               tv_weight=5, beta=1.0))
    rough = lambda img: np.abs(np.diff(np.asarray(img, float), axis=1)).mean()  # noqa: E731
    assert rough(b.image) < rough(a.image)
    assert {"content:relu3_1", "tv", "alpha"} <= set(b.history[0])


def test_invert_sweep_cli(tmp_path, content_path):
    out = tmp_path / "sweep.png"
    code = main(["invert", str(content_path), "--layers", "relu1_1,relu2_1,relu3_1", "--size", "32", "--steps", "5",
                 "--backbone", "scratch", "--seed", "0", "-o", str(out), "-q"])
    assert code == 0
    assert Image.open(out).size[0] == 4 * 32  # original + three layers side by side


# --- texture -------------------------------------------------------------------------------------------------

def test_texture_matches_source_statistics_better_than_noise(style_path):
    net = load_scratch()
    result = run_texture(style_path, TextureOptions(size=(48, 48), steps=40, min_size=None, backbone="scratch",
                                                style_layers=LAYERS, seed=0, early_stopping=False))
    noise = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(5))
    assert gram_distance(result.image, style_path, net) < 0.2 * gram_distance(noise, style_path, net)


def test_texture_any_size_and_seed(style_path):
    opts = dict(size=(40, 72), steps=[4, 3], min_size=32, backbone="scratch", style_layers=LAYERS, seed=1)
    a = run_texture(style_path, TextureOptions(**opts))
    b = run_texture(style_path, TextureOptions(**opts))
    assert a.image.size == (72, 40)  # wider than the 48 px source, not square
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert {h["scale"] for h in a.history} == {0, 1, 2, 3}  # 32 -> 72 px in steps of about sqrt(2)


def test_texture_cli_and_interrupt(tmp_path, style_path):
    out = tmp_path / "tex.png"
    assert main(["texture", str(style_path), "--size", "64x32", "--steps", "3", "--single-scale", "--backbone",
                 "scratch", "--style-layers", "relu1_1,relu2_1", "-o", str(out), "-q"]) == 0
    assert Image.open(out).size == (64, 32)

    class Stop(Callback):
        def on_step(self, p):
            if p.step == 2:
                raise KeyboardInterrupt

    result = run_texture(style_path, TextureOptions(size=(32, 32), steps=50, backbone="scratch", style_layers=LAYERS),
                     [Stop()])
    assert result.interrupted and result.image.size == (32, 32)


# --- DeepDream -----------------------------------------------------------------------------------------------

def _activation(image, layer="relu3_1", channels=None):
    net = load_scratch()
    return activation_l2(net(load_image(image).rgb, [layer])[layer], channels).item()


def test_dream_raises_the_chosen_activation(content_path):
    opts = DreamOptions(layer="relu3_1", size=48, octaves=2, steps=8, backbone="scratch", seed=0)
    result = run_dream(content_path, opts)
    assert _activation(result.image) > 1.5 * _activation(content_path)
    picked = run_dream(content_path, DreamOptions(**{**vars(opts), "channels": [3, 7]}))
    gain_picked = _activation(picked.image, channels=[3, 7]) / _activation(content_path, channels=[3, 7])
    assert gain_picked > 1.5


def test_dream_guide_and_seed(content_path, style_path):
    opts = DreamOptions(layer="relu2_1", size=40, octaves=1, steps=6, backbone="scratch", seed=2, guide=style_path)
    a, b = run_dream(content_path, opts), run_dream(content_path, opts)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    net = load_scratch()
    guide = net(load_image(style_path).rgb, ["relu2_1"])["relu2_1"][0].flatten(1)
    score = lambda img: guided_activation(net(load_image(img).rgb, ["relu2_1"])["relu2_1"], guide).item()  # noqa
    assert score(a.image) > score(content_path)


def test_dream_bad_channel(content_path):
    with pytest.raises(StylekitError, match=r"channel 99 is out of range for relu1_1, which has 16 channels"):
        run_dream(content_path, DreamOptions(layer="relu1_1", channels=[99], backbone="scratch"))


def test_dream_zoom_gif_and_mp4(tmp_path, content_path, capsys):
    frames = dream_zoom(content_path, 3, zoom=1.2, frame_steps=2, size=32, octaves=1, steps=2, backbone="scratch")
    assert len(frames) == 3 and all(f.size == (32, 32) for f in frames)
    gif = tmp_path / "loop.gif"
    args = ["dream", str(content_path), "--size", "32", "--octaves", "1", "--steps", "2", "--backbone", "scratch",
            "--zoom-frames", "4", "--frame-steps", "1", "-q"]
    assert main([*args, "-o", str(gif)]) == 0
    assert Image.open(gif).n_frames == 4
    mp4 = tmp_path / "loop.mp4"
    assert main([*args, "-o", str(mp4)]) == 0
    with av.open(str(mp4)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4
    assert main([*args, "-o", str(tmp_path / "loop.png")]) == 2
    assert "the extension must be one of .gif, .mp4" in capsys.readouterr().err


def test_dream_cli_single_image(tmp_path, content_path):
    out = tmp_path / "d.png"
    assert main(["dream", str(content_path), "--size", "40", "--octaves", "2", "--steps", "2", "--layer", "relu2_1",
                 "--channels", "0,1", "--backbone", "scratch", "--seed", "0", "-o", str(out), "-q"]) == 0
    assert Image.open(out).size == (40, 40)


def test_keyword_python_api(content_path, style_path):
    import stylekit
    tex = stylekit.texture(style_path, size=(32, 40), steps=2, min_size=None, backbone="scratch", style_layers=LAYERS)
    assert isinstance(tex, Image.Image) and tex.size == (40, 32)
    img, hist = stylekit.invert(content_path, "relu2_1", size=32, steps=3, backbone="scratch", return_history=True)
    assert img.size == (32, 32) and len(hist) == 3
    assert stylekit.dream(content_path, size=32, octaves=1, steps=2, backbone="scratch").size == (32, 32)
    with pytest.raises(TypeError, match="unknown option"):
        stylekit.dream(content_path, octves=2)


def test_feature_grids_take_a_colour_map_and_an_exact_square_size(tmp_path, content_path):
    out = tmp_path / "grey.png"
    assert main(["features", str(content_path), "--backbone", "scratch", "--layers", "block1_pool,block2_pool",
                 "--size", "40x40", "--cmap", "gray", "--channels", "4", "-o", str(out), "-q"]) == 0
    pixels = np.asarray(Image.open(out).convert("RGB"), int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()  # no colour
    assert main(["features", str(content_path), "--backbone", "scratch", "--cmap", "rainbowish", "-o",
                 str(tmp_path / "x.png"), "-q"]) == 2
