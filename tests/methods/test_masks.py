"""--masks places each style in its region: transfer, texture, and their checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import stylekit
from stylekit.backbones import load_scratch
from stylekit.cli import main
from stylekit.io import load_image
from stylekit.objectives import gram_matrix

LAYERS = ["relu1_1", "relu2_1", "relu3_1"]


def _stripes(color: tuple[int, int, int], period: int, size: int = 48) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size]
    on = ((x + y) // period) % 2 == 0
    arr = np.where(on[..., None], np.array(color), np.array(color) // 4).astype(np.uint8)
    return Image.fromarray(arr)


def _half(size: tuple[int, int] = (48, 48)) -> Image.Image:
    arr = np.zeros(size, np.uint8)
    arr[:, : size[1] // 2] = 255
    return Image.fromarray(arr, "L")


def _distance(net, image: torch.Tensor, style: torch.Tensor) -> float:
    a, b = net(image, LAYERS), net(style, LAYERS)
    return sum(float((gram_matrix(a[k]) - gram_matrix(b[k])).pow(2).sum() / gram_matrix(b[k]).pow(2).sum())
               for k in LAYERS)


def test_a_half_and_half_mask_paints_each_half_closer_to_its_own_style():
    red, blue = _stripes((230, 30, 20), 3), _stripes((20, 40, 220), 8)
    photo = Image.new("RGB", (48, 48), (128, 128, 128))
    out = stylekit.transfer(photo, [red, blue], masks=[_half()], size=48, steps=60, min_size=None,
                            backbone="scratch", seed=0, content_weight=0.01, early_stopping=False)
    net = load_scratch()
    x = load_image(out).rgb
    left, right = x[..., :, :24], x[..., :, 24:]
    r, b = load_image(red).rgb, load_image(blue).rgb
    assert _distance(net, left, r) < _distance(net, left, b)
    assert _distance(net, right, b) < _distance(net, right, r)
    assert x[0, 0, :, :24].mean() > x[0, 0, :, 24:].mean() and x[0, 2, :, 24:].mean() > x[0, 2, :, :24].mean()


def test_a_texture_from_two_sources_places_each_by_its_mask():
    red, blue = _stripes((230, 30, 20), 3), _stripes((20, 40, 220), 8)
    out = stylekit.texture([red, blue], masks=[_half((40, 40))], size=40, steps=60, min_size=None,
                           backbone="scratch", seed=0, early_stopping=False)
    x = load_image(out).rgb
    assert x[0, 0, :, :20].mean() > x[0, 0, :, 20:].mean() + 0.1
    assert x[0, 2, :, 20:].mean() > x[0, 2, :, :20].mean() + 0.1


def test_mask_mistakes_are_one_line(tmp_path, capsys):
    for name, image in (("c.png", Image.new("RGB", (32, 32), "gray")), ("s.png", _stripes((200, 0, 0), 3, 32)),
                        ("m.png", _half((32, 32))), ("white.png", Image.new("L", (32, 32), 255))):
        image.save(tmp_path / name)
    tiny = ["--size", "32", "--steps", "2", "--backbone", "scratch", "-q"]
    p = {n: str(tmp_path / n) for n in ("c.png", "s.png", "m.png", "white.png")}
    assert main(["transfer", p["c.png"], p["s.png"], "-o", str(tmp_path / "o.png"),
                 "--masks", f"{p['m.png']},{p['m.png']}", *tiny]) == 2
    assert main(["transfer", p["c.png"], p["s.png"], p["s.png"], "-o", str(tmp_path / "o.png"),
                 "--masks", p["white.png"], *tiny]) == 2
    assert main(["transfer", p["c.png"], p["s.png"], "-o", str(tmp_path / "o.png"),
                 "--masks", str(tmp_path / "missing.png"), *tiny]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("stylekit: error:") for line in lines)
    assert "--masks" in lines[0] and "one mask per style" in lines[0]
    assert "no room left" in lines[1] and "missing.png" in lines[2]
    assert not (tmp_path / "o.png").exists()
    assert main(["texture", p["s.png"], p["s.png"], "-o", str(tmp_path / "t.png"), "--masks", p["m.png"],
                 "--size", "32", "--steps", "2", "--backbone", "scratch", "-q"]) == 0


@pytest.mark.parametrize("loss", ["w2", "sliced", "meanstd"])
def test_masks_work_with_every_style_loss(loss):
    red, blue = _stripes((230, 30, 20), 3, 32), _stripes((20, 40, 220), 8, 32)
    out = stylekit.transfer(Image.new("RGB", (32, 32), "gray"), [red, blue], masks=[_half((32, 32))], size=32,
                            steps=30, min_size=None, backbone="scratch", seed=0, style_loss=loss,
                            content_weight=0.01, early_stopping=False)
    x = load_image(out).rgb
    assert x[0, 0, :, :16].mean() > x[0, 0, :, 16:].mean()
