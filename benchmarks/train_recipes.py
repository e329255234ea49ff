"""One training recipe on one pair, to compare recipes (issue 28): trains Starry Night with the given
TrainOptions fields (seed 0), prints the loss terms of the first and last steps, and scores the model's output on
Tübingen (../shared/images, never trained on) at 512 px with the referee of benchmarks/common.py at 256 px.

    python benchmarks/train_recipes.py tune=norms lr=0.03 steps=100 size=384 batch_size=1
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import IMAGES, referee

import stylekit
from stylekit.options import TrainOptions
from stylekit.training import run_training

STYLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "images" / "starry_night.jpg"
PHOTO = IMAGES / "tubingen.jpg"


def typed(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    fields = {key: typed(value) for key, value in (arg.split("=", 1) for arg in sys.argv[1:])}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_training([STYLE], TrainOptions(seed=0, **fields), str(Path(tmp) / "model.pt"))
        seconds = time.perf_counter() - start
        for name, steps in (("first", result.history[:5]), ("last", result.history[-5:])):
            terms = {k: round(sum(h[k] for h in steps) / len(steps), 4) for k in steps[0]}
            print(f"{name} 5 steps: {terms}")
        out = Path(tmp) / "out.png"
        stylekit.fast(PHOTO, [], model=str(result.path), content_size=512).save(out)
        content, style = referee(out, PHOTO, STYLE, 256)
        print(f"{fields}: trained in {seconds:.0f} s; style {style:.3f}, content {content:.3f}")


if __name__ == "__main__":
    main()
