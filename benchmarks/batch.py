"""Batch on Ray: images per second of `stylekit batch` with 1 and 2 workers against the plain `stylekit fast FOLDER`
loop on the same images with the same model, in one run; each worker's measured peak memory against the
estimate it reserved; and for a video cut into chunks, the flicker metric of benchmarks/video.py on the pairs of
frames across chunk boundaries against the pairs inside chunks (with the default overlap, and with none).

"total" counts everything after the command's own start-up (Ray's start, the workers' model loads); "steady"
is the rate between the first and the last result; "first" is the seconds until the first result.
``--memory`` instead measures the workers' peak memory against their estimates over image sizes, for the
fast models and the transfer (the fit behind the registry's ``worker_bytes``).

    python benchmarks/batch.py --images 48 --size 512 --model microast
    python benchmarks/batch.py --memory
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import IMAGES
from PIL import Image

import stylekit
from stylekit.cluster.workers import worker_peak
from stylekit.feedforward import FastStylizer, stylize_files
from stylekit.io import batch_outputs, content_files
from stylekit.optim import Callback
from stylekit.options import FastOptions, TransferOptions, VideoOptions
from stylekit.videos import FlowEstimator, consistency_mask, flicker_pairs, read_frames, run_video
from stylekit.videos.clips import make_clip


def make_photos(folder: Path, count: int, size: int) -> None:
    """``count`` distinct photos of ``size`` px long side: crops of the shared images."""
    sources = [Image.open(p).convert("RGB") for p in sorted(IMAGES.glob("*.jpg"))]
    for i in range(count):
        image = sources[i % len(sources)]
        w, h = image.size
        f = 0.6 + 0.4 * ((i * 7) % 10) / 10
        box = (int((w - w * f) * (i % 3) / 2), int((h - h * f) * (i % 2)), 0, 0)
        crop = image.crop((box[0], box[1], box[0] + int(w * f), box[1] + int(h * f)))
        scale = size / max(crop.size)
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS)
        crop.save(folder / f"photo{i:03d}.jpg", quality=92)


class Times(Callback):
    """When each result arrived."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_item(self, progress) -> None:
        self.times.append(time.perf_counter())


class PeakMemory:
    """The largest peak RSS (VmHWM) of the Ray workers running a stylekit worker class, sampled while it runs."""

    def __init__(self) -> None:
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"MapWorker" not in title:
                        continue
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                hwm = next((int(line.split()[1]) * 1024 for line in status.splitlines()
                            if line.startswith("VmHWM:")), 0)
                self.peak = max(self.peak, hwm)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def rates(start: float, times: list[float]) -> tuple[float, float, float]:
    """(images per second overall, images per second between the first and the last result, seconds to the
    first result)."""
    total = len(times) / (times[-1] - start)
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    return total, steady, times[0] - start


def images(args: argparse.Namespace, folder: Path, style: Path, work: Path) -> None:
    options = FastOptions(model=args.model)
    start = time.perf_counter()
    stylizer = FastStylizer([style], options)
    plan = batch_outputs(content_files(folder), work / "plain")
    (work / "plain").mkdir()
    times = Times()
    stylize_files(stylizer, plan, [times])
    base_total, base_steady, base_first = rates(start, times.times)
    largest = max((Image.open(p).size[::-1] for p in plan), key=lambda hw: hw[0] * hw[1])
    estimate = worker_peak("fast", options, largest)
    print(f"{args.images} photos of {args.size} px, model {args.model}; the plain loop: "
          f"{base_total:.2f} images/s total, {base_steady:.2f} steady")
    print(f"{'run':>24}  {'total img/s':>11}  {'vs plain':>8}  {'steady img/s':>12}  {'vs plain':>8}  "
          f"{'first':>6}  {'worker peak':>11}  {'estimate':>8}")
    print(f"{'stylekit fast FOLDER':>24}  {base_total:11.2f}  {1:8.2f}  {base_steady:12.2f}  {1:8.2f}  "
          f"{base_first:5.1f}s")
    for workers in (1, 2):
        times = Times()
        with PeakMemory() as memory:
            start = time.perf_counter()
            report = stylekit.batch(folder, style, work / f"ray{workers}", model=args.model, workers=workers,
                                    callbacks=[times])
        assert report.ok, report.failed
        total, steady, first = rates(start, times.times)
        print(f"{f'stylekit batch, {workers} worker' + 's' * (workers > 1):>24}  {total:11.2f}  "
              f"{total / base_total:8.2f}  {steady:12.2f}  {steady / base_steady:8.2f}  {first:5.1f}s  "
              f"{memory.peak / 2**20:8.0f} MB  {estimate / 2**20:5.0f} MB")


def video(args: argparse.Namespace, style: Path, work: Path) -> None:
    clip = work / "clip.mp4"
    make_clip(IMAGES / "golden_gate.jpg", clip, "pan", frames=args.frames, size=(320, 180), fps=24)
    source = list(read_frames(clip))
    flows = FlowEstimator()
    backs = [flows(source[i + 1], source[i]) for i in range(len(source) - 1)]
    masks = [consistency_mask(b, flows(source[i], source[i + 1])) for i, b in enumerate(backs)]
    starts = set(range(args.chunk, args.frames, args.chunk))

    def split(path: Path) -> tuple[float, float]:
        """Mean flicker of the pairs (i-1, i) with i a chunk's first frame, and of the other pairs."""
        pairs = flicker_pairs(list(read_frames(path)), backs, masks)
        across = [t / w for i, (t, w) in enumerate(pairs, 1) if i in starts]
        inside = [t / w for i, (t, w) in enumerate(pairs, 1) if i not in starts]
        return statistics.mean(across), statistics.mean(inside)

    sequential = work / "sequential.mp4"
    run_video(clip, style, sequential, VideoOptions(fast=FastOptions(model=args.model)))
    print(f"\n{args.frames} frames at 320x180, model {args.model}, chunks of {args.chunk} frames on 2 workers "
          "(flicker: mean masked |S_t - warp(S_t-1)|, 0-1 units)")
    print(f"{'run':>28}  {'across chunks':>13}  {'inside chunks':>13}  {'across / inside':>15}")
    across, inside = split(sequential)
    print(f"{'stylekit video (one run)':>28}  {across:13.4f}  {inside:13.4f}  {across / inside:15.2f}")
    for overlap in (8, 0):
        out = work / f"overlap{overlap}"
        report = stylekit.batch(clip, style, out, model=args.model, chunk_frames=args.chunk, overlap=overlap,
                                workers=2)
        assert report.ok, report.failed
        across, inside = split(out / "clip.mp4")
        label = f"stylekit batch, overlap {overlap}"
        print(f"{label:>28}  {across:13.4f}  {inside:13.4f}  {across / inside:15.2f}")


def memory(style: Path, work: Path) -> None:
    """Each worker's measured peak against its estimate: the fast models at three sizes, a short transfer at two."""
    runs = [(model, size, {"model": model}) for model in ("microast", "magenta") for size in (256, 2048, 3072)]
    runs += [("transfer", size, {"method": "transfer", "size": size, "steps": (5,)}) for size in (256, 512)]
    style_hw = Image.open(style).size[::-1]
    print(f"{'worker':>10}  {'size':>5}  {'measured':>9}  {'estimate':>9}  {'ratio':>5}")
    for i, (name, size, options) in enumerate(runs):
        folder = work / f"memory{i}"
        folder.mkdir()
        make_photos(folder, 2, size if name != "transfer" else 800)
        with PeakMemory() as peak:
            report = stylekit.batch(folder, style, work / f"memory{i}-out", workers=1, **options)
        assert report.ok, report.failed
        hw = max((Image.open(p).size[::-1] for p in folder.iterdir()), key=lambda t: t[0] * t[1])
        estimate = (worker_peak("transfer", TransferOptions(size=size), hw, [style_hw]) if name == "transfer"
                    else worker_peak("fast", FastOptions(model=name), hw))
        print(f"{name:>10}  {size:5d}  {peak.peak / 2**20:6.0f} MB  {estimate / 2**20:6.0f} MB  "
              f"{estimate / peak.peak:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--model", default="microast")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--chunk", type=int, default=24)
    parser.add_argument("--memory", action="store_true", help="measure worker memory against the estimates")
    args = parser.parse_args()
    os.environ.pop("RAY_ADDRESS", None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "photos"
        folder.mkdir()
        style = IMAGES / "starry_night.jpg"
        if args.memory:
            memory(style, work)
            return
        make_photos(folder, args.images, args.size)
        images(args, folder, style, work)
        video(args, style, work)


if __name__ == "__main__":
    main()
