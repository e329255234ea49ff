"""--tileable: circular padding in the network and wrap-around smoothness, so copies side by side show no seam."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

import stylekit
from stylekit.backbones import load_scratch
from stylekit.objectives import functional as F

from ..conftest import pattern


def _seam_and_inside(image: Image.Image) -> tuple[float, float]:
    x = np.asarray(image, dtype=np.float64)
    inside = (np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=0)).mean()) / 2
    seam = (np.abs(x[:, 0] - x[:, -1]).mean() + np.abs(x[0] - x[-1]).mean()) / 2
    return seam, inside


def test_wrapped_features_are_those_of_the_image_repeated():
    net = load_scratch()
    x = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(0))
    wrapped = net(x, ["relu3_1"], wrap=True)["relu3_1"]
    tiled = net(x.repeat(1, 1, 3, 3), ["relu3_1"])["relu3_1"]  # the middle copy sees its neighbours all round
    h, w = wrapped.shape[-2:]
    assert torch.allclose(wrapped, tiled[..., h:2 * h, w:2 * w], atol=1e-5)
    assert not torch.allclose(net(x, ["relu3_1"])["relu3_1"], wrapped, atol=1e-3)


def test_wrapped_variation_counts_the_seam():
    x = torch.zeros(1, 1, 4, 4)
    x[..., -1] = 1  # one bright column on the right edge: a seam against the left edge
    assert float(F.total_variation(x, reduction="sum")) < float(F.total_variation(x, reduction="sum", wrap=True))
    assert float(F.abs_variation(x, wrap=True)) == 8.0  # both sides of the column, all four rows


def test_a_tileable_texture_s_seam_is_as_smooth_as_its_inside():
    source = Image.fromarray(pattern(48, 2, "style"))
    out = stylekit.texture(source, size=48, steps=80, min_size=None, backbone="scratch", seed=0, tileable=True,
                           early_stopping=False)
    seam, inside = _seam_and_inside(out)
    assert seam < 1.5 * inside
    tiled = np.tile(np.asarray(out), (2, 2, 1))  # and a 2x2 tiling is the same picture repeated
    assert tiled.shape == (96, 96, 3)


def test_a_tileable_transfer_from_noise_has_no_seam(sample_images):
    def run(tileable: bool) -> tuple[float, float]:
        return _seam_and_inside(stylekit.transfer(
            sample_images / "portrait.jpg", sample_images / "starry_night.jpg", size=48, steps=40, min_size=None,
            backbone="scratch", seed=0, tileable=tileable, content_weight=0.1, init="noise", early_stopping=False))

    seam, inside = run(True)
    plain_seam, plain_inside = run(False)
    assert seam < 1.5 * inside and seam / inside < plain_seam / plain_inside


def test_a_wrapped_resize_keeps_an_image_periodic():
    from stylekit.io.geometry import resize_wrapped

    y, x = torch.meshgrid(torch.arange(24.0), torch.arange(32.0), indexing="ij")
    periodic = (0.5 + 0.4 * torch.sin(2 * torch.pi * x / 32) * torch.cos(2 * torch.pi * y / 24))[None, None]
    big = resize_wrapped(periodic, (48, 80))
    truth_y, truth_x = torch.meshgrid((torch.arange(48.0) + 0.5) / 2 - 0.5, (torch.arange(80.0) + 0.5) * 32 / 80 - 0.5,
                                      indexing="ij")
    truth = 0.5 + 0.4 * torch.sin(2 * torch.pi * truth_x / 32) * torch.cos(2 * torch.pi * truth_y / 24)
    assert (big[0, 0] - truth).abs().max() < 0.02  # the wave continues across the edges


def test_a_tileable_plan_s_coarse_scales_tile_the_network_s_poolings():
    from stylekit.options import TextureOptions
    from stylekit.planning import run_plan

    plan = run_plan(TextureOptions(size=250, tileable=True))
    assert all(s.size[0] % 16 == 0 and s.size[1] % 16 == 0 for s in plan.scales[:-1])
    assert plan.scales[-1].size == (250, 250)
