"""Which fast model: MicroAST, WCT and Magenta's network on every content x style pair of ../shared/images at
512 px: seconds per image, and the referee's content and style distances (benchmarks/common.referee, as
vs_pastiche.py computes them); Magenta's style input both ways (the centre square, the default, and the whole
image squeezed to 256x256). The 26-style network has no style image to compare with, so only its speed is
timed. Writes a contact sheet of one pair per content image.

    python benchmarks/fast_models.py --sheet docs/images/fast_models.jpg
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from common import IMAGES, pairs, referee
from stylekit.feedforward import FastStylizer
from stylekit.feedforward.magenta import STYLE_SIDE
from stylekit.io import load_image, resize_to, save_image, to_pil
from stylekit.options import FastOptions

SIZE = 512
SHOWN = {("golden_gate", "starry_night"), ("shipwreck", "the_scream"), ("starry_night", "shipwreck"),
         ("the_scream", "starry_night"), ("tubingen", "the_scream")}  # the sheet: each photo once, with a painting
ROWS = ("microast", "wct", "magenta", "magenta-whole")


def stylise(row: str, content: Path, style: Path) -> tuple[Image.Image, float]:
    """One output of ``row`` and its seconds (the model loaded and the style encoded beforehand, as a batch or
    a video runs)."""
    model = "magenta" if row.startswith("magenta") else row
    stylizer = FastStylizer([style], FastOptions(model=model, content_size=SIZE))
    if row == "magenta-whole":  # the whole style image squeezed to the predictor's square
        whole = F.interpolate(stylizer.styles[0], size=(STYLE_SIDE, STYLE_SIDE), mode="bilinear", antialias=True)
        stylizer._codes = stylizer.net.style_vector(whole.clamp(0, 1))
    image = resize_to(load_image(content).rgb, SIZE)
    stylizer(image)  # warm-up: the first call of a shape pays oneDNN's set-up
    start = time.perf_counter()
    out = stylizer(image)
    return to_pil(out), time.perf_counter() - start


def sheet(rows: list[list[Image.Image]], labels: list[str], path: Path, cell: int = 160) -> None:
    """A grid: one row per pair, columns content, style and each model."""
    label = 18
    grid = Image.new("RGB", (len(labels) * (cell + 4) + 4, label + len(rows) * (cell + 4) + 4), "white")
    draw = ImageDraw.Draw(grid)
    for j, text in enumerate(labels):
        draw.text((4 + j * (cell + 4), 3), text, fill="black")
    for i, images in enumerate(rows):
        for j, image in enumerate(images):
            thumb = image.convert("RGB")
            thumb.thumbnail((cell, cell))
            grid.paste(thumb, (4 + j * (cell + 4), label + 4 + i * (cell + 4)))
    grid.save(path, quality=85)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=None, help="how many pairs (default: all 20)")
    parser.add_argument("--sheet", type=Path, default=None, help="write the contact sheet here")
    args = parser.parse_args()
    torch.manual_seed(0)
    chosen = pairs(IMAGES, args.pairs)
    results: dict[str, list[tuple[float, float, float]]] = {row: [] for row in ROWS}
    shown: list[list[Image.Image]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for content, style in chosen:
            outputs = []
            for row in ROWS:
                image, seconds = stylise(row, content, style)
                path = save_image(image, Path(tmp) / f"{row}.png")
                results[row].append((seconds, *referee(path, content, style, SIZE)))
                outputs.append(image)
            if (content.stem, style.stem) in SHOWN:
                shown.append([Image.open(content), Image.open(style), *outputs])
            print(f"{content.stem} x {style.stem}: " + ", ".join(
                f"{row} {results[row][-1][0]:.2f} s {results[row][-1][1]:.3f}/{results[row][-1][2]:.3f}"
                for row in ROWS), flush=True)
    content = resize_to(load_image(chosen[0][0]).rgb, SIZE)
    builtin = FastStylizer([], FastOptions(builtin=7))
    builtin(content)
    start = time.perf_counter()
    builtin(content)
    multistyle = time.perf_counter() - start
    print(f"\n{len(chosen)} pairs at {SIZE} px (medians; distances: lower is closer)")
    print(f"{'model':>14}  {'s/image':>8}  {'content dist':>12}  {'style dist':>10}  {'style dist mean':>15}")
    for row in ROWS:
        seconds, content_d, style_d = zip(*results[row])
        print(f"{row:>14}  {statistics.median(seconds):8.3f}  {statistics.median(content_d):12.3f}  "
              f"{statistics.median(style_d):10.3f}  {statistics.mean(style_d):15.3f}")
    print(f"{'multistyle26':>14}  {multistyle:8.3f}  {'-':>12}  {'-':>10}  {'-':>15}")
    if args.sheet:
        sheet(shown, ["content", "style", *ROWS], args.sheet)
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
