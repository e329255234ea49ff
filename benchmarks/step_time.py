"""Seconds per transfer step at given sizes, as a ratio to a bare VGG19 forward+backward in the same process.

    python benchmarks/step_time.py --sizes 256,512 --steps 5

The baseline is one forward+backward (gradient w.r.t. the input only) of the VGG19 layers a default
transfer uses (to relu5_1); the ratio shows how much the losses, the optimizer and the loop add.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from stylekit.backbones import load_backbone
from stylekit.methods.transfer import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, TransferOptions, run_transfer
from stylekit.optim import Callback, Progress

IMAGES = Path(os.environ.get("STYLEKIT_IMAGES_DIR", Path(__file__).resolve().parents[2] / "shared" / "images"))


class Timer(Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step(self, progress: Progress) -> None:
        self.times.append(time.perf_counter())


def bare_pass(size: tuple[int, int], repeats: int) -> float:
    net = load_backbone("vgg19").truncate([*DEFAULT_CONTENT_LAYERS, *DEFAULT_STYLE_LAYERS])
    layers = [*DEFAULT_CONTENT_LAYERS, *DEFAULT_STYLE_LAYERS]
    x = torch.rand(1, 3, *size, requires_grad=True)
    best = float("inf")
    for _ in range(repeats + 1):
        start = time.perf_counter()
        feats = net(x, layers)
        sum(f.sum() for f in feats.values()).backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--content", default=str(IMAGES / "tubingen.jpg"))
    parser.add_argument("--style", default=str(IMAGES / "starry_night.jpg"))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'size':>9} {'bare pass s':>12} {'step s':>8} {'ratio':>6}")
    for long_side in (int(s) for s in args.sizes.split(",")):
        timer = Timer()
        opts = TransferOptions(size=long_side, steps=args.steps + 1, min_size=None, early_stopping=False, seed=0)
        result = run_transfer(args.content, args.style, opts, [timer])
        w, h = result.image.size
        step = min(b - a for a, b in zip(timer.times, timer.times[1:]))
        bare = bare_pass((h, w), args.steps)
        print(f"{w:>4}x{h:<4} {bare:>12.3f} {step:>8.3f} {step / bare:>6.2f}")


if __name__ == "__main__":
    main()
