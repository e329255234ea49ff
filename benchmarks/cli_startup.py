"""CLI start-up time: `stylekit --help` and `stylekit transfer --help` against a bare `python -c pass`, and with
``--fast`` a whole `stylekit fast` process at 512 px (Magenta, the built-in example photo and painting) broken down
into its stages in one process: importing torch, stylekit, loading the model and encoding the style, the run.

    python benchmarks/cli_startup.py --repeats 9 --fast

Each command runs as its own process (`python -m stylekit ...`), one warm-up then the median of ``repeats``;
the baseline, the interpreter starting and exiting, is measured the same way in this run. Also reports whether
building the CLI's parser imports torch (it should not: the methods import it when they run).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {"python -c pass": ["-c", "pass"], "stylekit --help": ["-m", "stylekit", "--help"],
            "stylekit transfer --help": ["-m", "stylekit", "transfer", "--help"]}
TORCH_CHECK = "import sys, stylekit.cli; stylekit.cli.build_parser(); print('torch' in sys.modules)"
PAINTING = Path(__file__).resolve().parents[1] / "stylekit" / "web" / "gallery" / "starry_night.jpg"
STAGES = f"""
import time
PAINTING = {str(PAINTING)!r}
t = [time.perf_counter()]
import torch
t.append(time.perf_counter())
from stylekit.cli import main
from stylekit.feedforward import FastStylizer
from stylekit.io.examples import example_content
from stylekit.options import FastOptions
t.append(time.perf_counter())
stylizer = FastStylizer([PAINTING], FastOptions(model="magenta", content_size=512))
t.append(time.perf_counter())
image = stylizer.stylize_image(example_content())
t.append(time.perf_counter())
import onnx
t.append(time.perf_counter())
print(" ".join(f"{{b - a:.3f}}" for a, b in zip(t, t[1:])))
"""


def seconds(args: list[str], repeats: int) -> float:
    """Median wall seconds of ``python ARGS`` (after one warm-up run)."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--fast", action="store_true", help="also a whole `stylekit fast` at 512 px, by stage")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, median of {args.repeats}")
    print(f"{'command':<26} {'seconds':>8} {'vs baseline':>12}")
    base = None
    for name, cmd in COMMANDS.items():
        s = seconds(cmd, args.repeats)
        base = base or s
        print(f"{name:<26} {s:>8.3f} {s / base:>11.1f}x")
    torch = subprocess.run([sys.executable, "-c", TORCH_CHECK], capture_output=True, text=True, check=True)
    print(f"torch imported by build_parser(): {torch.stdout.strip()}")
    if args.fast:
        from stylekit.io.examples import example_content

        with tempfile.TemporaryDirectory() as tmp:
            whole = ["-m", "stylekit", "fast", str(example_content()), str(PAINTING), "--model", "magenta",
                     "--content-size", "512", "-o", f"{tmp}/out.png"]
            s = seconds(whole, args.repeats)
            print(f"{'stylekit fast, 512 px':<26} {s:>8.3f} {s / base:>11.1f}x")
        runs = [subprocess.run([sys.executable, "-c", STAGES], capture_output=True, text=True, check=True)
                for _ in range(args.repeats)]
        stages = [[float(v) for v in run.stdout.split()] for run in runs]
        names = ("import torch", "import stylekit", "model + style", "run (512 px)",
                 "(import onnx: no longer on the path)")
        for i, name in enumerate(names):
            print(f"  {name:<38} {statistics.median(row[i] for row in stages):.3f}")


if __name__ == "__main__":
    main()
