"""Pre-flight memory estimate against the measured peak RSS of real transfer runs, one process per size.

    python benchmarks/memory.py --sizes 512,1024,2048 --steps 3
    python benchmarks/memory.py --sizes 4096 --steps 2      # tiled automatically on a 24 GiB machine

Single-scale runs of ``steps`` L-BFGS steps; also prints the fastest step's seconds.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import IMAGES  # noqa: E402


def child(size: int, steps: int, content: str, style: str) -> None:
    import torch

    from stylekit.backbones import get_backbone
    from stylekit.io import fit_long_side, load_image
    from stylekit.methods.gatys import run_transfer
    from stylekit.methods.gatys import transfer_tiles
    from stylekit.planning import RunPlan, estimate_peak_bytes
    from stylekit.optim import Scale
    from stylekit.options import TransferOptions

    opts = TransferOptions(size=size, steps=steps, min_size=None, early_stopping=False, seed=0)
    net = get_backbone("vgg19")
    layers = [*opts.content_layers, *opts.style_layers]
    hw = fit_long_side(*load_image(content).rgb.shape[-2:], size)
    tile = transfer_tiles(net, opts, RunPlan(hw, (Scale(hw, steps),)), torch.device("cpu"))[hw]
    estimate = estimate_peak_bytes(net, layers, hw, opts.optimizer, steps, tile, opts.content_layers)
    result = run_transfer(content, style, opts, backbone=net)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    step = min(b["elapsed"] - a["elapsed"] for a, b in zip(result.history, result.history[1:]))
    print(json.dumps({"size": f"{hw[1]}x{hw[0]}", "estimate": estimate, "peak": peak, "tile": tile, "step": step}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--steps", type=int, default=3, help="steps per run (L-BFGS history grows with them)")
    parser.add_argument("--content", default=str(IMAGES / "tubingen.jpg"))
    parser.add_argument("--style", default=str(IMAGES / "starry_night.jpg"))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.content, args.style)
        return
    print(f"{'size':>10} {'tiles':>6} {'estimate GiB':>13} {'peak RSS GiB':>13} {'est/peak':>9} {'s/step':>7}")
    for size in args.sizes.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", size, "--steps", str(args.steps),
                              "--content", args.content, "--style", args.style],
                             capture_output=True, text=True, check=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(f"{row['size']:>10} {row['tile'] or '-':>6} {row['estimate'] / 2**30:>13.2f} "
              f"{row['peak'] / 2**30:>13.2f} {row['estimate'] / row['peak']:>9.2f} {row['step']:>7.1f}")


if __name__ == "__main__":
    main()
