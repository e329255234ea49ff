"""Memory pre-flight of every method against measured peak RSS, and the fast models on a 6000x4000 photo.

    python benchmarks/large_images.py methods     # estimate vs peak RSS of invert, dream, features, texture
    python benchmarks/large_images.py fast

``methods`` runs each command in a child process (``stylekit ...``, the peak RSS is the child's) and prints the
pre-flight estimate for the same run. ``fast`` makes a 6000x4000 photo (golden_gate.jpg upscaled), stylises
it with ``stylekit fast`` (tiled automatically) and reports peak RSS and seconds; then, in one process per
model, the tiled and the untiled result at a size that fits both ways, their difference in 8-bit levels and
the mean step across the tile borders of each (a seam would make the tiled one larger).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import IMAGES, STYLE_LAYERS

STYLEKIT = [sys.executable, "-m", "stylekit"]
METHODS = [  # (name, command arguments, estimate_peak_bytes arguments: layers, (h, w), optimizer, steps, refs)
    ("invert 1024", ["invert", "tubingen.jpg", "--size", "1024", "--steps", "3"],
     (["relu4_2"], (768, 1024), "lbfgs", 3, [])),
    ("invert relu1_1 1024", ["invert", "tubingen.jpg", "--layer", "relu1_1", "--size", "1024", "--steps", "60"],
     (["relu1_1"], (768, 1024), "lbfgs", 60, [])),
    ("dream 2048", ["dream", "tubingen.jpg", "--size", "2048", "--octaves", "1", "--steps", "2"],
     (["relu4_2"], (1536, 2048), "normalized", 2, [])),
    ("features 2048", ["features", "tubingen.jpg", "--size", "2048"],
     (list(STYLE_LAYERS), (1536, 2048), None, 0, [])),
    ("texture 1024", ["texture", "starry_night.jpg", "--size", "1024", "--single-scale", "--steps", "3",
                      "--no-early-stopping"], (list(STYLE_LAYERS), (1024, 1024), "lbfgs", 3, [(320, 512)])),
]


def peak_of(command: list[str]) -> tuple[float, float]:
    """(peak RSS bytes, seconds) of a child process."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, time.perf_counter() - start


def methods(out_dir: Path) -> None:
    from stylekit.backbones import get_backbone
    from stylekit.planning import estimate_peak_bytes

    net = get_backbone("vgg19")
    print(f"{'run':>22} {'estimate GiB':>13} {'peak RSS GiB':>13} {'est/peak':>9}")
    for name, args, (layers, hw, optimizer, steps, refs) in METHODS:
        command = [*STYLEKIT, args[0], str(IMAGES / args[1]), *args[2:], "-q", "-o", str(out_dir / "out.png")]
        estimate = estimate_peak_bytes(net, layers, hw, optimizer, steps, references=refs)
        peak = subprocess.run([sys.executable, __file__, "--child-peak", json.dumps(command)], check=True,
                              capture_output=True, text=True).stdout.strip()
        peak_bytes = float(json.loads(peak)["peak"])
        print(f"{name:>22} {estimate / 2**30:>13.2f} {peak_bytes / 2**30:>13.2f} {estimate / peak_bytes:>9.2f}")


def compare(model: str, photo: str, size: int | None) -> dict:
    """Tiled (automatic) and untiled stylisation of ``photo`` in this process: seconds and differences."""
    import numpy as np

    from stylekit.feedforward import FastStylizer
    from stylekit.feedforward.tiles import TILE
    from stylekit.options import FastOptions

    opts = FastOptions(model=model, content_size=size)
    results, seconds, plans = {}, {}, {}
    for name, tile in (("tiled", None), ("whole", 0)):
        stylizer = FastStylizer([IMAGES / "starry_night.jpg"], opts, tile=tile)
        start = time.perf_counter()
        results[name] = np.asarray(stylizer.stylize_image(photo)).astype(np.float64)
        seconds[name] = time.perf_counter() - start
        plans[name] = stylizer.plan(results[name].shape[:2])
    tiled, whole = results["tiled"], results["whole"]
    borders = list(range(TILE - 1, tiled.shape[1] - 1, TILE))
    h, w = tiled.shape[:2]
    return {"model": model, "size": f"{w}x{h}", "tile": plans["tiled"], "whole tile": plans["whole"],
            "tiled s": round(seconds["tiled"], 1), "whole s": round(seconds["whole"], 1),
            "mean |tiled-whole|": float(np.abs(tiled - whole).mean()),
            "max |tiled-whole|": float(np.abs(tiled - whole).max()),
            "step across borders, tiled": float(np.abs(np.diff(tiled, axis=1))[:, borders].mean()),
            "step across borders, whole": float(np.abs(np.diff(whole, axis=1))[:, borders].mean())}


def fast(out_dir: Path) -> None:
    from PIL import Image

    photo = out_dir / "photo_6000x4000.jpg"
    Image.open(IMAGES / "golden_gate.jpg").convert("RGB").resize((6000, 4000), Image.BICUBIC).save(photo, quality=92)
    for model in ("microast", "wct"):
        command = [*STYLEKIT, "fast", str(photo), str(IMAGES / "starry_night.jpg"), "--model", model, "-q",
                   "-o", str(out_dir / f"{model}.png")]
        row = json.loads(subprocess.run([sys.executable, __file__, "--child-peak", json.dumps(command)], check=True,
                                        capture_output=True, text=True).stdout.strip())
        print(f"stylekit fast --model {model} on 6000x4000 (tiled): peak RSS {row['peak'] / 2**30:.2f} GiB, "
              f"{row['seconds']:.1f} s end to end")
    for model, size in (("microast", None), ("wct", 3000)):
        print(subprocess.run([sys.executable, __file__, "--child-compare", model, str(photo), str(size or 0)],
                             check=True, capture_output=True, text=True).stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", choices=["methods", "fast"])
    parser.add_argument("--out-dir", default=None, help="where outputs go (default: a temporary folder)")
    parser.add_argument("--child-peak", help=argparse.SUPPRESS)
    parser.add_argument("--child-compare", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_peak:  # one fresh process per measured command, so RUSAGE_CHILDREN is that command's alone
        peak, seconds = peak_of(json.loads(args.child_peak))
        print(json.dumps({"peak": peak, "seconds": seconds}))
        return
    if args.child_compare:
        model, photo, size = args.child_compare
        print(json.dumps(compare(model, photo, int(size) or None)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.out_dir or tmp)
        {"methods": methods, "fast": fast}[args.part](out_dir)


if __name__ == "__main__":
    main()
