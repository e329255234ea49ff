"""Video jobs refuse what they cannot finish before writing anything: damaged inputs, bad settings, a second
job on the same output, frames too large for memory; interrupts never leave a half-written video."""
from __future__ import annotations

import os
import threading

import av
import numpy as np
import pytest
import torch

from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.io import outputs
from stylekit.optim import Callback, ItemProgress
from stylekit.videos import probe, read_frames, run_video
from stylekit.videos.clips import make_clip
from stylekit.videos import stylize
from stylekit.videos.stylize import FrameStylizer, job_lock, segments, work_dir


def _remux(source, target, packet=lambda p: p, **options) -> None:
    """Copy every stream of ``source`` into ``target`` (container from its extension), passing each packet
    through ``packet``."""
    with av.open(str(source)) as src, av.open(str(target), "w", options=options) as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for p in src.demux():
            if p.dts is not None:
                index = p.stream.index
                p = packet(p)
                p.stream = streams[index]
                dst.mux(p)


@pytest.fixture
def clip(tmp_path, sample_images):
    """24 frames (2 s) of 48x32 with sound, moov at the end."""
    path = tmp_path / "clip.mp4"
    make_clip(sample_images / "landscape.jpg", path, "pan", frames=24, size=(48, 32), fps=12)
    return path


def _run(tmp_path, capsys, *args: str) -> tuple[int, str]:
    """Run ``stylekit video`` with -o tmp_path/out.mp4; the exit code and stderr."""
    code = main(["video", *map(str, args), "-o", str(tmp_path / "out.mp4"), "-q"])
    return code, capsys.readouterr().err.strip()


def _refused(tmp_path, capsys, before: set, *args: str) -> str:
    """Assert the job exits 2 with one line and leaves ``tmp_path`` as it was; the message."""
    code, err = _run(tmp_path, capsys, *args)
    assert code == 2 and err.startswith("stylekit") and len(err.splitlines()) == 1, err
    assert set(tmp_path.iterdir()) == before
    return err


@pytest.mark.parametrize("kind", ["mkv", "faststart mp4", "mp4"])
def test_a_truncated_video_is_refused_before_any_work(clip, tmp_path, style_path, capsys, kind):
    whole = clip if kind == "mp4" else tmp_path / ("whole.mkv" if kind == "mkv" else "whole.mp4")
    if kind != "mp4":  # a faststart MP4 has its index first; Matroska needs none
        _remux(clip, whole, **({"movflags": "faststart"} if kind == "faststart mp4" else {}))
    assert probe(whole).frames == 24
    cut = tmp_path / f"cut{whole.suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), cut, style_path)
    assert "truncated" in err or "not a video" in err  # moov at the end: the cut file has no index at all


def test_a_video_stream_without_frames_is_refused(tmp_path, style_path, capsys):
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as container:  # a video stream that never gets a frame, and a second of sound
        video = container.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        video.codec_context.open()
        sound = container.add_stream("aac", rate=44100)
        sound.layout = "mono"
        for i in range(44):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, i * 1024
            for packet in sound.encode(chunk):
                container.mux(packet)
        for stream in (sound, video):
            for packet in stream.encode():
                container.mux(packet)
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), empty, style_path)
    assert "no frames" in err


def test_a_video_stream_in_an_unknown_codec_is_refused(clip, tmp_path, style_path, capsys):
    mkv = tmp_path / "clip.mkv"
    _remux(clip, mkv)
    data = mkv.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    unknown = tmp_path / "unknown.mkv"
    unknown.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/QQQ"))  # a codec id FFmpeg does not know
    with av.open(str(unknown)) as container:
        assert container.streams.video[0].codec_context is None
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), unknown, style_path)
    assert "cannot decode" in err


def test_frames_that_fail_to_decode_leave_no_output_and_no_work_folder(clip, tmp_path, style_path, weights_dir,
                                                                      capsys):
    def zeroed(packet):
        if packet.stream.type != "video":
            return packet
        blank = av.Packet(bytes(packet.size))
        blank.pts, blank.dts, blank.duration, blank.time_base = packet.pts, packet.dts, packet.duration, \
            packet.time_base
        return blank

    broken = tmp_path / "broken.mkv"
    _remux(clip, broken, zeroed)
    assert probe(broken).frames == 24  # whole and indexed: only decoding can tell
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), broken, style_path)
    assert "decoding failed" in err


def test_no_decoded_frame_is_an_error_not_an_empty_video(clip, tmp_path, style_path, weights_dir, monkeypatch):
    monkeypatch.setattr("stylekit.videos.stylize.numbered_frames", lambda path, start=0, stop=None: iter(()))
    before = set(tmp_path.iterdir())
    with pytest.raises(StylekitError, match="none of its 24 frames"):
        run_video(clip, style_path, tmp_path / "out.mp4")
    assert set(tmp_path.iterdir()) == before


@pytest.mark.parametrize("case, args, message", [
    ("style is not an image", [], "not an image"),
    ("alpha 2", ["--alpha", "2"], "--alpha"),
    ("cuda without CUDA", ["--device", "cuda"], "CUDA"),
    ("missing weights folder", ["--weights-dir", "no-weights"], "weights folder"),
    ("output is the input", ["-o", "clip.mp4"], "is one of the inputs"),
    ("output is a folder", ["-o", "."], "is a folder"),
    ("output folder missing", ["-o", "missing/out.mp4"], "does not exist"),
])
def test_every_setting_is_checked_before_anything_is_created(clip, tmp_path, style_path, capsys, monkeypatch, case,
                                                             args, message):
    if case == "cuda without CUDA" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.delenv("STYLEKIT_WEIGHTS_DIR", raising=False)  # no model is needed: each case stops before it
    monkeypatch.chdir(tmp_path)
    style = style_path
    if case == "style is not an image":
        style = tmp_path / "style.jpg"
        style.write_text("not an image")
    before = set(tmp_path.iterdir())
    code = main(["video", str(clip), str(style), "-o", "out.mp4", *args, "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert set(tmp_path.iterdir()) == before


class _Hold(Callback):
    """Stops its job after the first frame until ``release`` is set."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()

    def on_item(self, progress: ItemProgress) -> None:
        self.started.set()
        assert self.release.wait(120)


def test_a_second_job_on_the_same_output_is_refused_and_the_first_finishes(clip, tmp_path, style_path, weights_dir,
                                                                           capsys):
    out, hold, result = tmp_path / "out.mp4", _Hold(), []
    first = threading.Thread(target=lambda: result.append(run_video(clip, style_path, out, callbacks=[hold])))
    first.start()
    try:
        assert hold.started.wait(120)
        code, err = _run(tmp_path, capsys, clip, style_path)
        assert code == 2 and len(err.splitlines()) == 1
        assert f"another stylekit video is writing {out} (pid " in err and "choose another -o" in err
        assert (work_dir(out) / "job.json").is_file()  # the first job's folder is untouched
    finally:
        hold.release.set()
        first.join()
    assert result == [out] and len(list(read_frames(out))) == 24 and not work_dir(out).exists()


def test_thejob_lock(tmp_path):
    out = tmp_path / "out.mp4"
    work = work_dir(out)
    with job_lock(work, out):
        with pytest.raises(StylekitError, match=r"\(pid \d+\)"):
            with job_lock(work, out):
                pass
    with job_lock(work, out):  # the lock file stays (a killed job's does too); it is free again
        pass
    with job_lock(work, out):
        work.joinpath("lock").unlink()  # a finishing job removes its folder while it holds the lock
        work.rmdir()
        with job_lock(work, out):  # a new job makes it again
            assert work.joinpath("lock").is_file()


def test_a_lock_whose_holder_finished_meanwhile_is_not_kept(tmp_path, monkeypatch):
    out = tmp_path / "out.mp4"
    work = work_dir(out)
    lock = outputs.fcntl.flock
    calls = []

    def holder_finishes_first(fd, operation):  # the holder removes the folder just before this flock gets it
        if not calls:
            (work / "lock").unlink()
            work.rmdir()
        calls.append(operation)
        lock(fd, operation)

    monkeypatch.setattr(outputs.fcntl, "flock", holder_finishes_first)
    with job_lock(work, out):
        assert len(calls) == 2 and (work / "lock").read_text() == str(os.getpid())


def test_frames_too_thin_for_the_models_are_refused(tmp_path, style_path, sample_images, capsys):
    strip = tmp_path / "strip.mp4"
    make_clip(sample_images / "landscape.jpg", strip, frames=3, size=(96, 8), audio=False)
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), strip, style_path)
    assert "strip.mp4 is 96x8 px" in err and "at least 16 px" in err


def test_frames_too_large_for_memory_are_refused_with_a_size_that_fits(clip, tmp_path, style_path, weights_dir,
                                                                       capsys, monkeypatch):
    monkeypatch.setattr("stylekit.videos.stylize.available_memory", lambda device: 2_000_000)
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), clip, style_path, "--size", "8192")
    assert "8192x5460 frame needs about" in err and "free on cpu" in err
    size = int(err.split("use --size ")[1].split()[0])
    assert 16 <= size < 8192
    code, err = _run(tmp_path, capsys, clip, style_path, "--size", size, "--max-frames", "2")
    assert code == 0, err
    assert len(list(read_frames(tmp_path / "out.mp4"))) == 2
    code, err = _run(tmp_path, capsys, clip, style_path, "--size", size + 2, "--max-frames", "2")
    assert code == 2 and "use --size" in err


def test_gatys_frames_are_checked_against_memory_too(clip, tmp_path, style_path, capsys, monkeypatch):
    monkeypatch.setattr("stylekit.planning.memory.available_memory", lambda device: 1)
    err = _refused(tmp_path, capsys, set(tmp_path.iterdir()), clip, style_path, "--method", "transfer")
    assert "GiB is free on cpu" in err


def test_an_interrupt_while_the_model_loads_leaves_nothing(clip, tmp_path, style_path, monkeypatch, capsys):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("stylekit.feedforward.FastStylizer.__init__", interrupted)
    before = set(tmp_path.iterdir())
    code, err = _run(tmp_path, capsys, clip, style_path)
    assert code == 130 and "nothing written" in err and set(tmp_path.iterdir()) == before


def test_an_interrupt_before_the_first_frame_is_done_leaves_nothing(clip, tmp_path, style_path, weights_dir,
                                                                    monkeypatch, capsys):
    def interrupted(self, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(FrameStylizer, "__call__", interrupted)
    before = set(tmp_path.iterdir())
    code, err = _run(tmp_path, capsys, clip, style_path)
    assert code == 130 and "nothing written" in err and set(tmp_path.iterdir()) == before


def test_an_interrupt_while_joining_writes_no_video_and_keeps_the_frames(clip, tmp_path, style_path, weights_dir,
                                                                        monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    out, before = tmp_path / "out.mp4", set(tmp_path.iterdir())
    with monkeypatch.context() as patch:
        patch.setattr(stylize, "join_segments", interrupted)  # Ctrl-C while the segments become the video
        code, err = _run(tmp_path, capsys, clip, style_path)
    assert code == 130 and "interrupted after 24 frames; 24 finished frames are kept" in err
    assert set(tmp_path.iterdir()) == before | {work_dir(out)}  # no video, whole or partial, and no temporary file
    assert sum(count for _, count in segments(work_dir(out))) == 24
    calls = []
    monkeypatch.setattr(FrameStylizer, "__call__", lambda self, *args: calls.append(1))
    code, err = _run(tmp_path, capsys, clip, style_path)
    assert code == 0 and calls == [] and len(list(read_frames(out))) == 24 and not work_dir(out).exists()
