"""The page's sheet of built-in styles: each of the 26-style network's styles drawn once on a neutral sample (the
landscape photo), shipped as small JPEGs in ``web/builtin/`` so the sheet loads at once, with its plain name
(:data:`stylekit.options.BUILTIN_NAMES`) and the colour words a person can search it by, read from the picture.

``python -m stylekit.web.previews`` draws the pictures again (after a change of model or sample).
"""
from __future__ import annotations

import colorsys
import functools
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image

from ..options import BUILTIN_NAMES, N_BUILTIN

SAMPLE = "landscape.jpg"  # stylekit/io/photos: a plain scene, sky, hills and water, no face
SIDE = 192  # the pictures' long side
FOLDER = resources.files("stylekit.web") / "builtin"
SHARE = 0.12  # a colour covering at least this share of a picture is one of its colours


def preview_name(index: int) -> str:
    """The file name of built-in style ``index``'s picture."""
    return f"{index:02d}.jpg"


def preview(index: int) -> bytes:
    """Built-in style ``index``'s shipped picture (JPEG bytes)."""
    return (FOLDER / preview_name(index)).read_bytes()


def colour_word(rgb: tuple[int, int, int]) -> str:
    """A basic colour name for ``rgb``, as a person would search for it."""
    hue, light, _ = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    chroma = (max(rgb) - min(rgb)) / 255
    value = max(rgb) / 255
    if value < 0.2:
        return "black"
    if chroma < 24 / 255:  # too little colour to name
        return "white" if light > 0.8 else "grey"
    degrees = hue * 360
    if degrees < 15 or degrees >= 340:
        return "red" if value > 0.45 else "brown"
    if degrees < 45:
        return "orange" if value > 0.7 and chroma > 0.35 else "brown"
    if degrees < 70:
        return "yellow" if value > 0.55 else "brown"
    if degrees < 160:
        return "green"
    if degrees < 195:
        return "teal"
    if degrees < 255:
        return "blue"
    if degrees < 290:
        return "purple"
    return "pink"


def colours_of(picture: Image.Image) -> list[str]:
    """The colour words of ``picture``: those of its main colours, most of the picture first."""
    small = picture.convert("RGB").resize((48, 36))
    counts: dict[str, int] = {}
    for count, rgb in small.getcolors(48 * 36) or []:
        word = colour_word(rgb)
        counts[word] = counts.get(word, 0) + count
    total = sum(counts.values())
    return [word for word, count in sorted(counts.items(), key=lambda kv: -kv[1]) if count >= SHARE * total]


@functools.cache
def catalogue() -> list[dict[str, Any]]:
    """Each built-in style: its number, plain name and colour words."""
    from io import BytesIO

    return [{"index": i, "name": BUILTIN_NAMES[i], "colours": colours_of(Image.open(BytesIO(preview(i))))}
            for i in range(N_BUILTIN)]


def draw(folder: Path, weights_dir: str | None = None) -> list[Path]:
    """Draw the 26 pictures into ``folder`` (the shipped ones: ``web/builtin``)."""
    from ..feedforward.sheet import builtin_styles
    from ..options import StylesOptions

    sample = resources.files("stylekit.io") / "photos" / SAMPLE
    with resources.as_file(sample) as path:
        pictures = builtin_styles(path, StylesOptions(size=SIDE, weights_dir=weights_dir))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, picture in enumerate(pictures):
        target = folder / preview_name(index)
        picture.save(target, "JPEG", quality=85, optimize=True)
        written.append(target)
    return written


if __name__ == "__main__":
    with resources.as_file(FOLDER) as where:
        print("\n".join(str(p) for p in draw(Path(where))))
