"""stylekit against pastiche==1.6.0 on one content/style pair: wall time, peak RSS and a fixed referee score.

    python benchmarks/vs_pastiche.py                      # both tools, pastiche's 1000 default steps (~40 min)
    python benchmarks/vs_pastiche.py --skip-pastiche      # stylekit only (pastiche figures from an earlier run)
    python benchmarks/vs_pastiche.py --pastiche-probe 60,120   # pastiche's 1000-step time from two short runs

Needs pastiche in the environment (`pip install -c constraints.txt pastiche==1.6.0`; stylekit already depends
on it for the VGG19 weights). Each tool runs in its own process with its own defaults, at 512 px long side;
the referee (benchmarks/common.py) scores both outputs the same way, and the machine's floor, one bare VGG19
forward+backward at the same size, is measured in this run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import IMAGES, bare_pass_seconds, referee  # noqa: E402

from stylekit.io import fit_long_side, load_image  # noqa: E402


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[2]} failed: {err.strip()[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", default=str(IMAGES / "tubingen.jpg"))
    parser.add_argument("--style", default=str(IMAGES / "starry_night.jpg"))
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--pastiche-steps", type=int, default=1000, help="pastiche's own default is 1000")
    parser.add_argument("--skip-pastiche", action="store_true")
    parser.add_argument("--pastiche-probe", default=None,
                        help="A,B: run pastiche for A and B steps and extrapolate its wall time to --pastiche-steps "
                             "(a fixed start-up plus a constant time per step); its distances are then A..B's")
    parser.add_argument("--out-dir", default=None, help="keep both outputs here (default: a temporary folder)")
    parser.add_argument("--stylekit-args", default="", help="extra options for 'stylekit transfer'")
    args = parser.parse_args()
    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="vs_pastiche_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.skip_pastiche:
        out = out_dir / "pastiche.png"

        def pastiche(steps: int) -> tuple[float, int]:
            return run_measured([sys.executable, "-m", "pastiche", "--content", args.content, "--styles", args.style,
                                 "--output", str(out), "--size", str(args.size), "--num-steps", str(steps), "--seed",
                                 "0", "--device", "cpu", "--no-verbose"])

        if args.pastiche_probe:
            a, b = (int(n) for n in args.pastiche_probe.split(","))
            (wall_a, _), (wall_b, rss) = pastiche(a), pastiche(b)
            per_step = (wall_b - wall_a) / (b - a)
            wall = wall_a + per_step * (args.pastiche_steps - a)
            print(f"pastiche: {a} steps {wall_a:.1f} s, {b} steps {wall_b:.1f} s: {per_step:.3f} s per step, "
                  f"{wall:.0f} s extrapolated to {args.pastiche_steps} steps (distances below: the {b}-step "
                  "output)")
            rows.append(("pastiche", wall, rss, out, per_step))
        else:
            wall, rss = pastiche(args.pastiche_steps)
            rows.append(("pastiche", wall, rss, out, wall / args.pastiche_steps))
    out, hist = out_dir / "stylekit.png", out_dir / "stylekit_history.json"
    wall, rss = run_measured([sys.executable, "-m", "stylekit", "transfer", args.content, args.style, "-o", str(out),
                              "--size", str(args.size), "--seed", "0", "--history", str(hist), "-q",
                              *args.stylekit_args.split()])
    history = json.loads(hist.read_text())
    last = [h["elapsed"] for h in history if h["scale"] == history[-1]["scale"]]
    full_step = min(b - a for a, b in zip(last, last[1:])) if len(last) > 1 else float("nan")
    rows.append(("stylekit", wall, rss, out, full_step))

    h, w = fit_long_side(*load_image(args.content).rgb.shape[-2:], args.size)
    bare = bare_pass_seconds((h, w))
    print(f"{args.size} px ({w}x{h}); bare VGG19 forward+backward to relu5_1: {bare:.2f} s; outputs in {out_dir}")
    print(f"{'tool':<9} {'wall s':>8} {'peak RSS GiB':>13} {'content':>8} {'style':>7} {'s/full step':>12} "
          f"{'step/bare':>10}")
    for name, wall, rss, path, step in rows:
        content_d, style_d = referee(path, args.content, args.style, args.size)
        print(f"{name:<9} {wall:>8.1f} {rss / 2**30:>13.2f} {content_d:>8.3f} {style_d:>7.3f} {step:>12.2f} "
              f"{step / bare:>10.2f}")
    if len(rows) == 2:
        print(f"wall-time ratio pastiche/stylekit: {rows[0][1] / rows[1][1]:.1f}x")


if __name__ == "__main__":
    main()
