"""The workers of a batch job, run as Ray actors: each loads its model once, then stylises one image, or one
chunk of video frames, per call and returns the encoded result (the job writes it). A failure is returned as
a one-line message for that input alone. Also the peak memory a worker is planned with."""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import StylekitError
from ..io import image_bytes
from ..options import VideoOptions, registry

def failure(exc: BaseException) -> str:
    """One line for an input that failed: the user error's message (options by field, for each face to name),
    or the exception's type and first line."""
    if isinstance(exc, StylekitError):
        return exc.template
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _notes(caught: Sequence[warnings.WarningMessage]) -> str:
    return "; ".join(dict.fromkeys(str(w.message) for w in caught))


class ImageWorker:
    """Stylises one image file per call with the fast model (loaded, its styles encoded, when the worker starts)
    or another batch method's job (its backbone loaded once per worker process)."""

    def __init__(self, method: registry.Method, options: Any, styles: Sequence[Image.Image], threads: int) -> None:
        """``method``: the registry's entry itself (a method registered in the driver alone is still known)."""
        torch.set_num_threads(threads)
        self.method, self.options, self.styles = method.name, options, list(styles)
        if self.method == "fast":  # its styles encoded once for every image
            from ..feedforward import FastStylizer
            self.stylizer = FastStylizer(self.styles, options)
        else:
            self.job = method.code(method.job)

    def stylize(self, source: str) -> Image.Image:
        """The stylised image of the file ``source``."""
        if self.method == "fast":
            return self.stylizer.stylize_image(source)
        result = self.job(source, self.styles, self.options)  # the backbone is loaded once per process
        if result.interrupted:
            raise StylekitError("interrupted")
        return result.image

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        out: dict[str, list] = {"key": [], "data": [], "error": [], "notes": []}
        for source, key in zip(batch["source"], batch["key"]):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    data, error = image_bytes(self.stylize(str(source)), Path(str(key)).suffix), ""
                except Exception as exc:  # this input fails alone
                    data, error = b"", failure(exc)
            for column, value in zip(out, (str(key), data, error, _notes(caught))):
                out[column].append(value)
        return out


class ChunkWorker:
    """Stylises one chunk of a video's frames per call: from ``overlap`` frames before the chunk (run only to
    carry the temporal state into its first frame), each frame linked to the one before as ``stylekit video``
    links them. Yields each frame of the chunk as PNG bytes as soon as it is done."""

    def __init__(self, options: VideoOptions, styles: Sequence[Image.Image], source: str, times: Sequence[int],
                 size: tuple[int, int], threads: int) -> None:
        from ..videos.stylize import FrameStylizer

        torch.set_num_threads(threads)
        self.stylize = FrameStylizer(list(styles), options)
        self.source, self.times, self.size = source, list(times), tuple(size)

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[dict[str, list]]:
        from ..videos.io import numbered_frames
        from ..videos.stylize import frame_png, stylize_span

        for chunk, warm, start, stop in zip(batch["chunk"], batch["warm"], batch["start"], batch["stop"]):
            frames = numbered_frames(self.source, int(warm), int(stop), self.times)
            try:
                for index, styled in stylize_span(self.stylize, frames, self.size, int(start)):
                    yield {"chunk": [int(chunk)], "index": [index], "png": [frame_png(styled)], "error": [""]}
            except Exception as exc:  # this chunk fails alone; its finished frames are kept
                yield {"chunk": [int(chunk)], "index": [-1], "png": [b""], "error": [failure(exc)]}


def worker_peak(method: str, options: Any, hw: tuple[int, int], styles: Sequence[tuple[int, int]] = ()) -> int:
    """A batch worker's peak memory (bytes) for one input of (h, w) px as given, with style images of ``styles``
    (h, w): the worker's own and its method's run (the registry's ``worker_bytes`` and its ``worker_peak``)."""
    spec = registry.METHODS[method]
    return spec.worker_bytes + spec.code("worker_peak")(options, hw, styles)


def frames_peak(options: VideoOptions, hw: tuple[int, int], styles: Sequence[tuple[int, int]]) -> int:
    """A video worker's peak memory (bytes) for frames of (h, w): its model's, and the optical flow and the
    frames it holds (as ``stylekit video`` checks them)."""
    from ..videos.stylize import FLOW_BYTES_PER_PIXEL, FRAME_BYTES_PER_PIXEL

    if options.method == "fast":
        model = worker_peak("fast", options.fast, hw)
    else:
        model = worker_peak("transfer", dataclasses.replace(options.transfer, size=max(hw)), hw, styles)
    per_pixel = (FLOW_BYTES_PER_PIXEL[options.flow] if options.temporal > 0 else 0) + FRAME_BYTES_PER_PIXEL
    return model + per_pixel * hw[0] * hw[1]
