"""--masks for fast models: style codes mixed per pixel (Magenta's and the 26-style network's norms, MicroAST's
modulation), each style in its region."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import stylekit
from stylekit.cli import main
from stylekit.feedforward.magenta import RegionNorm
from stylekit.feedforward.model import region_weights


def _half(hw: tuple[int, int]) -> Image.Image:
    arr = np.zeros(hw, np.uint8)
    arr[:, : hw[1] // 2] = 255
    return Image.fromarray(arr, "L")


def _px(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64)


@pytest.mark.parametrize("model", ["magenta", "microast"])
def test_each_half_is_painted_in_its_own_style(sample_images, model):
    photo, first, second = (sample_images / n for n in ("landscape.jpg", "starry_night.jpg", "the_scream.jpg"))
    mixed = _px(stylekit.fast(photo, [first, second], model=model, content_size=128, masks=[_half((96, 128))]))
    alone = [_px(stylekit.fast(photo, [s], model=model, content_size=128)) for s in (first, second)]
    w = mixed.shape[1] // 2
    left, right = (slice(None), slice(0, w - 8)), (slice(None), slice(w + 8, None))
    assert np.abs(mixed[left] - alone[0][left]).mean() < 0.6 * np.abs(mixed[left] - alone[1][left]).mean()
    assert np.abs(mixed[right] - alone[1][right]).mean() < 0.6 * np.abs(mixed[right] - alone[0][right]).mean()


@pytest.mark.parametrize("model", ["magenta", "microast"])
def test_one_white_mask_is_the_plain_style(sample_images, model):
    photo, style = sample_images / "portrait.jpg", sample_images / "shipwreck.jpg"
    plain = _px(stylekit.fast(photo, [style], model=model, content_size=96))
    white = _px(stylekit.fast(photo, [style], model=model, content_size=96,
                              masks=[Image.new("L", (40, 40), 255)]))
    assert np.abs(plain - white).max() <= 1


def test_builtin_styles_are_placed_by_their_masks(sample_images):
    photo = sample_images / "landscape.jpg"
    mixed = _px(stylekit.fast(photo, [], builtin=[(3, 1.0), (12, 1.0)], content_size=128, masks=[_half((10, 10))]))
    alone = [_px(stylekit.fast(photo, [], builtin=[(i, 1.0)], content_size=128)) for i in (3, 12)]
    w = mixed.shape[1] // 2
    assert np.abs(mixed[:, : w - 8] - alone[0][:, : w - 8]).mean() < 0.6 * np.abs(
        mixed[:, : w - 8] - alone[1][:, : w - 8]).mean()


def test_region_weights_sum_to_one_and_the_rest_fills_the_gap():
    mask = torch.zeros(1, 1, 4, 6)
    mask[..., :3] = 1
    weights = region_weights([mask], 3)
    assert torch.allclose(sum(weights), torch.ones(1, 1, 4, 6))
    assert torch.allclose(weights[0], mask) and torch.allclose(weights[1], (1 - mask) / 2)
    both = region_weights([mask, mask], 2)  # overlapping claims share; nothing claimed: every style alike
    assert torch.allclose(both[0], torch.full_like(mask, 0.5))


def test_a_region_norm_mixes_each_style_s_scale_and_shift_per_pixel():
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4] = 1
    params = [(torch.full((1, 2, 1, 1), 2.0), torch.zeros(1, 2, 1, 1)),
              (torch.ones(1, 2, 1, 1), torch.ones(1, 2, 1, 1))]
    scale, shift = RegionNorm(params, [mask, 1 - mask])((4, 4))
    assert scale.shape == (1, 2, 4, 4) and float(scale[0, 0, 0, 0]) == 2 and float(scale[0, 0, 0, 3]) == 1
    assert float(shift[0, 1, 2, 0]) == 0 and float(shift[0, 1, 2, 3]) == 1


def test_mask_mistakes_for_fast_are_one_line(sample_images, tmp_path, capsys):
    _half((32, 32)).save(tmp_path / "m.png")
    photo, style = str(sample_images / "portrait.jpg"), str(sample_images / "shipwreck.jpg")
    out = str(tmp_path / "o.png")
    m = str(tmp_path / "m.png")
    assert main(["fast", photo, style, "-o", out, "--masks", f"{m},{m}", "-q"]) == 2
    assert main(["fast", photo, style, "-o", out, "--model", "wct", "--masks", m, "-q"]) == 2
    assert main(["fast", photo, style, style, "-o", out, "--mask", m, "--masks", m, "--model", "wct", "-q"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("stylekit: error:") for line in lines)
    assert "--masks" in lines[0] and "two styles and one" in lines[1] and "not both" in lines[2]
    assert not (tmp_path / "o.png").exists()


def test_one_style_with_one_mask_leaves_the_rest_of_the_photo_as_it_was(sample_images):
    photo = sample_images / "landscape.jpg"
    out = _px(stylekit.fast(photo, [sample_images / "the_scream.jpg"], model="magenta", content_size=128,
                            masks=[_half((96, 128))]))
    original = _px(Image.open(photo).convert("RGB").resize((out.shape[1], out.shape[0]), Image.LANCZOS))
    w = out.shape[1] // 2
    right = np.abs(out[:, w + 8:] - original[:, w + 8:]).mean()
    left = np.abs(out[:, : w - 8] - original[:, : w - 8]).mean()
    assert right < 12 < left  # the unmasked half is the photo, the masked half is painted
