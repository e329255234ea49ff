"""Video stylisation, frame by frame, with temporal consistency (Ruder et al., 2016).

Each frame is stylised by the fast models or by Gatys optimisation. With a temporal weight, the previous
stylised frame is warped to the current one along the optical flow of the source frames, and a
forward-backward consistency mask keeps occluded pixels out: the fast method blends the warped frame in,
the gatys method starts from it and adds a temporal loss. Finished frames are kept as PNGs in a work folder
beside the output, so an interrupted job resumes where it stopped; the folder is removed when the video is
written.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import StylekitError
from ..io import ImageLike, load_image, target_hw, write_atomic
from ..objectives import TemporalLoss
from ..optim.callbacks import Callback, ItemProgress
from ..options import VideoOptions, make_options, validate
from .flow import FlowEstimator, consistency_mask, warp
from .io import VIDEO_OUTPUTS, VideoWriter, probe, read_frames


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
            from ..feedforward import FastStylizer
            self.fast = FastStylizer(list(styles), dataclasses.replace(
                opts.fast, preserve_color=opts.preserve_color, device=opts.device))
        else:
            from ..backbones import get_backbone
            self.styles = [load_image(s, f"style {i + 1}").rgb for i, s in enumerate(styles)]
            g = opts.gatys
            self.backbone = get_backbone(g.backbone, g.pooling, g.weights, opts.device)

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
        from ..methods.gatys import run_transfer

        o = self.opts
        first = warped is None
        later = {} if first else {"steps": o.frame_steps, "min_size": None}  # warped start: one scale
        options = dataclasses.replace(o.gatys, size=max(frame.shape[:2]), preserve_color=o.preserve_color,
                                      seed=o.seed, device=o.device, **later)
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
    h, w = target_hw(height, width, opts.size or (384 if opts.method == "gatys" else None))
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

    settings = json.loads(json.dumps(asdict(opts), default=str))  # tuples as lists, paths as text
    return {"input": ident(source), "styles": [ident(s) for s in styles], "options": settings}


def run_video(source: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output: str | os.PathLike,
              options: VideoOptions | None = None, callbacks: Sequence[Callback] = ()) -> Path:
    """Stylise ``source`` into ``output`` (frame rate kept, audio copied); resumes an interrupted job that had
    the same input, styles and options. Callbacks hear ``on_item`` after each frame (total 0 when the
    container does not say)."""
    opts = validate(options or VideoOptions())
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
                for cb in callbacks:
                    cb.on_item(ItemProgress(i + 1, total, f"frame {i}"))
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
          callbacks: Sequence[Callback] = (), **options: Any) -> Path:
    """Stylise a video file; keyword options are the fields of :class:`VideoOptions` (the fast method's model
    options in ``fast=FastOptions(...)``, the gatys method's in ``gatys=TransferOptions(...)``)."""
    return run_video(source, styles, output, make_options(VideoOptions, options), callbacks)
