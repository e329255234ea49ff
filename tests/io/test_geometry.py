"""Sizes: N or WxH, and the shortest side every method needs."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.io import MIN_SIDE, checked_hw, target_hw
from stylekit.optim import schedule


def test_target_and_checked_sizes():
    assert target_hw(300, 400, 200) == (150, 200) and target_hw(300, 400, (10, 20)) == (10, 20)
    assert target_hw(300, 400, None) == (300, 400)
    with pytest.raises(StylekitError, match=r"^the content is 4000x8 px and would be 512x1 at this size"):
        checked_hw(8, 4000, 512, "the content")
    assert checked_hw(8, 4000, 8000, "the content") == (16, 8000)


def test_coarse_scales_keep_every_side_at_the_minimum():
    plan = schedule((32, 512), 512, 128, (10, 5, 2))  # a 16:1 strip: a 128-px coarsest scale would be 8 px high
    assert min(min(s.size) for s in plan) >= MIN_SIDE and plan[-1].size == (32, 512)


def _odd_image_run(tmp_path, style_path, shape, command) -> int:
    image = tmp_path / "odd.png"
    Image.fromarray(np.full((*shape, 3), 128, np.uint8)).save(image)
    args = {"transfer": ["transfer", str(image), str(style_path)], "invert": ["invert", str(image), "--steps", "1"],
            "dream": ["dream", str(image), "--steps", "1"], "features": ["features", str(image)]}[command]
    return main([*args, "--backbone", "scratch", "--size", "64", "-o", str(tmp_path / "out.png"), "-q"])


COMMANDS = ["transfer", "invert", "dream", "features"]


@pytest.mark.parametrize("shape", [(20, 3), (8, 4000), (4000, 8)])
@pytest.mark.parametrize("command", COMMANDS)
def test_extreme_shapes_get_one_line_not_a_nan(tmp_path, capsys, style_path, shape, command):
    code = _odd_image_run(tmp_path, style_path, shape, command)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "every side must be at least 16 px" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.png", "style.png"]


@pytest.mark.parametrize("shape", [(1, 1), (2, 2)])
@pytest.mark.parametrize("command", COMMANDS)
def test_tiny_images_are_scaled_up_and_work(tmp_path, capsys, style_path, shape, command):
    assert _odd_image_run(tmp_path, style_path, shape, command) == 0, capsys.readouterr().err
    assert Image.open(tmp_path / "out.png").size[0] > 0
