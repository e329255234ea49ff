"""Video stylisation, frame by frame, with temporal consistency (Ruder et al., 2016).

Each frame is stylised by the fast models or by Gatys optimisation. With a temporal weight, the previous
stylised frame is warped to the current one along the optical flow of the source frames, and a
forward-backward consistency mask keeps occluded pixels out: the fast method blends the warped frame in,
the gatys method starts from it and adds a temporal loss. Finished frames are kept as PNGs in a work folder
beside the output, so an interrupted job resumes where it stopped; the folder is removed when the video is
written.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import StylekitError
from ..io import ImageLike, load_image, write_atomic
from ..methods.common import fit_long_side, make_options
from ..objectives import TemporalLoss
from .flow import FlowEstimator, consistency_mask, warp
from .io import VIDEO_OUTPUTS, VideoWriter, probe, read_frames

METHODS = ("fast", "gatys")
DEFAULT_TEMPORAL = {"fast": 0.5, "gatys": 200.0}


@dataclass
class VideoOptions:
    """Settings of a video job (the CLI's defaults)."""

    method: str = "fast"  # fast or gatys
    temporal_weight: float | None = None  # fast: share of the warped previous frame (0-1, default 0.5);
    # gatys: weight of the temporal loss (default 200); 0: independent frames
    size: int | None = None  # long side of the output frames (None: the input's for fast, 384 for gatys)
    flow: str = "dis"  # dis or farneback
    max_frames: int | None = None  # stop after this many frames
    model: str = "microast"  # fast: microast or wct
    alpha: float = 1.0  # fast: style strength
    style_size: int | None = 512  # fast: long side of the style image
    preserve_color: str = "none"  # none, luminance, histogram
    weights_dir: str | None = None  # fast: weights folder (else $STYLEKIT_WEIGHTS_DIR, cache)
    steps: int | tuple[int, ...] = (40, 20)  # gatys: schedule of the first frame
    frame_steps: int = 20  # gatys: steps for every later frame (single scale, warped start)
    style_weight: float = 10.0  # gatys
    content_weight: float = 1.0  # gatys
    seed: int | None = None
    device: str = "cpu"

    def validate(self) -> None:
        """Raise a one-line user error for a bad setting."""
        if self.method not in METHODS:
            raise StylekitError(f"unknown video method {self.method!r}: choose one of {', '.join(METHODS)}")
        tw = self.temporal
        if not math.isfinite(tw) or tw < 0 or (self.method == "fast" and tw > 1):
            raise StylekitError(f"temporal weight must be {'between 0 and 1' if self.method == 'fast' else '>= 0'} "
                                f"for the {self.method} method, got {tw}")
        if self.size is not None and not 16 <= self.size <= 8192:
            raise StylekitError(f"size must be between 16 and 8192, got {self.size}")
        if self.max_frames is not None and self.max_frames < 1:
            raise StylekitError(f"max-frames must be at least 1, got {self.max_frames}")

    @property
    def temporal(self) -> float:
        """The temporal weight, with the method's default filled in."""
        return DEFAULT_TEMPORAL[self.method] if self.temporal_weight is None else float(self.temporal_weight)


def _to_tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255


def _to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()[0].permute(1, 2, 0).numpy()
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


class _FrameStylizer:
    """Stylises one frame given the previous source and stylised frames (None for the first)."""

    def __init__(self, styles: Sequence[ImageLike], opts: VideoOptions) -> None:
        self.opts, self.flows = opts, FlowEstimator(opts.flow)
        if opts.method == "fast":
            from ..fast import FastOptions, FastStylizer
            self.fast = FastStylizer(list(styles), FastOptions(
                model=opts.model, alpha=opts.alpha, style_size=opts.style_size,
                preserve_color=opts.preserve_color, weights_dir=opts.weights_dir, device=opts.device))
        else:
            from ..backbones import load_backbone
            self.styles = [load_image(s, f"style {i + 1}").rgb for i, s in enumerate(styles)]
            self.backbone = load_backbone("vgg19")

    def __call__(self, frame: np.ndarray, prev_src: np.ndarray | None, prev_out: np.ndarray | None) -> np.ndarray:
        tw = self.opts.temporal
        warped = mask = None
        if prev_src is not None and tw > 0:
            backward, forward = self.flows(frame, prev_src), self.flows(prev_src, frame)
            mask = consistency_mask(backward, forward)[..., None]
            warped = warp(prev_out.astype(np.float32) / 255, backward)
        if self.opts.method == "fast":
            out = self.fast(_to_tensor(frame))[0].permute(1, 2, 0).cpu().numpy()
            if warped is not None:
                out = out + tw * mask * (warped - out)
            return _to_uint8(out)
        return self._gatys(frame, warped, mask)

    def _gatys(self, frame: np.ndarray, warped: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        from ..methods.transfer import TransferOptions, run_transfer

        o = self.opts
        first = warped is None
        options = TransferOptions(size=max(frame.shape[:2]), steps=o.steps if first else o.frame_steps,
                                  min_size=TransferOptions.min_size if first else None, style_weight=o.style_weight,
                                  content_weight=o.content_weight, preserve_color=o.preserve_color, seed=o.seed,
                                  device=o.device)
        init = extra = None
        if not first:
            init = torch.from_numpy(warped).permute(2, 0, 1)[None].float()
            extra = TemporalLoss(init, torch.from_numpy(mask).permute(2, 0, 1)[None].float()) * o.temporal
        result = run_transfer(_to_tensor(frame), self.styles, options, backbone=self.backbone, init_image=init,
                              extra=extra)
        if result.interrupted:
            raise KeyboardInterrupt
        return np.asarray(result.image.convert("RGB"))


def _frame_size(width: int, height: int, opts: VideoOptions) -> tuple[int, int]:
    long_side = opts.size or (384 if opts.method == "gatys" else max(width, height))
    h, w = fit_long_side(height, width, long_side)
    return h - h % 2, w - w % 2  # even sides for yuv420p


def work_dir(output: Path) -> Path:
    """The folder that keeps finished frames of ``output`` between runs."""
    return output.parent / f".{output.name}.frames"


def _job_key(source: Path, styles: Sequence[ImageLike], opts: VideoOptions) -> dict[str, Any]:
    def ident(item: ImageLike) -> str:
        if isinstance(item, (str, os.PathLike)):
            path = Path(item).expanduser().resolve()
            return f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" if path.exists() else str(path)
        return hashlib.sha256(_to_uint8(load_image(item).rgb).tobytes()).hexdigest()

    settings = asdict(opts)
    settings["steps"] = list(settings["steps"]) if isinstance(settings["steps"], tuple) else settings["steps"]
    return {"input": ident(source), "styles": [ident(s) for s in styles], "options": settings}


def run_video(source: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output: str | os.PathLike,
              options: VideoOptions | None = None,
              progress: Callable[[int, int], None] | None = None) -> Path:
    """Stylise ``source`` into ``output`` (frame rate kept, audio copied); resumes an interrupted job that had
    the same input, styles and options. ``progress(done, total)`` is called after each frame (total 0 when
    the container does not say)."""
    opts = options or VideoOptions()
    opts.validate()
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise StylekitError("give at least one style image")
    out = Path(output).expanduser()
    if out.suffix.lower() not in VIDEO_OUTPUTS:
        raise StylekitError(f"cannot write video to {out.name}: use one of {', '.join(VIDEO_OUTPUTS)}")
    if not out.parent.is_dir():
        raise StylekitError(f"folder {out.parent} does not exist: create it or choose another output path")
    info = probe(source)
    height, width = _frame_size(info.width, info.height, opts)
    total = min(info.frames, opts.max_frames or info.frames) if info.frames else (opts.max_frames or 0)

    work = work_dir(out)
    key = _job_key(Path(source), style_list, opts)
    settings = work / "job.json"
    if work.is_dir() and settings.is_file() and json.loads(settings.read_text()) != key:
        raise StylekitError(f"{work} holds frames of a different job (input, styles or options changed): delete "
                            "that folder to start again, or rerun with the same settings to resume")
    work.mkdir(exist_ok=True)
    write_atomic(settings, lambda tmp: tmp.write_text(json.dumps(key, indent=1)))
    stylize = _FrameStylizer(style_list, opts)

    def save_frame(path: Path, image: np.ndarray) -> None:
        write_atomic(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG", compress_level=1))

    def encode(tmp: Path) -> None:
        import cv2

        prev_src = prev_out = None
        pending: list[Future] = []
        # PNG saving and encoding run on one background thread (in order) while the next frame is stylised.
        with VideoWriter(tmp, info.fps, width, height, source if info.has_audio else None) as writer, \
                ThreadPoolExecutor(max_workers=1) as io_thread:
            for i, raw in enumerate(read_frames(source)):
                if opts.max_frames is not None and i >= opts.max_frames:
                    break
                frame = raw if raw.shape[:2] == (height, width) else cv2.resize(
                    raw, (width, height), interpolation=cv2.INTER_AREA)
                done = work / f"{i:06d}.png"
                if done.is_file():
                    styled = np.asarray(Image.open(done).convert("RGB"))
                else:
                    styled = stylize(frame, prev_src, prev_out)
                    pending.append(io_thread.submit(save_frame, done, styled))
                pending.append(io_thread.submit(writer.write, styled))
                for future in [f for f in pending if f.done()]:
                    future.result()  # surface a failed write at once
                    pending.remove(future)
                prev_src, prev_out = frame, styled
                if progress is not None:
                    progress(i + 1, total)
            for future in pending:
                future.result()

    import av

    try:
        write_atomic(out, encode)
    except av.error.FFmpegError as exc:
        raise StylekitError(f"writing {out.name} failed ({exc}); finished frames are kept in {work}: try a .mkv "
                            "output, which takes any audio codec") from None
    shutil.rmtree(work, ignore_errors=True)
    return out


def video(source: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output: str | os.PathLike,
          progress: Callable[[int, int], None] | None = None, **options: Any) -> Path:
    """Stylise a video file; keyword options are the fields of :class:`VideoOptions`."""
    return run_video(source, styles, output, make_options(VideoOptions, options), progress)
