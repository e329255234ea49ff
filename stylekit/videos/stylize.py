"""Video stylisation, frame by frame, with temporal consistency (Ruder et al., 2016).

Each frame is stylised by the fast models or by Gatys optimisation. With a temporal weight, the previous
stylised frame is warped to the current one along the optical flow of the source frames, and a
forward-backward consistency mask keeps occluded pixels out: the fast method blends the warped frame in,
the transfer method starts from it and adds a temporal loss. Finished frames are kept in a work folder beside
the output, encoded in segments (no per-frame image files on the frame's path), so an interrupted job resumes
from its last whole segment; the segments are joined into the video when all are done, and the folder is
removed then, and when the job fails for good (a damaged input). Everything that can be checked (options, output
path, input file, style images, model, device, memory) is checked before the folder is made, and a lock in it
keeps a second job off the same output.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..devices import available_memory
from ..errors import OutOfMemoryEstimate, StylekitError
from ..io import (MIN_SIDE, ImageLike, check_distinct, check_output_path, checked_hw, fit_long_side, load_image,
                  job_lock, write_atomic)
from ..methods.common import run_context
from ..methods.gatys import transfer_tiles
from ..objectives import TemporalLoss
from ..optim.callbacks import Callback, ItemProgress
from ..options import TransferOptions, VideoOptions, keyword_options, make_options, validate
from ..planning import run_plan
from .flow import FlowEstimator, warp
from .io import VIDEO_OUTPUTS, VideoInfo, VideoWriter, join_segments, numbered_frames, probe

# Working memory of one frame in bytes per output pixel: peak RSS growth measured on the CPU at 512-2048 px
# (microast 390-460, wct 800-820; DIS flow 270-280, Farneback 90), rounded up.
FLOW_BYTES_PER_PIXEL = {"dis": 300, "farneback": 100}  # both flows, the consistency mask and the warp
FRAME_BYTES_PER_PIXEL = 80  # frames held (uint8 RGB: current, previous, stylised, queued) and the flows kept
MAX_QUEUED = 8  # encodes waiting for the background thread before the next frame waits for them
SEGMENT_FRAMES = 30  # finished frames are kept as encoded segments of this many (an interrupt loses fewer)


def _to_tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255


def _to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()[0].permute(1, 2, 0).numpy()
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


class FrameStylizer:
    """Stylises one frame given the previous source and stylised frames (None for the first)."""

    def __init__(self, styles: Sequence[ImageLike], opts: VideoOptions) -> None:
        self.opts, self.flows = opts, FlowEstimator(opts.flow, opts.flow_scale)
        if opts.method == "fast":
            from ..feedforward import FastStylizer
            self.fast = FastStylizer(list(styles), dataclasses.replace(
                opts.fast, preserve_color=opts.preserve_color, device=opts.device, masks=opts.masks,
                color_image=opts.color_image))
            self.device = self.fast.device
        else:
            self.styles = [load_image(s, f"style {i + 1}").rgb for i, s in enumerate(styles)]
            g = opts.transfer
            ctx = run_context(dataclasses.replace(g, device=opts.device), [*g.content_layers, *g.style_layers])
            self.backbone, self.device = ctx.backbone, ctx.device

    def check_memory(self, frame_hw: tuple[int, int]) -> None:
        """Refuse, before the first frame, frames too large for the free memory, in one line naming the largest
        --size that fits.

        The method checks its own network (fast: :meth:`FastStylizer.plan`, which tiles large frames; transfer:
        :func:`~stylekit.methods.gatys.transfer_tiles` on the first frame's plan, which tiles rather than
        refuses where it can); this adds, in bytes per output pixel, the optical flow when frames are linked
        (:data:`FLOW_BYTES_PER_PIXEL`, always on the CPU) and the frames held (:data:`FRAME_BYTES_PER_PIXEL`).
        The network and the flow run in turn, so each is checked against the free memory on its own.
        """
        o = self.opts
        if o.method == "transfer":
            first = self._transfer_options(frame_hw, first=True)
            transfer_tiles(self.backbone, first, run_plan(first, frame_hw), self.device)
        else:
            self.fast.plan(frame_hw, "frame", "size")
        per_pixel = (FLOW_BYTES_PER_PIXEL[o.flow] if o.temporal > 0 else 0) + FRAME_BYTES_PER_PIXEL
        h, w = frame_hw
        free = available_memory(torch.device("cpu"))
        if per_pixel * h * w <= free:
            return

        def fits(n: int) -> bool:
            return per_pixel * math.prod(_even(fit_long_side(h, w, n))) <= free

        n = min(max(h, w), math.isqrt(int(free / per_pixel * max(h, w) / min(h, w))))
        while n >= MIN_SIDE and not fits(n):
            n -= 1
        advice = f"use `size` {n} or less" if n >= MIN_SIDE else "not even the smallest size fits: free some memory"
        raise OutOfMemoryEstimate(f"a {w}x{h} frame needs about {per_pixel * h * w / 2**30:.1f} GiB but "
                                  f"{free / 2**30:.1f} GiB is free on cpu: {advice}")

    def _transfer_options(self, frame_hw: tuple[int, int], first: bool) -> TransferOptions:
        """The transfer options of a frame: the first runs the whole schedule, later ones start from the warped
        previous frame at one scale."""
        o = self.opts
        later = {} if first else {"steps": o.frame_steps, "min_size": None}
        return dataclasses.replace(o.transfer, size=max(frame_hw), preserve_color=o.preserve_color, seed=o.seed,
                                   device=o.device, masks=o.masks, color_image=o.color_image, **later)

    def __call__(self, frame: np.ndarray, prev_src: np.ndarray | None, prev_out: np.ndarray | None) -> np.ndarray:
        tw = self.opts.temporal
        warped = mask = None
        if prev_src is not None and tw > 0:
            backward, mask = self.flows.linked(frame, prev_src)
            mask = mask[..., None]
            warped = warp(prev_out.astype(np.float32) / 255, backward)
        if self.opts.method == "fast":
            out = self.fast(_to_tensor(frame))[0].permute(1, 2, 0).cpu().numpy()
            if warped is not None:
                out = out + tw * mask * (warped - out)
            return _to_uint8(out)
        return self._transfer(frame, warped, mask)

    def _transfer(self, frame: np.ndarray, warped: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        from ..methods.gatys import run_transfer

        options = self._transfer_options(frame.shape[:2], first=warped is None)
        init = extra = None
        if warped is not None:
            init = torch.from_numpy(warped).permute(2, 0, 1)[None].float()
            extra = TemporalLoss(init, torch.from_numpy(mask).permute(2, 0, 1)[None].float()) * self.opts.temporal
        result = run_transfer(_to_tensor(frame), self.styles, options, backbone=self.backbone, init_image=init,
                              extra=extra)
        if result.interrupted:
            raise KeyboardInterrupt
        return np.asarray(result.image.convert("RGB"))


def fit_frame(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A decoded frame brought to the output's (h, w) (area-averaged), or as it is when it has that size."""
    import cv2

    return frame if frame.shape[:2] == tuple(hw) else cv2.resize(frame, hw[::-1], interpolation=cv2.INTER_AREA)


def frame_png(frame: np.ndarray) -> bytes:
    """A finished frame as the PNG kept in the work folder (fast compression: it is read back once)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def stylize_span(stylize: FrameStylizer, frames: Iterable[tuple[int, np.ndarray]], hw: tuple[int, int],
                 start: int = 0, carried: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Stylise consecutive numbered frames (:func:`~stylekit.videos.io.numbered_frames`), each linked to the one
    before; yield (number, frame) from number ``start`` on. The frames before ``start`` carry the temporal state
    into it: stylised again, or, given ``carried`` (frame ``start - 1`` as stylised before), only the source of
    that one is read."""
    prev_src = prev_out = None
    for i, raw in frames:
        if carried is not None and i < start:
            if i == start - 1:
                prev_src, prev_out = fit_frame(raw, hw), carried
            continue
        frame = fit_frame(raw, hw)
        styled = stylize(frame, prev_src, prev_out)
        prev_src, prev_out = frame, styled
        if i >= start:
            yield i, styled


def _even(hw: tuple[int, int]) -> tuple[int, int]:
    return hw[0] - hw[0] % 2, hw[1] - hw[1] % 2  # even sides for yuv420p


def frame_size(info: VideoInfo, opts: VideoOptions, label: str) -> tuple[int, int]:
    """(h, w) of the output frames: --size (default: the input's for fast, 384 for transfer), even sides."""
    return _even(checked_hw(info.height, info.width, opts.size or (384 if opts.method == "transfer" else None), label))


def work_dir(output: Path) -> Path:
    """The folder that keeps finished frames of ``output`` between runs."""
    return output.parent / f".{output.name}.frames"


def job_key(source: Path, styles: Sequence[ImageLike], opts: VideoOptions) -> dict[str, Any]:
    """What makes a job's finished frames reusable: the input, style and trained model files (path, size, time) or
    images (a hash), and the options."""
    def ident(item: ImageLike) -> str:
        if isinstance(item, (str, os.PathLike)):
            path = Path(item).expanduser().resolve()
            return f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" if path.exists() else str(path)
        return hashlib.sha256(_to_uint8(load_image(item).rgb).tobytes()).hexdigest()

    settings = json.loads(json.dumps(asdict(opts), default=str))  # tuples as lists, paths as text
    trained = opts.fast.trained if opts.method == "fast" else None
    return {"input": ident(source), "styles": [ident(s) for s in styles], "options": settings,
            **({"model": ident(trained)} if trained is not None else {})}


def segments(work: Path) -> list[tuple[Path, int]]:
    """The finished segments in a job's folder that follow on from frame 0, in order: (file, frames). A segment
    ``FIRST-COUNT.mp4`` holds frames FIRST to FIRST+COUNT-1, encoded; the last one's final frame is beside it as a
    PNG, for the temporal link into the next."""
    found = {}
    for path in work.glob("[0-9]*-[0-9]*.mp4"):
        first, count = path.stem.split("-")
        if first.isdigit() and count.isdigit():
            found[int(first)] = (path, int(count))
    parts, next_frame = [], 0
    while next_frame in found:
        parts.append(found[next_frame])
        next_frame += found[next_frame][1]
    return parts


def last_frame(work: Path, start: int) -> np.ndarray | None:
    """Frame ``start - 1`` as it was stylised (kept beside its segment), None at the start."""
    if start == 0:
        return None
    return np.asarray(Image.open(work / f"{start - 1:06d}.png").convert("RGB"))


def same_job(settings: Path, key: dict[str, Any]) -> bool:
    """Whether the job key saved in ``settings`` is ``key`` (an unreadable file is not)."""
    try:
        return json.loads(settings.read_text()) == key
    except (OSError, ValueError):
        return False


def run_video(source: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output: str | os.PathLike,
              options: VideoOptions | None = None, callbacks: Sequence[Callback] = ()) -> Path:
    """Stylise ``source`` into ``output`` (frame rate kept, audio copied); resumes an interrupted job that had
    the same input, styles and options. Callbacks hear ``on_item`` after each frame (total: the frames to do).

    Options, output path, input, styles, model, device and memory are all checked before anything is
    written; a job already writing ``output`` is refused.
    """
    opts = validate(options or VideoOptions())
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if opts.method == "fast":
        validate(opts.fast, n_styles=len(style_list))  # a trained model needs no style image, the others one
    elif not style_list:
        raise StylekitError("give at least one style image")
    out = check_output_path(output, VIDEO_OUTPUTS, "the output video")
    check_distinct([(out, "the output video")], [source, *style_list])
    info = probe(source)
    height, width = frame_size(info, opts, Path(source).name)
    stylize = FrameStylizer(style_list, opts)
    stylize.check_memory((height, width))
    total = min(info.frames, opts.max_frames or info.frames)
    work = work_dir(out)
    key = job_key(Path(source), style_list, opts)

    def encode(start: int) -> None:
        """Stylise the frames from ``start`` into segments in ``work`` (:func:`segments`). The encoding runs on a
        background thread (in order) while the next frame is stylised; a segment is renamed into place, with its
        last frame beside it, once it is whole."""
        pending: list[Future] = []
        segment: list[Any] = []  # [first frame, writer, temporary file] of the segment being written
        carried = last_frame(work, start)

        def close_segment(first: int, writer: VideoWriter, tmp: Path, count: int, last: np.ndarray) -> None:
            writer.close()
            write_atomic(work / f"{first + count - 1:06d}.png", lambda path: path.write_bytes(frame_png(last)))
            os.replace(tmp, work / f"{first:06d}-{count:06d}.mp4")
            for old in work.glob("[0-9]*.png"):
                if old.name != f"{first + count - 1:06d}.png":
                    old.unlink()  # only the newest segment's last frame carries the temporal link

        def flush(last: int, frame: np.ndarray) -> None:
            first, writer, tmp = segment
            pending.append(io_thread.submit(close_segment, first, writer, tmp, last - first + 1, frame))
            segment.clear()

        with ThreadPoolExecutor(max_workers=1) as io_thread:
            frames = numbered_frames(source, stop=opts.max_frames)
            i = styled = None
            try:
                for i, styled in stylize_span(stylize, frames, (height, width), start, carried=carried):
                    if not segment:
                        tmp = work / f".{i:06d}.tmp.mp4"
                        segment.extend([i, VideoWriter(tmp, info.fps, width, height), tmp])
                    pending.append(io_thread.submit(segment[1].write, styled))
                    if i - segment[0] + 1 == SEGMENT_FRAMES:
                        flush(i, styled)
                    while len(pending) > MAX_QUEUED:  # keep the frames held bounded when writing is the slower side
                        pending.pop(0).result()
                    for future in [f for f in pending if f.done()]:
                        future.result()  # surface a failed write at once
                        pending.remove(future)
                    for cb in callbacks:
                        cb.on_item(ItemProgress(i + 1, total, f"frame {i}"))
                if segment:
                    flush(i, styled)
                for future in pending:
                    future.result()
            except BaseException:
                io_thread.shutdown(wait=True)  # what was handed over is written: whole segments are kept
                if segment:  # the unfinished segment is thrown away
                    segment[1].discard()
                    segment[2].unlink(missing_ok=True)
                raise

    import av

    with job_lock(work, out):
        settings = work / "job.json"
        if settings.is_file() and not same_job(settings, key):
            raise StylekitError(f"{work} holds frames of a different job (input, styles or options changed): "
                                "delete that folder to start again, or rerun with the same settings to resume")
        try:
            write_atomic(settings, lambda tmp: tmp.write_text(json.dumps(key, indent=1)))
            if opts.train:  # the clip's own model first, then the frames in it
                model = train_on_clip(source, style_list, opts, (height, width), work, callbacks)
                stylize = FrameStylizer([], dataclasses.replace(opts, fast=dataclasses.replace(
                    opts.fast, model=str(model))))
            done = segments(work)
            encode(sum(count for _, count in done))
            parts = segments(work)
            if not parts:
                raise StylekitError(f"{source}: none of its {info.frames} frames could be decoded; the file is "
                                    "damaged")
            write_atomic(out, lambda tmp: join_segments(parts, tmp, info.fps, source if info.has_audio else None))
        except av.error.FFmpegError as exc:
            raise StylekitError(f"writing {out.name} failed ({exc}); finished frames are kept in {work}: try a "
                                ".mkv output, which takes any audio codec") from None
        except StylekitError:
            shutil.rmtree(work, ignore_errors=True)  # the job cannot be finished: its frames are of no use
            raise
        except KeyboardInterrupt:
            if not segments(work) and not (work / CLIP_MODEL).is_file():
                shutil.rmtree(work, ignore_errors=True)  # nothing to resume from: leave nothing behind
            raise
        shutil.rmtree(work, ignore_errors=True)
    return out


CLIP_MODEL = "model.pt"  # the model --train makes, in the job's folder
CLIP_PHOTOS = 24  # frames of the clip, evenly spaced, that --train learns from


class _TrainingLines(Callback):
    """Training on the clip, told as stages (a line every tenth of the steps): the video's bar counts frames."""

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = callbacks

    def on_step(self, progress: Any) -> None:
        if progress.step == progress.total_steps or progress.step % max(1, progress.total_steps // 10) == 0:
            for cb in self.callbacks:
                cb.on_stage(f"training on the clip: step {progress.step} of {progress.total_steps}, about "
                            f"{progress.elapsed / progress.step * (progress.total_steps - progress.step):.0f} s left")


def train_on_clip(source: str | os.PathLike, styles: Sequence[ImageLike], opts: VideoOptions,
                  frame_hw: tuple[int, int], work: Path, callbacks: Sequence[Callback] = ()) -> Path:
    """The model ``--train`` makes for ``styles`` from :data:`CLIP_PHOTOS` evenly spaced frames of the clip (at
    the video's frame size), kept in the job's folder ``work``: trained once, its training resumed if it was
    interrupted (Ctrl-C during it stops the job, keeping it)."""
    from ..feedforward.trained import read_model_file
    from ..options import TrainOptions
    from ..training import run_training

    model = work / CLIP_MODEL
    frames = work / "clip-frames"
    count = probe(source).frames
    last = min(count, opts.max_frames or count)
    n = min(CLIP_PHOTOS, last)
    wanted = {round(i * (last - 1) / max(1, n - 1)) for i in range(n)}
    frames.mkdir(exist_ok=True)
    for i, frame in numbered_frames(source, stop=last):
        if i in wanted and not (frames / f"{i:06d}.png").is_file():
            image = Image.fromarray(frame).resize(frame_hw[::-1], Image.LANCZOS)
            write_atomic(frames / f"{i:06d}.png", lambda tmp, image=image: image.save(tmp, "PNG"))
    train = TrainOptions(steps=opts.train, images=str(frames), style_size=max(frame_hw), size=min(384, *frame_hw),
                         seed=0 if opts.seed is None else opts.seed, device=opts.device,
                         weights_dir=opts.fast.weights_dir)
    resume = model.is_file()
    if resume and read_model_file(model)["training"].get("done"):
        return model
    for cb in callbacks:
        cb.on_stage(f"training a model on {len(wanted)} frames of the clip ({opts.train} steps)")
    result = run_training(styles, train, str(model), resume=resume, callbacks=[_TrainingLines(callbacks)])
    if result.interrupted:
        raise KeyboardInterrupt
    return model


@keyword_options(VideoOptions)
def video(source: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output: str | os.PathLike,
          callbacks: Sequence[Callback] = (), **options: Any) -> Path:
    """Stylise a video file; keyword options are the fields of :class:`VideoOptions` (the fast method's model
    options in ``fast=FastOptions(...)``, the transfer method's in ``transfer=TransferOptions(...)``)."""
    return run_video(source, styles, output, make_options(VideoOptions, options), callbacks)
