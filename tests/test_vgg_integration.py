"""A handful of runs with the real VGG19 weights at small sizes."""
import subprocess
import sys

import pytest
import torch
from PIL import Image

from stylekit import transfer
from stylekit.backbones import load_backbone

pytestmark = pytest.mark.vgg


def test_vgg19_transfer_at_128(sample_images):
    img, hist = transfer(sample_images / "portrait.jpg", sample_images / "starry_night.jpg", size=128,
                         steps=[20, 10], min_size=96, seed=0, return_history=True)
    assert img.size == (128, 96)
    first = [h for h in hist if h["scale"] == 0]
    assert first[-1]["loss"] < 0.5 * first[0]["loss"]
    assert first[-1]["style:relu3_1"] < 0.5 * first[0]["style:relu3_1"]


def test_vgg19_features_are_sane(sample_images):
    from stylekit.io import load_image
    net = load_backbone("vgg19")
    x = torch.nn.functional.interpolate(load_image(sample_images / "landscape.jpg").rgb, size=(64, 64))
    f = net(x, ["relu1_1", "relu5_4", "pool5"])
    assert f["pool5"].shape == (1, 512, 2, 2) and f["relu5_4"].shape == (1, 512, 4, 4)
    assert (f["relu1_1"] >= 0).all() and f["relu1_1"].mean() > 0


def test_demo_command_runs(tmp_path):
    out = tmp_path / "demo.png"
    proc = subprocess.run([sys.executable, "-m", "stylekit", "demo", "-o", str(out), "--size", "96",
                           "--steps", "6", "--single-scale"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size[1] == 96


def test_vgg19_exploration_tools_small(sample_images):
    from stylekit.methods.deepdream import run_dream
    from stylekit.methods.inversion import run_invert
    from stylekit.methods.texture_synthesis import run_texture
    from stylekit.options import DreamOptions, InvertOptions, TextureOptions

    inv = run_invert(sample_images / "portrait.jpg", InvertOptions(layer="relu2_1", size=64, steps=30, seed=0))
    assert inv.final_distance < inv.initial_distance / 10
    tex = run_texture(sample_images / "starry_night.jpg",
                      TextureOptions(size=(64, 96), steps=10, min_size=None, seed=0))
    assert tex.image.size == (96, 64) and tex.history[-1]["loss"] < tex.history[0]["loss"]
    dr = run_dream(sample_images / "landscape.jpg", DreamOptions(size=64, octaves=2, steps=3, seed=0))
    assert dr.history[-1]["loss"] < dr.history[0]["loss"]  # loss is minus the activation: it rose


def test_vgg19_channel_pictures_and_deconv_projections(sample_images):
    from stylekit import deconv, visualize
    from stylekit.backbones import get_backbone
    from stylekit.io import load_image

    net = get_backbone("vgg19")
    picture = load_image(visualize(layer="relu4_1", channel=12, size=96, steps=48, seed=0).image).rgb
    noise = torch.rand((1, 3, 96, 96), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        drawn, random = (float(net(x, ["relu4_1"])["relu4_1"][:, 12].mean()) for x in (picture, noise))
    assert drawn > 5 * random, (drawn, random)  # far above a noise image's
    result = deconv(sample_images / "portrait.jpg", layer="relu3_1", top=4, size=160)
    assert len(result.units) == 4 and all(value > 0 for *_, value in result.units)
    assert result.projections.abs().amax((1, 2, 3)).min() > 0
