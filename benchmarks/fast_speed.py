"""Fast-model speed and memory: seconds per image for MicroAST and WCT (style encoding included, model
loading excluded), achieved GFLOP/s as a ratio to a same-process fp32 matmul, and peak RSS of a 3840x2160
frame in a child process.

    python benchmarks/fast_speed.py --sizes 512,1024 --uhd
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from common import IMAGES
from stylekit.feedforward import FastStylizer
from stylekit.io import fit_long_side, load_image
from stylekit.options import FastOptions


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 matmul throughput of this process (the machine's practical peak)."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def conv_flops(net: torch.nn.Module, run) -> float:
    """Useful multiply-adds x2 of every convolution ``run()`` executes (zero blocks of the dense form of a
    grouped convolution are not counted)."""
    total = 0.0

    def hook(module, inputs, output):
        nonlocal total
        k = torch.count_nonzero(module.weight).item() / module.out_channels  # weights per output value
        total += 2.0 * output.numel() * k

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    run()
    for h in handles:
        h.remove()
    return total


def content_at(long_side: int) -> torch.Tensor:
    rgb = load_image(IMAGES / "tubingen.jpg").rgb
    return F.interpolate(rgb, size=fit_long_side(*rgb.shape[-2:], long_side), mode="bilinear", antialias=True)


def measure(model: str, long_side: int, repeats: int) -> tuple[float, float]:
    """Median seconds of (encode style + stylise) and GFLOP of one call."""
    style = load_image(IMAGES / "starry_night.jpg").rgb
    stylizer = FastStylizer([style], FastOptions(model=model))
    content = content_at(long_side)

    def once() -> None:
        stylizer._codes = stylizer._encode(stylizer.styles)  # style encoding counted in the time
        stylizer(content)

    once()  # warm-up (oneDNN primitive creation)
    seconds = statistics.median(_timed(once) for _ in range(repeats))
    return seconds, conv_flops(stylizer.net, once) / 1e9


def child_uhd(model: str) -> None:
    style = load_image(IMAGES / "starry_night.jpg").rgb
    stylizer = FastStylizer([style], FastOptions(model=model))
    frame = torch.rand(1, 3, 2160, 3840)
    start = time.perf_counter()
    stylizer(frame)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f"{model:>9}  3840x2160  {seconds:7.2f} s  peak RSS {peak:.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--models", default="microast,wct")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--uhd", action="store_true", help="also run a 3840x2160 frame in a child process")
    parser.add_argument("--child-uhd", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_uhd:
        return child_uhd(args.child_uhd)
    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32 matmul {peak:.0f} GFLOP/s")
    print(f"{'model':>9}  {'size':>9}  {'s/image':>8}  {'GFLOP':>6}  {'GFLOP/s':>8}  {'/matmul':>7}")
    for model in args.models.split(","):
        for long_side in map(int, args.sizes.split(",")):
            seconds, gflop = measure(model, long_side, args.repeats)
            h, w = content_at(long_side).shape[-2:]
            print(f"{model:>9}  {f'{w}x{h}':>9}  {seconds:8.3f}  {gflop:6.1f}  {gflop / seconds:8.1f}  "
                  f"{gflop / seconds / peak:7.2f}")
    if args.uhd:
        for model in args.models.split(","):
            subprocess.run([sys.executable, __file__, "--child-uhd", model], check=True)


if __name__ == "__main__":
    main()
