"""Synthetic test clips from a still image: a slow pan and zoom, or an object moving over a background,
optionally with a sine-tone audio track (AAC). Used by the tests, the benchmarks and the video demo."""
from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from ..io import ImageLike, load_image, write_atomic

CLIP_KINDS = ("pan", "object")


def _frames(image: np.ndarray, kind: str, count: int, width: int, height: int) -> list[np.ndarray]:
    import cv2

    ih, iw = image.shape[:2]
    frames = []
    for i in range(count):
        t = i / max(1, count - 1)
        if kind == "pan":  # crop window shrinks by 15% and slides right by a fifth of the image
            scale = 1.0 - 0.15 * t
            cw, ch = min(iw, ih * width / height) * 0.8 * scale, min(ih, iw * height / width) * 0.8 * scale
            x0 = (iw - cw) * (0.1 + 0.2 * t)
            y0 = (ih - ch) * 0.5
            matrix = np.float32([[width / cw, 0, -x0 * width / cw], [0, height / ch, -y0 * height / ch]])
            frames.append(cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REFLECT))
        else:  # a bright disc with a dark rim crosses a still background left to right
            frame = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).copy()
            radius = max(4, height // 6)
            cx = int(radius + (width - 2 * radius) * t)
            cy = int(height / 2 + height / 5 * np.sin(2 * np.pi * t))
            cv2.circle(frame, (cx, cy), radius, (250, 210, 40), -1)
            cv2.circle(frame, (cx, cy), radius, (30, 30, 30), max(2, radius // 6))
            frames.append(frame)
    return frames


def make_clip(image: ImageLike, path: str | os.PathLike, kind: str = "pan", frames: int = 48,
              size: tuple[int, int] = (640, 360), fps: int = 24, audio: bool = True) -> None:
    """Write an H.264 MP4 clip of ``frames`` frames at ``size`` (width, height) made from ``image``."""
    import av

    if kind not in CLIP_KINDS:
        raise ValueError(f"kind must be one of {CLIP_KINDS}")
    rgb = (load_image(image).rgb[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    width, height = size
    pictures = _frames(rgb, kind, frames, width, height)

    def write(tmp) -> None:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            sound = container.add_stream("aac", rate=44100) if audio else None
            if sound is not None:
                sound.layout = "mono"
            for i, picture in enumerate(pictures):
                for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                    container.mux(packet)
                if sound is not None:  # one video frame's worth of a 440 Hz tone
                    n = 44100 // fps
                    t = (np.arange(n) + i * n) / 44100
                    samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
                    chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                    chunk.sample_rate, chunk.pts, chunk.time_base = 44100, i * n, Fraction(1, 44100)
                    for packet in sound.encode(chunk):
                        container.mux(packet)
            for stream in (video, sound):
                if stream is not None:
                    for packet in stream.encode():
                        container.mux(packet)

    write_atomic(path, write)
