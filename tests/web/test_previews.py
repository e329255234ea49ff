"""The page's sheet of built-in styles: shipped pictures of each style on the landscape photo, with plain names
and the colour words read from them."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylekit.options import BUILTIN_NAMES, N_BUILTIN
from stylekit.web.previews import catalogue, colour_word, colours_of, draw, preview


def test_every_builtin_style_has_a_distinct_plain_name_and_a_shipped_picture():
    assert len(BUILTIN_NAMES) == N_BUILTIN == len(set(BUILTIN_NAMES))
    assert all(name == name.lower() and not any(ch.isdigit() for ch in name) for name in BUILTIN_NAMES)
    sizes = {Image.open(io.BytesIO(preview(i))).size for i in range(N_BUILTIN)}
    assert sizes == {(192, 144)}


@pytest.mark.parametrize("rgb, word", [
    ((20, 20, 30), "black"), ((240, 240, 236), "white"), ((128, 128, 120), "grey"), ((220, 40, 40), "red"),
    ((240, 150, 40), "orange"), ((120, 70, 40), "brown"), ((235, 210, 60), "yellow"), ((60, 170, 70), "green"),
    ((40, 150, 150), "teal"), ((40, 80, 200), "blue"), ((130, 60, 190), "purple"), ((230, 110, 180), "pink"),
])
def test_colour_words_name_colours_as_a_person_would(rgb, word):
    assert colour_word(rgb) == word


def test_a_pictures_colours_are_those_covering_enough_of_it_largest_first():
    picture = np.zeros((36, 48, 3), np.uint8)
    picture[:, :30] = (40, 80, 200)  # 62% blue
    picture[:, 30:44] = (220, 40, 40)  # 29% red
    picture[:, 44:] = (235, 210, 60)  # 8% yellow: too little to count
    assert colours_of(Image.fromarray(picture)) == ["blue", "red"]
    assert "blue" in catalogue()[19]["colours"] and "red" in catalogue()[17]["colours"]


def test_the_shipped_pictures_are_the_network_drawing_the_landscape(tmp_path):
    """Drawn again now, each is the shipped one up to JPEG rounding: not placeholders, not another model's."""
    drawn = draw(tmp_path)
    for index in (0, 7, 19):
        shipped = np.asarray(Image.open(io.BytesIO(preview(index))), np.float32)
        again = np.asarray(Image.open(drawn[index]), np.float32)
        other = np.asarray(Image.open(drawn[(index + 1) % N_BUILTIN]), np.float32)
        assert np.abs(shipped - again).mean() < 4 < np.abs(shipped - other).mean()
