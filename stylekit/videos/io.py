"""Reading and writing video with PyAV: RGB frames, frame rate kept, the audio track copied across."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import StylekitError

VIDEO_OUTPUTS = (".mp4", ".mkv", ".mov")


@dataclass
class VideoInfo:
    """What stylisation needs to know about an input video."""

    width: int
    height: int
    fps: Fraction
    frames: int  # from the container header; 0 when unknown
    has_audio: bool


def _open(path: str | os.PathLike):
    import av

    source = Path(path).expanduser()
    if not source.is_file():
        raise StylekitError(f"{source}: no such file" if not source.exists() else f"{source} is not a file")
    try:
        container = av.open(str(source))
    except av.error.FFmpegError as exc:
        raise StylekitError(f"{source} is not a video PyAV can read ({exc})") from None
    if not container.streams.video:
        container.close()
        raise StylekitError(f"{source} has no video stream")
    return container


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, frame count and audio presence of a video file."""
    with _open(path) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        return VideoInfo(stream.codec_context.width, stream.codec_context.height, Fraction(fps),
                         int(stream.frames or 0), bool(container.streams.audio))


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Decoded frames as (H, W, 3) uint8 RGB arrays, in display order."""
    import av

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise StylekitError(f"{path}: decoding failed ({exc}); the file may be truncated") from None


class VideoWriter:
    """H.264 (yuv420p) encoder that also copies the audio packets of ``audio_from`` (interleaved by time).

    Sides are cropped to even numbers, as yuv420p requires. Use as a context manager; ``write`` RGB uint8
    frames in order.
    """

    def __init__(self, path: str | os.PathLike, fps: Fraction, width: int, height: int,
                 audio_from: str | os.PathLike | None = None, crf: int = 18) -> None:
        import av

        self.container = av.open(str(path), mode="w", format={".mkv": "matroska", ".mov": "mov"}.get(
            Path(path).suffix.lower(), "mp4"))
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf), "preset": "veryfast"}
        self.fps = fps
        self.count = 0
        self._audio_in, self._audio_out, self._packets = None, None, iter(())
        self._pending = None
        if audio_from is not None:
            source = av.open(str(audio_from))
            if source.streams.audio:
                self._audio_in = source
                self._audio_out = self.container.add_stream_from_template(source.streams.audio[0])
                self._packets = (p for p in source.demux(source.streams.audio[0]) if p.dts is not None)
            else:
                source.close()

    def _mux_audio_until(self, seconds: float | None) -> None:
        """Copy audio packets whose start time is at most ``seconds`` (all of them for None)."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            packet = self._pending
            if seconds is not None and float(packet.pts * packet.time_base) > seconds:
                return
            packet.stream = self._audio_out
            self.container.mux(packet)
            self._pending = None

    def write(self, frame: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 RGB frame."""
        import av

        self._mux_audio_until(self.count / self.fps)
        image = np.ascontiguousarray(frame[:self.stream.height, :self.stream.width])
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        for packet in self.stream.encode(video_frame):
            self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio and close the files."""
        for packet in self.stream.encode():
            self.container.mux(packet)
        self._mux_audio_until(None)
        self.container.close()
        if self._audio_in is not None:
            self._audio_in.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
