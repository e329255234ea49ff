"""Video benchmark: end-to-end frames per second of `stylekit video --method fast` and the flicker metric
(mean masked |S_t - warp(S_t-1)|, 0-1 units) with independent frames vs temporal blending, on two clips made
from ../shared/images (a slow pan and zoom; a disc moving over a still photo). The baseline in the same run
is a plain decode + encode of the same clip. ``--breakdown`` also times each stage of one frame on its own
(decode, flow, network in fp32 and bf16, PNG save, encode): the levers for the frame rate.

    python benchmarks/video.py --frames 48 --model magenta --breakdown
"""
from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from common import IMAGES
from stylekit.options import FastOptions, VideoOptions
from stylekit.options.choices import VIDEO_MODEL
from stylekit.videos import (FlowEstimator, VideoWriter, consistency_mask, flicker, probe, read_frames, run_video,
                             warp)
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


@contextlib.contextmanager
def network_before() -> Iterator[None]:
    """The transformer as it ran before issue 30: 9x9 convolutions direct, the upsampled image made and padded
    before its convolution, instance norm then the style's map."""
    import torch.nn.functional as F

    from stylekit.feedforward import magenta

    def separate(x, scale, shift):
        return F.instance_norm(x, eps=magenta.NORM_EPS) * scale + shift

    def upsample_then_convolve(x, conv):
        return magenta.mirror_conv(F.interpolate(x, scale_factor=2, mode="nearest"), conv)

    saved = magenta.POLYPHASE_KERNEL, magenta.conditional_instance_norm, magenta.upsampled_conv
    magenta.POLYPHASE_KERNEL, magenta.conditional_instance_norm = 10**9, separate
    magenta.upsampled_conv = upsample_then_convolve
    try:
        yield
    finally:
        magenta.POLYPHASE_KERNEL, magenta.conditional_instance_norm, magenta.upsampled_conv = saved


def breakdown(clip: Path, style: Path, model: str, folder: Path) -> None:
    """Median milliseconds per frame of each stage, run one after another on the clip's frames."""
    import statistics

    import numpy as np
    from PIL import Image

    from stylekit.feedforward import FastStylizer
    from stylekit.io import write_atomic
    from stylekit.videos.stylize import _to_tensor, _to_uint8

    frames = list(read_frames(clip))
    stylizer = FastStylizer([style], FastOptions(model=model))
    bf16 = FastStylizer([style], FastOptions(model=model, precision="bf16"))
    flows, half = FlowEstimator(), FlowEstimator(scale=0.5)
    info = probe(clip)
    stages: dict[str, list[float]] = {}

    def timed(name: str, run):
        start = time.perf_counter()
        result = run()
        stages.setdefault(name, []).append(1000 * (time.perf_counter() - start))
        return result

    start = time.perf_counter()
    list(read_frames(clip))
    stages["decode"] = [1000 * (time.perf_counter() - start) / len(frames)]
    with VideoWriter(folder / "stages.mp4", info.fps, info.width, info.height) as writer:
        for i, frame in enumerate(frames):
            with network_before():
                timed("network fp32, before", lambda: stylizer(_to_tensor(frame)))
            out = timed("network fp32", lambda: stylizer(_to_tensor(frame)))
            timed("network bf16", lambda: bf16(_to_tensor(frame)))
            styled = _to_uint8(out)
            if i:
                back = timed("flow: backward", lambda: flows(frame, frames[i - 1]))
                fwd = timed("flow: forward", lambda: flows(frames[i - 1], frame))
                timed("flows + mask at half size", lambda: half.linked(frame, frames[i - 1]))
                timed("flow: mask + warp", lambda: (consistency_mask(back, fwd),
                                                    warp(styled.astype(np.float32) / 255, back)))
            timed("PNG save (before: every frame)", lambda: write_atomic(folder / "f.png", lambda tmp: Image.fromarray(
                styled).save(tmp, format="PNG", compress_level=1)))
            timed("encode", lambda: writer.write(styled))
    print(f"\nper-frame stages at {info.width}x{info.height}, model {model} (median ms; run one at a time)")
    for name, values in stages.items():
        print(f"{name:>26}  {statistics.median(values):7.1f}")


def levers(clip: Path, style: Path, model: str, frames: int) -> None:
    """End-to-end fps on the pan clip, one lever added at a time, with the flicker of each."""
    rows = [("network before", dict(), True), ("network now", dict(), False),
            ("+ flow and mask at half size", dict(flow_scale=0.5), False),
            ("network now, bf16", dict(precision="bf16"), False),
            ("+ flow and mask at half size", dict(flow_scale=0.5, precision="bf16"), False),
            ("bf16, --stroke-scale 1.5", dict(precision="bf16", stroke_scale=1.5), False),
            ("bf16, --stroke-scale 2", dict(precision="bf16", stroke_scale=2.0), False),
            ("+ --stroke-scale 2.5, flow half", dict(precision="bf16", stroke_scale=2.5, flow_scale=0.5), False)]
    print(f"\nlevers on {clip.name} ({frames} frames), temporal weight default")
    print(f"{'lever':>28}  {'fps':>6}  {'vs first':>8}  {'flicker':>8}")
    base = None
    for name, settings, before in rows:
        precision = settings.pop("precision", "fp32")
        stroke = settings.pop("stroke_scale", 1.0)
        out = clip.with_name(f"lever_{len(name)}_{precision}_{stroke}.mp4")
        with network_before() if before else contextlib.nullcontext():
            start = time.perf_counter()
            run_video(clip, style, out, VideoOptions(fast=FastOptions(model=model, precision=precision,
                                                                      stroke_scale=stroke), **settings))
            fps = frames / (time.perf_counter() - start)
        base = base or fps
        print(f"{name:>28}  {fps:6.2f}  {fps / base:8.2f}  {flicker_of(clip, out):8.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--model", default=VIDEO_MODEL, help="default: the video default")
    parser.add_argument("--temporal-weight", type=float, default=None, help="default: the method's default")
    parser.add_argument("--precision", default="fp32", help="the network's arithmetic: fp32, bf16, auto")
    parser.add_argument("--breakdown", action="store_true", help="also time each stage of a frame on its own")
    parser.add_argument("--levers", action="store_true", help="also the pan clip with one lever added at a time")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    style = IMAGES / "starry_night.jpg"
    tw = VideoOptions(temporal_weight=args.temporal_weight).temporal
    print(f"{args.frames} frames at {width}x{height}, model {args.model} ({args.precision}), style {style.name}")
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
                run_video(clip, style, out, VideoOptions(temporal_weight=weight, fast=FastOptions(model=args.model,
                                                                                  precision=args.precision)))
                fps = args.frames / (time.perf_counter() - start)
                score = flicker_of(clip, out)
                base = score if base is None else base
                print(f"{kind:>7}  {weight:8.2f}  {fps:6.2f}  {copy_fps:8.1f}  {score:8.4f}  {score / base:14.2f}")
        if args.breakdown:
            breakdown(folder / "pan.mp4", style, args.model, folder)
        if args.levers:
            levers(folder / "pan.mp4", style, args.model, args.frames)


if __name__ == "__main__":
    main()
