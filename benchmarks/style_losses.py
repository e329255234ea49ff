"""The four style losses on the content x style pairs of the images folder: time and referee distances, and a
contact sheet.

    python benchmarks/style_losses.py --sheet docs/images/style_losses.jpg     # 20 pairs at 512 px
    python benchmarks/style_losses.py --pairs 5 --quality draft

Every run uses stylekit's defaults but the style loss (same weights, schedule, seed). The referee (benchmarks/
common.py) is fixed and Gram-based for the style, so it favours the Gram loss; read the sheet as well.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import IMAGES, pairs, referee  # noqa: E402

from stylekit.methods.gatys import run_transfer  # noqa: E402
from stylekit.options import STYLE_LOSSES, TransferOptions  # noqa: E402

THUMB = 192


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--pairs", default="all", help="how many content/style pairs, or 'all'")
    parser.add_argument("--quality", default="normal")
    parser.add_argument("--losses", default=",".join(STYLE_LOSSES))
    parser.add_argument("--sheet", default=None, help="write a contact sheet (JPEG) here")
    args = parser.parse_args()
    losses = args.losses.split(",")
    chosen = pairs(IMAGES, None if args.pairs == "all" else int(args.pairs))
    out = Path(tempfile.mkdtemp(prefix="style_losses_"))
    results: dict[str, list[tuple[float, float, float]]] = {loss: [] for loss in losses}
    thumbs: list[list[Image.Image]] = []
    for content, style in chosen:
        row = [Image.open(content).convert("RGB"), Image.open(style).convert("RGB")]
        for loss in losses:
            start = time.perf_counter()
            result = run_transfer(content, style, TransferOptions(size=args.size, seed=0, quality=args.quality,
                                                                  style_loss=loss))
            seconds = time.perf_counter() - start
            path = out / f"{content.stem}_{style.stem}_{loss}.png"
            result.image.save(path)
            results[loss].append((seconds, *referee(path, content, style, args.size)))
            row.append(result.image)
            print(f"{content.stem} x {style.stem} {loss}: {seconds:.1f} s", file=sys.stderr, flush=True)
        thumbs.append(row)
    print(f"{len(chosen)} pairs at {args.size} px, quality {args.quality}; outputs in {out}")
    print(f"{'loss':<8} {'s/run':>6} {'content':>8} {'style':>7} {'style median':>12}")
    for loss, rows in results.items():
        print(f"{loss:<8} {statistics.mean(r[0] for r in rows):>6.1f} {statistics.mean(r[1] for r in rows):>8.3f} "
              f"{statistics.mean(r[2] for r in rows):>7.3f} {statistics.median(r[2] for r in rows):>12.3f}")
    if args.sheet:
        sheet = Image.new("RGB", (THUMB * (2 + len(losses)), THUMB * len(thumbs) + 24), "white")
        draw = ImageDraw.Draw(sheet)
        for i, label in enumerate(["content", "style", *losses]):
            draw.text((i * THUMB + 6, 6), label, fill="black")
        for r, row in enumerate(thumbs):
            for c, image in enumerate(row):
                image.thumbnail((THUMB, THUMB))
                x, y = c * THUMB + (THUMB - image.width) // 2, 24 + r * THUMB + (THUMB - image.height) // 2
                sheet.paste(image, (x, y))
        sheet.save(args.sheet, quality=85)


if __name__ == "__main__":
    main()
