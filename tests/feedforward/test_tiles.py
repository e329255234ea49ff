"""Fast models on large images: tiles read with halos give the untiled result with no seams; the memory plan
tiles large images and refuses, in one line, what cannot fit even in tiles."""
from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from stylekit.cli import main
from stylekit.errors import OutOfMemoryEstimate
from stylekit.feedforward import FastStylizer
from stylekit.feedforward import stylize as stylize_module
from stylekit.feedforward.tiles import TILE, layout, map_tiles, reach
from stylekit.io import fit_long_side, load_image
from stylekit.options import FastOptions

GiB = 2**30


@pytest.fixture
def images(sample_images):
    content = F.interpolate(load_image(sample_images / "portrait.jpg").rgb, size=(96, 128), mode="area")
    return content, sample_images / "starry_night.jpg"


def _step(image: torch.Tensor, column: int) -> float:
    """Mean jump between two neighbouring columns: a seam at a tile border would show as a step there."""
    return (image[..., column] - image[..., column - 1]).abs().mean().item()


@pytest.mark.parametrize("model, extra", [("microast", {}), ("microast", {"alpha": 0.5}), ("wct", {}),
                                          ("wct", {"alpha": 0.6, "levels": 3})])
def test_tiled_output_equals_the_untiled_one_without_seams(weights_dir, images, model, extra):
    content, style = images
    opts = FastOptions(model=model, style_size=128, **extra)
    whole = FastStylizer([style], opts, tile=0)(content)
    tiled = FastStylizer([style], opts, tile=32)(content)  # 12 tiles, each read with its halo
    assert (whole - tiled).abs().max().item() < 1e-3
    for border in range(32, 128, 32):
        assert _step(tiled, border) == pytest.approx(_step(whole, border), abs=1e-4)


def test_wct_tiles_keep_the_two_style_mask(weights_dir, images, sample_images):
    content, style = images
    mask = F.interpolate(load_image(sample_images / "landscape.jpg").rgb, size=(96, 128)).mean(1, keepdim=True)
    opts = FastOptions(model="wct", style_size=(128, 128), mask=mask, levels=2)  # sides multiples of 16
    styles = [style, sample_images / "the_scream.jpg"]
    whole = FastStylizer(styles, opts, tile=0)(content)
    tiled = FastStylizer(styles, opts, tile=32)(content)
    assert (whole - tiled).abs().max().item() < 1e-3


def test_small_images_are_not_tiled(weights_dir, images):
    content, style = images
    opts = FastOptions(style_size=128)
    assert torch.equal(FastStylizer([style], opts)(content), FastStylizer([style], opts, tile=0)(content))


def test_map_tiles_with_a_halo_of_the_reach_equals_the_whole_pass():
    torch.manual_seed(0)
    stage = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, padding=2, padding_mode="reflect"), torch.nn.ReLU(),
                                torch.nn.Conv2d(4, 2, 3, stride=2, padding=1, padding_mode="reflect"))
    x = torch.rand(1, 3, 40, 56)
    grid = layout(16, reach(stage), 2)
    assert grid.halo >= 4
    tiled = map_tiles(lambda patch, _: stage(patch), x, grid, 1, 2)
    assert torch.allclose(tiled, stage(x), atol=1e-6)
    short = layout(16, 1, 2)  # a halo narrower than the reach does show
    assert not torch.allclose(map_tiles(lambda patch, _: stage(patch), x, short, 1, 2), stage(x), atol=1e-3)


@pytest.fixture
def stylizer(weights_dir, monkeypatch, images):
    """A loaded MicroAST; ``stylizer(free, tile)`` sets the free memory its plan sees."""
    _, style = images
    made = FastStylizer([style], FastOptions(style_size=128))

    def with_memory(free: int, tile: int | None = None) -> FastStylizer:
        monkeypatch.setattr(stylize_module, "available_memory", lambda device: free)
        made.tile = tile
        return made

    return with_memory


def test_large_photos_are_tiled_and_what_cannot_fit_is_refused_with_a_size_that_can(stylizer):
    roomy = stylizer(64 * GiB)
    assert roomy.plan((768, 1024)) is None
    assert roomy.plan((4000, 6000)) == TILE  # a phone photo: tiled, though it would fit whole here
    short = stylizer(2 * GiB)
    with pytest.raises(OutOfMemoryEstimate) as refused:
        short.plan((10923, 16384))
    message = str(refused.value)
    found = re.search(r"^a 16384x10923 content needs about [\d.]+ GiB but 2\.0 GiB is free on cpu: "
                      r"use content_size (\d+) or less$", message)
    assert found, message
    n = int(found.group(1))
    assert short.plan(fit_long_side(10923, 16384, n)) == TILE
    with pytest.raises(OutOfMemoryEstimate):
        short.plan(fit_long_side(10923, 16384, int(n * 1.01) + 4))
    never = stylizer(2 * GiB, tile=0)
    with pytest.raises(OutOfMemoryEstimate, match=r"use content_size \d+ or less"):
        never.plan((4000, 6000))


def test_the_cli_refuses_a_content_size_that_cannot_fit_before_resizing(weights_dir, monkeypatch, capsys, tmp_path,
                                                                         content_path, style_path):
    monkeypatch.setattr(stylize_module, "available_memory", lambda device: GiB)
    out = tmp_path / "o.png"
    assert main(["fast", str(content_path), str(style_path), "--content-size", "16384", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(r"use --content-size \d+ or less$", err)
    assert not out.exists()
