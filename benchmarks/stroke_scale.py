"""--stroke-scale for the fast models at high resolution: the referee's distances (benchmarks/common.py) and the
seconds of Magenta's network painting at the output's own size (stroke scale 1) against painting smaller and
bringing the result back with the guided filter (2, 3, 4), at 1024 and 2048 px, on two pairs of ../shared/images;
``--sheet`` also writes docs/images/stroke_scale.jpg (crops of the 2048-px results).

    python benchmarks/stroke_scale.py --sheet
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from common import IMAGES, referee
from stylekit.feedforward import FastStylizer
from stylekit.io import load_image, resize_to
from stylekit.options import FastOptions

PAIRS = (("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg"))
SCALES = (1.0, 2.0, 3.0, 4.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,2048")
    parser.add_argument("--sheet", action="store_true", help="write docs/images/stroke_scale.jpg")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'pair':>28}  {'px':>5}  {'stroke':>6}  {'seconds':>7}  {'content@512':>11}  {'style@512':>9}  "
          f"{'style@256':>9}")
    crops = []
    with tempfile.TemporaryDirectory() as tmp:
        for content, style in PAIRS:
            for size in sizes:
                photo = resize_to(load_image(IMAGES / content).rgb, size)
                for scale in SCALES:
                    stylizer = FastStylizer([IMAGES / style], FastOptions(model="magenta", stroke_scale=scale))
                    stylizer(photo)  # warm
                    start = time.perf_counter()
                    out = stylizer(photo)
                    seconds = time.perf_counter() - start
                    path = Path(tmp) / f"{content}_{size}_{scale}.png"
                    image = Image.fromarray((out[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype("uint8"))
                    image.save(path)
                    c512, s512 = referee(path, IMAGES / content, IMAGES / style, 512)
                    _, s256 = referee(path, IMAGES / content, IMAGES / style, 256)
                    print(f"{content + ' x ' + style:>28}  {size:5d}  {scale:6.1f}  {seconds:7.2f}  {c512:11.3f}  "
                          f"{s512:9.3f}  {s256:9.3f}")
                    if args.sheet and size == max(sizes) and content == PAIRS[0][0]:
                        w, h = image.size
                        crops.append((scale, image.crop((w // 3, h // 3, w // 3 + 600, h // 3 + 450))))
    if crops:
        sheet = Image.new("RGB", (600 * len(crops), 480), "white")
        for i, (scale, crop) in enumerate(crops):
            sheet.paste(crop, (600 * i, 30))
            ImageDraw.Draw(sheet).text((600 * i + 8, 8), f"--stroke-scale {scale:g} (2048 px, 600x450 crop)",
                                       fill="black")
        out = Path(__file__).resolve().parents[1] / "docs" / "images" / "stroke_scale.jpg"
        sheet.save(out, quality=88)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
