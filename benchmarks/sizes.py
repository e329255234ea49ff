"""Referee distances of stylekit's default transfer at several output sizes: every size must end finished.

    python benchmarks/sizes.py                              # 128..1024 px, five pairs (each image as content once)
    python benchmarks/sizes.py --sizes 128,256,384 --pairs all --quality draft

Each run is scored at its own size by the fixed referee of benchmarks/common.py (content and style distances,
lower is better); "style/512" divides a size's mean style distance by the 512-px runs' (about 1 when a size
is as finished as the default size). Times are in-process seconds per run (the backbone loaded once).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import IMAGES, pairs, referee  # noqa: E402

from stylekit.methods.gatys import run_transfer  # noqa: E402
from stylekit.options import TransferOptions  # noqa: E402
from stylekit.optim import schedule  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256,384,512,1024")
    parser.add_argument("--pairs", default="5", help="how many content/style pairs of the images folder, or 'all'")
    parser.add_argument("--quality", default="normal")
    parser.add_argument("--extra", default="", help="more TransferOptions as key=value,key=value")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    chosen = pairs(IMAGES, None if args.pairs == "all" else int(args.pairs))
    extra = dict(item.split("=", 1) for item in args.extra.split(",") if item)
    out = Path(tempfile.mkdtemp(prefix="sizes_"))
    rows = {}
    for size in sizes:
        scores, times = [], []
        for content, style in chosen:
            opts = TransferOptions(size=size, seed=0, quality=args.quality, **extra)
            start = time.perf_counter()
            result = run_transfer(content, style, opts)
            times.append(time.perf_counter() - start)
            path = out / f"{size}_{content.stem}_{style.stem}.png"
            result.image.save(path)
            scores.append(referee(path, content, style, size))
        plan = schedule((3, 4), size, opts.min_size, opts.per_scale())
        rows[size] = (statistics.mean(s[0] for s in scores), statistics.mean(s[1] for s in scores),
                      statistics.mean(times), " + ".join(f"{s.steps}@{max(s.size)}" for s in plan))
        print(f"{size}: done", file=sys.stderr, flush=True)
    base = rows.get(512, next(iter(rows.values())))[1]
    print(f"{len(chosen)} pairs from {IMAGES}, quality {args.quality}; outputs in {out}")
    print(f"{'size':>5} {'content':>8} {'style':>7} {'style/512':>9} {'s/run':>6}  schedule (steps@long side)")
    for size, (c, s, t, plan) in rows.items():
        print(f"{size:>5} {c:>8.3f} {s:>7.3f} {s / base:>9.2f} {t:>6.1f}  {plan}")


if __name__ == "__main__":
    main()
