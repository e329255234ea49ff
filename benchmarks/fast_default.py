"""The default fast model by the referee (benchmarks/common.py) on pairs it was not chosen on: the built-in
example photos (stylekit/io/photos: public-domain and CC0 pictures from scikit-image and the U.S. Navy, none of
them in ../shared/images) with each painting of ../shared/images, MicroAST against Magenta at 512 px, each
output scored with the referee at 512 and at 256 px.

    python benchmarks/fast_default.py
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from common import IMAGES, referee
from stylekit import fast

PHOTOS = Path(__file__).resolve().parents[1] / "stylekit" / "io" / "photos"
PAINTINGS = ("starry_night.jpg", "the_scream.jpg", "shipwreck.jpg")
MODELS = ("microast", "magenta")


def main() -> None:
    photos = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in MODELS}
    print(f"{'pair':>36}  {'model':>9}  {'content@512':>11}  {'style@512':>9}  {'style@256':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            for painting in PAINTINGS:
                for model in MODELS:
                    out = Path(tmp) / "out.png"
                    fast(photo, IMAGES / painting, model=model, content_size=512).save(out)
                    c, s = referee(out, photo, IMAGES / painting, 512)
                    s256 = referee(out, photo, IMAGES / painting, 256)[1]
                    scores[model].append((c, s, s256))
                    print(f"{photo.name + ' x ' + painting:>36}  {model:>9}  {c:11.3f}  {s:9.3f}  {s256:9.3f}")
    print(f"\n{len(scores[MODELS[0]])} pairs, medians (and how often each model is closer)")
    for model in MODELS:
        rows = scores[model]
        other = scores[MODELS[1 - MODELS.index(model)]]
        wins = [sum(a[k] < b[k] for a, b in zip(rows, other)) for k in range(3)]
        print(f"{model:>9}  content {statistics.median(r[0] for r in rows):.3f} ({wins[0]})  "
              f"style@512 {statistics.median(r[1] for r in rows):.3f} ({wins[1]})  "
              f"style@256 {statistics.median(r[2] for r in rows):.3f} ({wins[2]})")


if __name__ == "__main__":
    main()
