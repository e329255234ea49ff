"""Texture synthesis: style statistics, any size, seeds, the command and Ctrl-C; scratch backbone, tiny sizes."""
import numpy as np
import torch
from PIL import Image

import stylekit
from stylekit.backbones import load_scratch
from stylekit.cli import main
from stylekit.io import load_image
from stylekit.methods.texture_synthesis import run_texture
from stylekit.objectives import gram_matrix
from stylekit.optim import Callback
from stylekit.options import TextureOptions

LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def gram_distance(image, source, net):
    a = net(load_image(image).rgb, LAYERS)
    b = net(load_image(source).rgb, LAYERS)
    return sum(((gram_matrix(a[k], "chw") - gram_matrix(b[k], "chw")) ** 2).sum().item() for k in LAYERS)


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


def test_texture_keyword_python_api(style_path):
    tex = stylekit.texture(style_path, size=(32, 40), steps=2, min_size=None, backbone="scratch", style_layers=LAYERS)
    assert isinstance(tex, Image.Image) and tex.size == (40, 32)
