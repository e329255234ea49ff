"""Video benchmark: end-to-end frames per second of `stylekit video --method fast` and the flicker metric
(mean masked |S_t - warp(S_t-1)|, 0-1 units) with independent frames vs temporal blending, on two clips made
from ../shared/images (a slow pan and zoom; a disc moving over a still photo). The baseline in the same run
is a plain decode + encode of the same clip.

    STYLEKIT_WEIGHTS_DIR=../shared/weights python benchmarks/video.py --frames 48
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import IMAGES
from stylekit.options import FastOptions, VideoOptions
from stylekit.videos import FlowEstimator, VideoWriter, consistency_mask, flicker, probe, read_frames, run_video
from stylekit.videos.clips import make_clip


def copy_seconds(clip: Path, out: Path) -> float:
    """Decode and re-encode without stylising: the I/O floor of the pipeline."""
    info = probe(clip)
    start = time.perf_counter()
    with VideoWriter(out, info.fps, info.width, info.height, clip) as writer:
        for frame in read_frames(clip):
            writer.write(frame)
    return time.perf_counter() - start


def flicker_of(clip: Path, stylised: Path) -> float:
    source = list(read_frames(clip))
    frames = list(read_frames(stylised))
    flows = FlowEstimator()
    backs = [flows(source[i + 1], source[i]) for i in range(len(source) - 1)]
    masks = [consistency_mask(b, flows(source[i], source[i + 1])) for i, b in enumerate(backs)]
    return flicker(frames, backs, masks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--model", default="microast")
    parser.add_argument("--temporal-weight", type=float, default=None, help="default: the method's default")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    style = IMAGES / "starry_night.jpg"
    tw = VideoOptions(temporal_weight=args.temporal_weight).temporal
    print(f"{args.frames} frames at {width}x{height}, model {args.model}, style {style.name}")
    print(f"{'clip':>7}  {'temporal':>8}  {'fps':>6}  {'copy fps':>8}  {'flicker':>8}  {'vs independent':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind, image in (("pan", "golden_gate.jpg"), ("object", "tubingen.jpg")):
            clip = folder / f"{kind}.mp4"
            make_clip(IMAGES / image, clip, kind, frames=args.frames, size=(width, height))
            copy_fps = args.frames / copy_seconds(clip, folder / "copy.mp4")
            base = None
            for weight in (0.0, tw):
                out = folder / f"{kind}_{weight}.mp4"
                start = time.perf_counter()
                run_video(clip, style, out, VideoOptions(temporal_weight=weight, fast=FastOptions(model=args.model)))
                fps = args.frames / (time.perf_counter() - start)
                score = flicker_of(clip, out)
                base = score if base is None else base
                print(f"{kind:>7}  {weight:8.2f}  {fps:6.2f}  {copy_fps:8.1f}  {score:8.4f}  {score / base:14.2f}")


if __name__ == "__main__":
    main()
