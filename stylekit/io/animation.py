"""Writing frame sequences: animated GIF (Pillow) or MP4 (PyAV), atomically."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ..errors import StylekitError
from .outputs import check_output_path, write_atomic

ANIMATION_FORMATS = (".gif", ".mp4")


def check_animation_path(path: str | Path) -> Path:
    """Validate an animation output path before any work."""
    return check_output_path(path, ANIMATION_FORMATS, "an animation")


def _write_mp4(frames: Sequence[Image.Image], path: Path, fps: int) -> None:
    import av

    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = (d - d % 2 for d in frames[0].size)  # yuv420p needs even sides
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            image = frame.convert("RGB").crop((0, 0, stream.width, stream.height))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def save_animation(frames: Sequence[Image.Image], path: str | Path, fps: int = 10) -> Path:
    """Write ``frames`` as a looping GIF or an H.264 MP4 (by the path's extension)."""
    out = check_animation_path(path)
    if not frames:
        raise StylekitError("no frames to write")
    if out.suffix.lower() == ".gif":
        rgb = [f.convert("RGB") for f in frames]
        return write_atomic(out, lambda tmp: rgb[0].save(tmp, format="GIF", save_all=True, append_images=rgb[1:],
                                                         duration=round(1000 / fps), loop=0))
    return write_atomic(out, lambda tmp: _write_mp4(frames, tmp, fps))
