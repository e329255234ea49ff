"""Training benchmark (issue 28): the default `stylekit train` recipe on three styles, timed, then the trained
models against Magenta's arbitrary network and the default Gatys transfer on photos that training never saw
(../shared/images: Tübingen and the Golden Gate; training reads the built-in example photos), scored by the
documented referee (benchmarks/common.referee at 256 px: Gram distances over relu1_1..relu5_1 each divided by the
style Gram's norm, content on relu4_2; lower is closer), with inference times at 512 and 1024 px and a contact
sheet. ``--flicker`` also trains the first style with and without the temporal loss and measures the flicker of
each on a panning clip, against the video command's per-frame flow blending.

    python benchmarks/train.py --sheet docs/images/train_sheet.jpg --flicker
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import IMAGES, referee
from PIL import Image

import stylekit
from stylekit.feedforward import FastStylizer
from stylekit.io import load_image, resize_to
from stylekit.io.sheets import captioned_grid
from stylekit.options import FastOptions, TrainOptions, VideoOptions
from stylekit.training import run_training

REPO = Path(__file__).resolve().parents[1]
STYLES = [REPO / "tests" / "data" / "images" / f"{name}.jpg" for name in ("starry_night", "the_scream", "shipwreck")]
PHOTOS = [IMAGES / "tubingen.jpg", IMAGES / "golden_gate.jpg"]


def seconds_per_image(options: FastOptions, styles: list[Path], photo: Path, side: int, repeats: int = 3) -> float:
    """Median seconds of one stylisation at ``side`` px (model loaded and styles encoded beforehand)."""
    stylizer = FastStylizer(styles, options)
    x = resize_to(load_image(photo).rgb, side)
    stylizer(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        stylizer(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def quality(models: dict[Path, Path], folder: Path, sheet: Path | None) -> None:
    rows: dict[str, list[tuple[float, float]]] = {"trained": [], "magenta": [], "gatys": []}
    times: dict[str, list[float]] = {}
    pictures = []
    for photo in PHOTOS:
        for style, model in models.items():
            made = {}
            for name, run in (("magenta", lambda: stylekit.fast(photo, [style], model="magenta", content_size=512)),
                              ("trained", lambda: stylekit.fast(photo, [], model=str(model), content_size=512)),
                              ("gatys", lambda: stylekit.transfer(photo, style, size=512, seed=0))):
                start = time.perf_counter()
                image = run()
                times.setdefault(f"{name} 512 (whole call)", []).append(time.perf_counter() - start)
                made[name] = folder / f"{photo.stem}_{style.stem}_{name}.png"
                image.save(made[name])
                rows[name].append(referee(made[name], photo, style, 256))
            for side in (512, 1024):
                times.setdefault(f"trained {side}", []).append(
                    seconds_per_image(FastOptions(model=str(model)), [], photo, side))
                times.setdefault(f"magenta {side}", []).append(
                    seconds_per_image(FastOptions(model="magenta"), [style], photo, side))
            small = [("photo", Image.open(photo).convert("RGB")), ("style", Image.open(style).convert("RGB")),
                     *((name, Image.open(made[name])) for name in ("magenta", "trained", "gatys"))]
            for caption, image in small:
                image.thumbnail((256, 256))
                pictures.append((f"{caption}: {photo.stem} / {style.stem}" if caption == "photo" else caption, image))
    print(f"\n{'method':>8}  {'style':>6}  {'content':>7}  {'style / gatys':>13}")
    gatys_style = statistics.mean(s for _, s in rows["gatys"])
    for name, scores in rows.items():
        style = statistics.mean(s for _, s in scores)
        content = statistics.mean(c for c, _ in scores)
        print(f"{name:>8}  {style:6.3f}  {content:7.3f}  {style / gatys_style:13.2f}")
    print("\nseconds per image (median over the pairs):")
    for name, values in times.items():
        print(f"  {name:>26}: {statistics.median(values):.3f}")
    if sheet is not None:
        captioned_grid(pictures, 5).save(sheet)
        print(f"contact sheet: {sheet}")


def flicker(style: Path, folder: Path, steps: int, weight: float, frames: int) -> None:
    from video import flicker_of

    from stylekit.videos import run_video
    from stylekit.videos.clips import make_clip

    clip = folder / "pan.mp4"
    make_clip(IMAGES / "golden_gate.jpg", clip, "pan", frames=frames, size=(640, 360))
    models = {}
    for w in (0.0, weight):
        start = time.perf_counter()
        models[w] = run_training([style], TrainOptions(seed=0, steps=steps, temporal_weight=w),
                                 str(folder / f"flicker_{w}.pt")).path
        print(f"trained {steps} steps with --temporal-weight {w}: {time.perf_counter() - start:.0f} s")
    print(f"\n{'model':>28}  {'video blending':>14}  {'flicker':>8}")
    cases = [("trained, no temporal loss", models[0.0], 0.0), ("trained, temporal loss", models[weight], 0.0),
             ("trained, no temporal loss", models[0.0], None), ("trained, temporal loss", models[weight], None)]
    for name, model, blend in cases:
        out = folder / f"{name.replace(' ', '_').replace(',', '')}_{blend}.mp4"
        run_video(clip, [], out, VideoOptions(temporal_weight=blend, fast=FastOptions(model=str(model))))
        shown = "off" if blend == 0 else f"{VideoOptions().temporal:.2f} (default)"
        print(f"{name:>28}  {shown:>14}  {flicker_of(clip, out):8.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    parser.add_argument("--sheet", type=Path, default=None, help="write the contact sheet here")
    parser.add_argument("--flicker", action="store_true", help="also measure flicker with the temporal loss")
    parser.add_argument("--flicker-only", action="store_true", help="only the flicker measurement")
    parser.add_argument("--flicker-steps", type=int, default=150)
    parser.add_argument("--temporal-weight", type=float, default=100.0)
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()
    extra = {} if args.steps is None else {"steps": args.steps}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = {}
        for style in [] if args.flicker_only else STYLES:
            start = time.perf_counter()
            models[style] = run_training([style], TrainOptions(seed=0, **extra), str(folder / f"{style.stem}.pt")).path
            print(f"trained {style.stem} with the default recipe ({TrainOptions(**extra).steps} steps): "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
        if models:
            quality(models, folder, args.sheet)
        if args.flicker or args.flicker_only:
            flicker(STYLES[0], folder, args.flicker_steps, args.temporal_weight, args.frames)


if __name__ == "__main__":
    main()
