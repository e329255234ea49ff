"""--color-image: the result's colours from a third image, for transfer, fast and video, alone or with
--preserve-color."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import stylekit
from stylekit import color


def _palette() -> Image.Image:
    rng = np.random.default_rng(0)
    base = np.array([200, 60, 30]) + rng.normal(0, 20, (32, 32, 3))
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))


def _mean(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(0)


@pytest.mark.parametrize("preserve", ["none", "luminance", "histogram"])
def test_a_transfer_takes_the_colour_image_s_colours(sample_images, preserve):
    out = stylekit.transfer(sample_images / "portrait.jpg", sample_images / "starry_night.jpg", size=48, steps=3,
                            backbone="scratch", seed=0, color_image=_palette(), preserve_color=preserve)
    assert np.abs(_mean(out) - _mean(_palette())).max() < 12  # the palette's mean colour (clipping aside)


def test_a_fast_result_takes_the_colour_image_s_colours(sample_images):
    plain = stylekit.fast(sample_images / "landscape.jpg", [sample_images / "starry_night.jpg"], content_size=96)
    out = stylekit.fast(sample_images / "landscape.jpg", [sample_images / "starry_night.jpg"], content_size=96,
                        color_image=_palette())
    assert np.abs(_mean(out) - _mean(_palette())).max() < 12 < np.abs(_mean(plain) - _mean(_palette())).max()


def test_recolor_with_a_palette_matches_its_statistics_and_keeps_the_layout():
    gen = torch.Generator().manual_seed(0)
    result, content = torch.rand(1, 3, 20, 20, generator=gen) * 0.5 + 0.25, torch.rand(1, 3, 20, 20, generator=gen)
    palette = torch.rand(1, 3, 9, 9, generator=gen) * 0.3 + 0.2
    out = color.recolor(result, content, "none", palette)
    assert torch.allclose(out.mean((-1, -2)), palette.mean((-1, -2)), atol=1e-4)
    assert torch.corrcoef(torch.stack([out[0, 0].flatten(), result[0, 0].flatten()]))[0, 1] > 0.5
    assert torch.equal(color.recolor(result, content, "none", None), result)
