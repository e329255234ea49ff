"""CLI start-up time: `stylekit --help` and `stylekit transfer --help` against a bare `python -c pass`.

    python benchmarks/cli_startup.py --repeats 9

Each command runs as its own process (`python -m stylekit ...`), one warm-up then the median of ``repeats``;
the baseline, the interpreter starting and exiting, is measured the same way in this run. Also reports whether
building the CLI's parser imports torch (it should not: the methods import it when they run).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {"python -c pass": ["-c", "pass"], "stylekit --help": ["-m", "stylekit", "--help"],
            "stylekit transfer --help": ["-m", "stylekit", "transfer", "--help"]}
TORCH_CHECK = "import sys, stylekit.cli; stylekit.cli.build_parser(); print('torch' in sys.modules)"


def seconds(args: list[str], repeats: int) -> float:
    """Median wall seconds of ``python ARGS`` (after one warm-up run)."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
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


if __name__ == "__main__":
    main()
