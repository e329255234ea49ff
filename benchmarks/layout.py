"""Channels-last vs NCHW for the VGG19 stack a transfer uses, A/B in one process.

    python benchmarks/layout.py --sizes 512x384,512x512 --repeats 4

Times one forward+backward (gradient w.r.t. the input) to relu5_1 with the backbone's channels-last weights
and input, and with NCHW copies of the same weights; prints the best of ``repeats`` and the ratio.
"""
from __future__ import annotations

import argparse
import time

import torch

from stylekit.backbones import get_backbone, load_backbone

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")


def timed(net: torch.nn.Module, channels_last: bool, size: tuple[int, int], repeats: int) -> float:
    x = torch.rand(1, 3, *size, requires_grad=True)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        h = net.preprocess(x).contiguous(memory_format=fmt)
        outs = []
        for name, module in net.layers.items():
            h = module(h)
            if name in LAYERS:
                outs.append(h)
            if name == LAYERS[-1]:
                break
        sum(o.sum() for o in outs).backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512x384,512x512", help="WIDTHxHEIGHT, comma-separated")
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    channels_last = get_backbone("vgg19")  # the shared backbone, as a transfer uses it
    nchw = load_backbone("vgg19")  # a private copy: its weights are changed below, never the shared one's
    for module in nchw.layers.values():
        if isinstance(module, torch.nn.Conv2d):
            module.weight.data = module.weight.data.contiguous()
    print(f"{'size':>9} {'channels-last s':>16} {'NCHW s':>8} {'ratio':>6}")
    for text in args.sizes.split(","):
        w, h = (int(v) for v in text.split("x"))
        a = timed(channels_last, True, (h, w), args.repeats)
        b = timed(nchw, False, (h, w), args.repeats)
        print(f"{text:>9} {a:>16.3f} {b:>8.3f} {a / b:>6.2f}")


if __name__ == "__main__":
    main()
