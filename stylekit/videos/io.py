"""Reading and writing video with PyAV: RGB frames, frame rate kept, the audio track copied across."""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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
    frames: int  # video packets counted in the file (no decoding): the number of frames
    has_audio: bool
    times: list[int] = field(default_factory=list, repr=False)  # each frame's timestamp, in display order


def _open(path: str | os.PathLike):
    """The container and its first video stream, checked: readable, with a codec FFmpeg decodes and a size."""
    import av

    source = Path(path).expanduser()
    if not source.is_file():
        raise StylekitError(f"{source}: no such file" if not source.exists() else f"{source} is not a file")
    try:
        container = av.open(str(source))
    except av.error.FFmpegError as exc:
        raise StylekitError(f"{source} is not a video PyAV can read ({exc})") from None
    stream = container.streams.video[0] if container.streams.video else None
    ctx = stream.codec_context if stream is not None else None
    problem = None
    if stream is None:
        problem = f"{source} has no video stream"
    elif ctx is None:
        problem = (f"{source}: its video stream is in a codec this FFmpeg cannot decode: convert it first (e.g. "
                   "ffmpeg -i IN -c:v libx264 OUT.mp4)")
    elif not ctx.width or not ctx.height:
        problem = f"{source}: its video stream does not say its frame size; the file may be damaged"
    if problem is not None:
        container.close()
        raise StylekitError(problem)
    return container, stream


def _cut_short(container, packets: dict[int, int], reached: dict[int, float], fps: Fraction) -> bool:
    """Whether the file stops before its end (truncated): a stream's index (MP4, MOV: read from the header)
    lists more packets than the file holds, or the packets stop before the duration the header declares: a
    stream's own, or for streams without one (Matroska) the container's, against the furthest of them. Two
    frames or a quarter second of slack, whichever is more, absorbs rounding and packet granularity."""
    import av

    slack = max(2 / float(fps), 0.25)
    loose = []
    for stream in container.streams:
        if packets.get(stream.index, 0) < len(stream.index_entries):
            return True
        if stream.index not in reached:
            continue  # no packets and no index: nothing to compare (an empty data or subtitle stream)
        if stream.duration:
            declared = float(((stream.start_time or 0) + stream.duration) * stream.time_base)
            if reached[stream.index] < declared - slack:
                return True
        else:
            loose.append(reached[stream.index])
    if loose and container.duration:
        declared = ((container.start_time or 0) + container.duration) / av.time_base
        return max(loose) < declared - slack
    return False


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, frame count and audio presence of a video file, read through once without decoding;
    a file with no video frames or one cut short (truncated) is refused here, before any work."""
    import av

    source = Path(path).expanduser()
    container, stream = _open(source)
    with container:
        fps = Fraction(stream.average_rate or stream.guessed_rate or Fraction(25))
        packets: dict[int, int] = {}
        reached: dict[int, float] = {}
        times: list[int] = []
        try:
            for packet in container.demux():
                time = packet.pts if packet.pts is not None else packet.dts
                if not packet.size or time is None:
                    continue  # flush packets
                index = packet.stream.index
                packets[index] = packets.get(index, 0) + 1
                if index == stream.index and packet.pts is not None:
                    times.append(packet.pts)
                end = float((time + (packet.duration or 0)) * packet.time_base)
                reached[index] = max(end, reached.get(index, end))
        except av.error.FFmpegError as exc:
            raise StylekitError(f"{source} is damaged or truncated ({exc}): re-export or re-download it") from None
        frames = packets.get(stream.index, 0)
        if not frames:
            raise StylekitError(f"{source} has a video stream but no frames in it")
        if _cut_short(container, packets, reached, fps):
            raise StylekitError(f"{source} stops before the end its header declares (truncated, e.g. an unfinished "
                                "download or copy): re-export or re-download it")
        ctx = stream.codec_context
        return VideoInfo(ctx.width, ctx.height, fps, frames, bool(container.streams.audio),
                         sorted(times) if len(times) == frames else [])


def numbered_frames(path: str | os.PathLike, start: int = 0, stop: int | None = None,
                    times: Sequence[int] = ()) -> Iterator[tuple[int, np.ndarray]]:
    """(number, frame) of the decoded frames numbered ``start`` to ``stop`` (the end for None), each frame an
    (H, W, 3) uint8 RGB array, in display order. With every frame's timestamp (``times``, from
    :attr:`VideoInfo.times`) frames are numbered by their timestamp, so a frame the decoder drops leaves a gap
    instead of shifting the numbers after it, and a later ``start`` seeks to the keyframe before it instead of
    decoding every frame before it; without them frames are counted."""
    import av

    index = {t: i for i, t in enumerate(times)} if len(set(times)) == len(times) else {}
    container, stream = _open(path)
    with container:
        stream.thread_type = "AUTO"
        try:
            if index and start:
                container.seek(times[start], stream=stream, backward=True)
            decoded = container.decode(stream)
            first = next(decoded, None)
            if index and start and (first is None or index.get(first.pts, start + 1) > start):
                container.seek(0, stream=stream, backward=True)  # landed past it: from the first frame
                decoded = container.decode(stream)
                first = next(decoded, None)
            count = 0
            for frame in ([] if first is None else itertools.chain([first], decoded)):
                count = index.get(frame.pts, count)
                if stop is not None and count >= stop:
                    return
                if count >= start:
                    yield count, frame.to_ndarray(format="rgb24")
                count += 1
        except av.error.FFmpegError as exc:
            raise StylekitError(f"{path}: decoding failed ({exc}); the file may be truncated") from None


def read_frames(path: str | os.PathLike, start: int = 0, stop: int | None = None,
                times: Sequence[int] = ()) -> Iterator[np.ndarray]:
    """The frames of :func:`numbered_frames`, without their numbers."""
    for _, frame in numbered_frames(path, start, stop, times):
        yield frame


def _container(path: str | os.PathLike):
    """A new output file, its format by extension (mp4 unless .mkv or .mov)."""
    import av

    return av.open(str(path), mode="w", format={".mkv": "matroska", ".mov": "mov"}.get(Path(path).suffix.lower(),
                                                                                        "mp4"))


class _AudioCopy:
    """The audio packets of ``source`` (if it has audio) copied into ``container``, interleaved by time."""

    def __init__(self, container, source: str | os.PathLike | None) -> None:
        import av

        self.container, self._in, self._out, self._packets, self._pending = container, None, None, iter(()), None
        if source is not None:
            opened = av.open(str(source))
            if opened.streams.audio:
                self._in = opened
                self._out = container.add_stream_from_template(opened.streams.audio[0])
                self._packets = (p for p in opened.demux(opened.streams.audio[0]) if p.dts is not None)
            else:
                opened.close()

    def until(self, seconds: float | None) -> None:
        """Copy audio packets whose start time is at most ``seconds`` (all of them for None)."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            packet = self._pending
            if seconds is not None and float(packet.pts * packet.time_base) > seconds:
                return
            packet.stream = self._out
            self.container.mux(packet)
            self._pending = None

    def close(self) -> None:
        if self._in is not None:
            self._in.close()


class VideoWriter:
    """H.264 (yuv420p) encoder that also copies the audio packets of ``audio_from`` (interleaved by time).

    Sides are cropped to even numbers, as yuv420p requires. Use as a context manager; ``write`` RGB uint8
    frames in order.
    """

    def __init__(self, path: str | os.PathLike, fps: Fraction, width: int, height: int,
                 audio_from: str | os.PathLike | None = None, crf: int = 18) -> None:
        self.container = _container(path)
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf), "preset": "veryfast"}
        self.fps = fps
        self.count = 0
        self._audio = _AudioCopy(self.container, audio_from)

    def write(self, frame: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 RGB frame."""
        import av

        self._audio.until(self.count / self.fps)
        image = np.ascontiguousarray(frame[:self.stream.height, :self.stream.width])
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        for packet in self.stream.encode(video_frame):
            self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio and close the files."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self._audio.until(None)
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the files without flushing the encoder or copying the rest of the audio (for a file that is
        thrown away, or once :meth:`close` has flushed)."""
        self.container.close()
        self._audio.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:  # a failed or interrupted job's file is thrown away
            self.discard()


def join_segments(parts: Sequence[tuple[str | os.PathLike, int]], path: str | os.PathLike, fps: Fraction,
                  audio_from: str | os.PathLike | None = None) -> None:
    """Write video segments (files of (path, frames) that :class:`VideoWriter` made, video only, same size and
    rate) one after another into ``path``, without encoding again, with the audio of ``audio_from``."""
    import av

    out = _container(path)
    try:
        with av.open(str(parts[0][0])) as first:
            stream = out.add_stream_from_template(first.streams.video[0])
        audio = _AudioCopy(out, audio_from)
        done = 0
        for part, frames in parts:
            with av.open(str(part)) as segment:
                source = segment.streams.video[0]
                shift = round(Fraction(done) / fps / source.time_base)  # the segment's start, in its time base
                for packet in segment.demux(source):
                    if packet.dts is None:
                        continue
                    audio.until(float((packet.pts + shift) * packet.time_base))
                    packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                    packet.stream = stream
                    out.mux(packet)
            done += frames
        audio.until(None)
        audio.close()
    finally:
        out.close()
