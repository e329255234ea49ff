"""`stylekit transfer` settings against pastiche's 1000-step default on three pairs at 512 px: both referee
distances (benchmarks/common.py) for each, and the speed ratio by the bare-VGG-pass measure (pastiche's 1000
steps at its measured 1.58 bare passes per step, docs/benchmarks.md, against stylekit's wall seconds; the bare
pass timed in this run). pastiche's outputs are made once, beforehand, with its own CLI:

    python -m pastiche --content C --styles S --output DIR/C_S.png --size 512 --num-steps 1000 --seed 0 --device cpu
    python benchmarks/quality_vs_pastiche.py --pastiche-dir DIR
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import IMAGES, bare_pass_seconds, referee
from stylekit import transfer

PAIRS = (("tubingen", "starry_night"), ("golden_gate", "the_scream"), ("shipwreck", "starry_night"))
PASTICHE_STEP = 1.58  # pastiche's seconds per step over a bare VGG19 pass (docs/benchmarks.md, 50x pastiche)
SETTINGS = {"normal from the photo": {"init": "content"},
            "40,20,8 (the old normal)": {"steps": "40,20,8", "init": "content"},
            "40,20,12": {"steps": "40,20,12", "init": "content"}, "the default (--init fast)": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pastiche-dir", required=True, type=Path)
    parser.add_argument("--pairs", nargs="+", help="only these pairs, as CONTENT_STYLE (e.g. golden_gate_the_scream)")
    parser.add_argument("--fast-schedules", nargs="+", metavar="STEPS",
                        help="score only these schedules from --init fast instead (one entry: a single scale)")
    args = parser.parse_args()
    settings = SETTINGS if not args.fast_schedules else {
        f"{steps} from fast": {"steps": steps, "init": "fast", **({"min_size": None} if "," not in steps else {})}
        for steps in args.fast_schedules}
    bare = bare_pass_seconds((512, 384))
    pastiche_seconds = 1000 * PASTICHE_STEP * bare
    print(f"bare VGG19 pass at 512x384: {bare:.3f} s; pastiche's 1000 steps by that measure: {pastiche_seconds:.0f} s")
    print(f"{'pair':>26}  {'run':>22}  {'seconds':>7}  {'x pastiche':>10}  {'content':>7}  {'style':>6}")
    transfer(IMAGES / "tubingen.jpg", IMAGES / "starry_night.jpg", size=64, steps="2", init="fast")  # warm
    with tempfile.TemporaryDirectory() as tmp:
        for content, style in PAIRS:
            if args.pairs and f"{content}_{style}" not in args.pairs:
                continue
            c_path, s_path = IMAGES / f"{content}.jpg", IMAGES / f"{style}.jpg"
            made = args.pastiche_dir / f"{content}_{style}.png"
            if not made.is_file():
                print(f"{content} x {style}: no pastiche output in {args.pastiche_dir}, skipped")
                continue
            c, s = referee(made, c_path, s_path)
            label = f"{content} x {style}"
            print(f"{label:>26}  {'pastiche 1000 steps':>22}  {'':>7}  {'1.0':>10}  {c:7.3f}  {s:6.3f}")
            for name, chosen in settings.items():
                start = time.perf_counter()
                image = transfer(c_path, s_path, size=512, seed=0, **chosen)
                seconds = time.perf_counter() - start
                out = Path(tmp) / "out.png"
                image.save(out)
                c, s = referee(out, c_path, s_path)
                print(f"{content + ' x ' + style:>26}  {name:>22}  {seconds:7.1f}  {pastiche_seconds / seconds:10.1f}  "
                      f"{c:7.3f}  {s:6.3f}")


if __name__ == "__main__":
    main()
