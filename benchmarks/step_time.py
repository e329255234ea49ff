"""Seconds per transfer step at given sizes, as a ratio to a bare VGG19 forward+backward in the same process.

    python benchmarks/step_time.py --sizes 256,512 --steps 5

The baseline is one forward+backward (gradient w.r.t. the input only) of the VGG19 layers a default
transfer uses (to relu5_1); the ratio shows how much the losses, the optimizer and the loop add.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import IMAGES, bare_pass_seconds  # noqa: E402

from stylekit.io import load_image  # noqa: E402
from stylekit.methods.gatys import run_transfer  # noqa: E402
from stylekit.optim import Callback, Progress  # noqa: E402
from stylekit.options import TransferOptions  # noqa: E402


class Timer(Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step(self, progress: Progress) -> None:
        self.times.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--content", default=str(IMAGES / "tubingen.jpg"))
    parser.add_argument("--style", default=str(IMAGES / "starry_night.jpg"))
    parser.add_argument("--square", action="store_true", help="use the centre square of the content (N x N steps)")
    args = parser.parse_args()
    content = load_image(args.content).rgb
    if args.square:
        h, w = content.shape[-2:]
        side = min(h, w)
        content = content[..., (h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'size':>9} {'bare pass s':>12} {'step s':>8} {'ratio':>6}")
    for long_side in (int(s) for s in args.sizes.split(",")):
        timer = Timer()
        opts = TransferOptions(size=long_side, steps=args.steps + 1, min_size=None, early_stopping=False, seed=0)
        result = run_transfer(content, args.style, opts, [timer])
        w, h = result.image.size
        step = min(b - a for a, b in zip(timer.times, timer.times[1:]))
        bare = bare_pass_seconds((h, w), args.steps)
        print(f"{w:>4}x{h:<4} {bare:>12.3f} {step:>8.3f} {step / bare:>6.2f}")


if __name__ == "__main__":
    main()
