"""Issue 31's commands on ../shared/images, each timed, with the pictures for docs/examples.md and the referee's
numbers: for a half/half two-style mask, each half's style distance to both styles (benchmarks/common.py's
referee on that half of the output, each style image at the half's long side).

    python benchmarks/creative_control.py [--out DIR] [--docs]     # --docs: also write docs/images/*.jpg
"""
from __future__ import annotations

import argparse
import shlex
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import IMAGES, referee
from stylekit.cli import main as stylekit

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"


def run(line: str, folder: Path) -> float:
    """One stylekit command line (run in ``folder``), its wall seconds."""
    start = time.perf_counter()
    code = stylekit(shlex.split(line.replace("IMAGES/", f"{IMAGES}/").replace("OUT/", f"{folder}/")))
    if code != 0:
        raise SystemExit(f"failed ({code}): {line}")
    return time.perf_counter() - start


def half_mask(size: tuple[int, int], path: Path, soft: float = 0.06) -> None:
    """White on the left half, black on the right, with a soft edge ``soft`` of the width wide."""
    w, h = size
    x = np.arange(w) / w
    ramp = np.clip((0.5 + soft / 2 - x) / soft, 0, 1)
    Image.fromarray((np.tile(ramp, (h, 1)) * 255).astype(np.uint8), "L").save(path)


def halves(output: Path, content: Path, styles: list[Path], folder: Path) -> list[list[float]]:
    """Style distance of the output's left and right halves (a 6% band at the seam left out) to each style."""
    out = Image.open(output).convert("RGB")
    photo = Image.open(content).convert("RGB").resize(out.size)
    w, h = out.size
    rows = []
    for name, box in (("left", (0, 0, int(w * 0.47), h)), ("right", (int(w * 0.53), 0, w, h))):
        out.crop(box).save(folder / f"{name}.png")
        photo.crop(box).save(folder / f"{name}_photo.png")
        rows.append([referee(folder / f"{name}.png", folder / f"{name}_photo.png", s, size=max(h, box[2] - box[0]))[1]
                     for s in styles])
    return rows


def sheet(paths: list[Path], dest: Path, height: int = 300) -> None:
    """Pictures side by side at one height, as a JPEG."""
    images = [Image.open(p).convert("RGB") for p in paths]
    images = [im.resize((round(im.width * height / im.height), height), Image.LANCZOS) for im in images]
    canvas = Image.new("RGB", (sum(im.width for im in images) + 8 * (len(images) - 1), height), "white")
    x = 0
    for im in images:
        canvas.paste(im, (x, 0))
        x += im.width + 8
    canvas.save(dest, quality=88)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--docs", action="store_true")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    tub, starry, scream = IMAGES / "tubingen.jpg", IMAGES / "starry_night.jpg", IMAGES / "the_scream.jpg"
    w, h = Image.open(tub).size
    half_mask((w, h), folder / "half.png")
    half_mask((256, 256), folder / "half_square.png")
    lines = {
        "transfer --masks": "transfer IMAGES/tubingen.jpg IMAGES/starry_night.jpg IMAGES/the_scream.jpg "
                            "--masks OUT/half.png --size 384 --seed 0 -q -o OUT/masks_transfer.png",
        "fast --masks (magenta)": "fast IMAGES/tubingen.jpg IMAGES/starry_night.jpg IMAGES/the_scream.jpg "
                                  "--masks OUT/half.png --model magenta --content-size 512 -q "
                                  "-o OUT/masks_fast.png",
        "texture --masks": "texture IMAGES/starry_night.jpg IMAGES/the_scream.jpg --masks OUT/half_square.png "
                           "--size 256 --seed 0 -q -o OUT/masks_texture.png",
        "transfer --color-image": "transfer IMAGES/golden_gate.jpg IMAGES/the_scream.jpg --color-image "
                                  "IMAGES/starry_night.jpg --size 384 --seed 0 -q -o OUT/color_transfer.png",
        "fast --color-image": "fast IMAGES/golden_gate.jpg IMAGES/the_scream.jpg --color-image "
                              "IMAGES/starry_night.jpg --content-size 512 -q -o OUT/color_fast.png",
        "texture --tileable": "texture IMAGES/starry_night.jpg --tileable --size 256 --seed 0 -q "
                              "-o OUT/tileable.png",
        "texture (not tileable)": "texture IMAGES/starry_night.jpg --size 256 --seed 0 -q -o OUT/plain_texture.png",
        "rerun": "rerun OUT/masks_fast.png -o OUT/masks_fast_again.png -q",
    }
    for name, line in lines.items():
        print(f"{name:>24}: {run(line, folder):6.1f} s   stylekit {line}", flush=True)
    same = np.array_equal(np.asarray(Image.open(folder / "masks_fast.png")),
                          np.asarray(Image.open(folder / "masks_fast_again.png")))
    print(f"rerun gives the same pixels: {same}")
    for name in ("masks_transfer", "masks_fast"):
        (l1, l2), (r1, r2) = halves(folder / f"{name}.png", tub, [starry, scream], folder)
        print(f"{name}: left half (Starry Night's region): style distance to Starry Night {l1:.3f}, to The Scream "
              f"{l2:.3f}; right half (The Scream's): to Starry Night {r1:.3f}, to The Scream {r2:.3f}")
    for name in ("tileable", "plain_texture"):
        x = np.asarray(Image.open(folder / f"{name}.png"), dtype=np.float64)
        inside = (np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=0)).mean()) / 2
        seam = (np.abs(x[:, 0] - x[:, -1]).mean() + np.abs(x[0] - x[-1]).mean()) / 2
        print(f"{name}: mean step across the wrap-around seam {seam:.1f}, inside {inside:.1f} "
              f"(ratio {seam / inside:.2f})")
    if args.docs:
        for name in ("tileable", "plain_texture"):
            tile = Image.open(folder / f"{name}.png")
            Image.fromarray(np.tile(np.asarray(tile), (2, 2, 1))).save(folder / f"{name}_2x2.png")
        sheet([tub, folder / "half.png", folder / "masks_transfer.png", folder / "masks_fast.png"],
              DOCS / "masks.jpg")
        sheet([folder / "half_square.png", folder / "masks_texture.png"], DOCS / "masks_texture.jpg", 256)
        sheet([IMAGES / "golden_gate.jpg", IMAGES / "starry_night.jpg", folder / "color_transfer.png",
               folder / "color_fast.png"], DOCS / "color_image.jpg")
        sheet([folder / "tileable_2x2.png", folder / "plain_texture_2x2.png"], DOCS / "tileable.jpg", 384)
        print(f"wrote {DOCS}/masks.jpg, masks_texture.jpg, color_image.jpg, tileable.jpg")


if __name__ == "__main__":
    main()
