"""Where the optimisation starts: `stylekit transfer` from the content (the default), from Magenta's one-pass
painting (`--init fast`), and from noise, at 512 px on three pairs of ../shared/images, with the referee's
distances (benchmarks/common.py) against the seconds of each run (one process, models loaded first).

    python benchmarks/init_fast.py
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import IMAGES, referee
from stylekit import transfer

PAIRS = (("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg"),
         ("shipwreck.jpg", "starry_night.jpg"))
RUNS = (("content", "40,20,8"), ("fast", "40,20,8"), ("fast", "20,10,8"), ("fast", "10,5,8"), ("fast", "0,0,8"),
        ("noise", "40,20,8"))


def main() -> None:
    transfer(IMAGES / PAIRS[0][0], IMAGES / PAIRS[0][1], size=64, steps="2", init="fast")  # load the models
    print(f"{'pair':>34}  {'init':>7}  {'steps':>8}  {'seconds':>7}  {'content':>7}  {'style':>6}")
    totals: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for content, style in PAIRS:
            for init, steps in RUNS:
                start = time.perf_counter()
                image = transfer(IMAGES / content, IMAGES / style, size=512, init=init, seed=0,
                                 steps=steps if steps != "0,0,8" else "1,1,8")
                seconds = time.perf_counter() - start
                path = Path(tmp) / "out.png"
                image.save(path)
                c, s = referee(path, IMAGES / content, IMAGES / style, 512)
                totals.setdefault((init, steps), []).append((seconds, c, s))
                print(f"{content + ' x ' + style:>34}  {init:>7}  {steps:>8}  {seconds:7.1f}  {c:7.3f}  {s:6.3f}")
    print("\nmeans over the pairs")
    for (init, steps), rows in totals.items():
        n = len(rows)
        print(f"{init:>7}  {steps:>8}  {sum(r[0] for r in rows) / n:7.1f} s  content {sum(r[1] for r in rows) / n:.3f}"
              f"  style {sum(r[2] for r in rows) / n:.3f}")


if __name__ == "__main__":
    main()
