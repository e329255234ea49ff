"""Shared fast-model networks and encoded styles: in one process, the first ``stylekit.fast`` call of a model
(which loads it and encodes the style), the median of repeated calls with the same model and style (the network
and the style's code shared; the two images read each time), and the median of the stylisation alone (a
FastStylizer built once, called repeatedly), with the ratio repeated / stylisation alone. The median of an
encoding of the style (what a repeated call no longer does) is shown, and the ratio without it. Repeated
calls, the stylisation alone and the encoding alone alternate, so all three see the same machine load.

    python benchmarks/fast_cache.py [--models magenta,microast] [--size 512] [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

import stylekit
from stylekit.feedforward import FastStylizer
from stylekit.options import FastOptions

IMAGES = Path(__file__).resolve().parents[1] / "tests" / "data" / "images"


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="magenta,microast")
    parser.add_argument("--size", type=int, default=512, help="content long side in pixels")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    content, style = IMAGES / "portrait.jpg", IMAGES / "starry_night.jpg"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {content.name} at {args.size} px, "
          f"style {style.name}, median of {args.repeats}")
    print(f"{'model':>9}  {'first fast() s':>14}  {'repeated fast() s':>17}  {'stylisation alone s':>19}  "
          f"{'repeated / alone':>16}  {'style encoding s':>16}  {'(repeated - encoding) / alone':>29}")
    for model in args.models.split(","):
        def call() -> object:
            return stylekit.fast(content, style, model=model, content_size=args.size)

        first = timed(call)
        stylizer = FastStylizer([style], FastOptions(model=model, content_size=args.size))
        stylizer.stylize_image(content)  # warm-up of its own
        repeated, alone, encoding = [], [], []
        for _ in range(args.repeats):
            repeated.append(timed(call))
            alone.append(timed(lambda: stylizer.stylize_image(content)))
            with torch.no_grad():
                encoding.append(timed(lambda: stylizer._encode(stylizer.styles)))
        again, once, encode = (statistics.median(t) for t in (repeated, alone, encoding))
        print(f"{model:>9}  {first:14.3f}  {again:17.3f}  {once:19.3f}  {again / once:16.2f}  {encode:16.3f}  "
              f"{(again - encode) / once:29.2f}")


if __name__ == "__main__":
    main()
