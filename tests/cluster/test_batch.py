"""Batch jobs on a real Ray started once for this module on this machine's cores: a folder with a broken file, a
rerun, --overwrite, an interrupted job, the transfer method, and a video in chunks."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import stylekit
from stylekit.cli import main
from stylekit.cluster import ray_session
from stylekit.feedforward import FastStylizer
from stylekit.optim import Callback
from stylekit.options import FastOptions
from stylekit.videos.clips import make_clip
from stylekit.videos.io import probe, read_frames
from tests.conftest import pattern

GOOD = ["a.png", "b.jpg", "c.png", "d.webp", "e.png", "f.jpeg", "sub/g.png", "sub/h.jpg", "sub/deeper/i.png",
        "sub/deeper/j.bmp", "k.tif"]


@pytest.fixture(scope="module")
def local_ray():
    """One Ray for the module (its start-up is the slow part); the jobs join it and leave it running."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAY_ADDRESS", raising=False)
        with ray_session() as cluster:
            yield cluster


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A dozen small synthetic images in nested folders, in six formats, one of them broken."""
    folder = tmp_path / "photos"
    for i, rel in enumerate(GOOD):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pattern(40 + 4 * i, i)).save(path)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return folder


def _run(*argv: str) -> int:
    return main(["batch", *argv, "--model", "microast", "-q"])


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_folder_with_a_broken_file(local_ray, photos, style_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(str(photos), str(style_path), "-o", str(out)) == 1
    err = capsys.readouterr().err
    assert _files(out) == sorted(GOOD)  # 11 results, each at its input's path with its extension; no temporary file
    for rel in GOOD:
        with Image.open(out / rel) as result, Image.open(photos / rel) as source:
            assert result.size == source.size and result.format == source.format
    assert "done: 11 written to" in err and "skipped: 0" in err and "failed: 1\n  broken.png: " in err
    assert "is not an image PIL can read" in err and "Traceback" not in err

    inodes = {rel: os.stat(out / rel).st_ino for rel in GOOD}
    # a rerun skips all the results; the broken file fails again
    assert _run(str(photos), str(style_path), "-o", str(out)) == 1
    err = capsys.readouterr().err
    assert "done: 0 written" in err and "skipped: 11" in err and "failed: 1" in err
    assert {rel: os.stat(out / rel).st_ino for rel in GOOD} == inodes

    (photos / "broken.png").unlink()
    assert _run(str(photos), str(style_path), "-o", str(out)) == 0
    assert _run(str(photos), str(style_path), "-o", str(out), "--overwrite", "--workers", "1") == 0
    err = capsys.readouterr().err
    assert all(os.stat(out / rel).st_ino != inodes[rel] for rel in GOOD) and "failed" not in err


def test_results_are_those_of_the_fast_command(local_ray, photos, style_path, tmp_path):
    out = tmp_path / "out"
    report = stylekit.batch(photos / "sub", style_path, out, model="microast", workers=2)
    assert report.ok and sorted(p.relative_to(out).as_posix() for p in report.done) == [
        "deeper/i.png", "deeper/j.bmp", "g.png", "h.jpg"]
    expected = FastStylizer([style_path], FastOptions(model="microast")).stylize_image(
        photos / "sub" / "g.png")
    got = np.asarray(Image.open(out / "g.png"), dtype=float)
    assert np.abs(got - np.asarray(expected, dtype=float)).max() <= 1  # the same model; threads may round apart


def test_an_interrupted_job_keeps_what_was_finished_and_a_rerun_finishes_it(local_ray, photos, style_path, tmp_path):
    (photos / "broken.png").unlink()
    out = tmp_path / "out"

    class StopAfterThree(Callback):
        def on_item(self, progress):
            self.total = progress.total
            if progress.done == 3:
                raise KeyboardInterrupt

    stop = StopAfterThree()
    report = stylekit.batch(photos, style_path, out, model="microast", callbacks=[stop],
                            workers=1)
    assert report.interrupted and not report.ok and len(report.done) == 3 and stop.total == 11
    assert _files(out) == sorted(p.relative_to(out).as_posix() for p in report.done)
    report = stylekit.batch(photos, style_path, out, model="microast")
    assert report.ok and len(report.skipped) == 3 and len(report.done) == 8 and _files(out) == sorted(GOOD)


def test_workers_that_cannot_start_stop_the_job_in_one_line(local_ray, photos, style_path, tmp_path, capsys,
                                                            weights_dir):
    broken = tmp_path / "broken-weights"
    shutil.copytree(weights_dir / "microast", broken / "microast")
    bad = broken / "microast" / "decoder_iter_160000.pth.tar"
    bad.chmod(0o644)
    bad.write_bytes(b"not the weights")
    assert main(["batch", str(photos), str(style_path), "-o", str(tmp_path / "out"), "--weights-dir", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "stylekit: error: the workers stopped: " in err and "is corrupted" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # the folder it made, still empty, is gone


def test_the_transfer_method(local_ray, style_path, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(pattern(48, i)).save(folder / f"p{i}.png")
    out = tmp_path / "out"
    assert main(["batch", str(folder), str(style_path), "-o", str(out), "--method", "transfer", "--backbone", "scratch",
                 "--size", "32", "--steps", "3", "--seed", "1"]) == 0
    err = capsys.readouterr().err
    assert "2 images on this machine" in err and "done: 2 written" in err
    for i in range(2):
        result = np.asarray(Image.open(out / f"p{i}.png"), dtype=float)
        source = np.asarray(Image.open(folder / f"p{i}.png").resize((32, 32)), dtype=float)
        assert result.shape == (32, 32, 3) and np.abs(result - source).mean() > 1  # stylised, at --size


def test_a_video_in_chunks_keeps_its_frames_rate_and_audio(local_ray, style_path, tmp_path, capsys, sample_images):
    clip = tmp_path / "clip.mp4"
    make_clip(sample_images / "landscape.jpg", clip, "pan", frames=36, size=(96, 64), fps=12)
    out = tmp_path / "out"
    assert _run(str(clip), str(style_path), "-o", str(out), "--chunk-frames", "10", "--overlap", "4") == 0
    info = probe(out / "clip.mp4")
    assert (info.frames, info.fps, info.has_audio, info.width, info.height) == (36, 12, True, 96, 64)
    assert _files(out) == ["clip.mp4"]  # the work folder of finished frames is gone
    frames = list(read_frames(out / "clip.mp4"))
    assert len(frames) == 36 and np.abs(frames[20].astype(float) - frames[19]).mean() < 20
    assert main(["batch", str(clip), str(style_path), "-o", str(out)]) == 0
    assert "skipped: 1 (their results exist" in capsys.readouterr().err  # done already


def test_an_interrupted_video_resumes_its_chunks(local_ray, style_path, tmp_path, sample_images):
    clip = tmp_path / "clip.mp4"
    make_clip(sample_images / "portrait.jpg", clip, "object", frames=24, size=(64, 48), fps=8, audio=False)
    out = tmp_path / "out"

    class Stop(Callback):
        def on_item(self, progress):
            if progress.done == 13:
                raise KeyboardInterrupt

    common = {"model": "microast", "chunk_frames": 6, "workers": 1}
    report = stylekit.batch(clip, style_path, out, callbacks=[Stop()], **common)
    work = out / ".clip.mp4.frames"
    kept = {int(p.stem) for p in work.glob("0*.png")}
    assert report.interrupted and len(kept) == 13 and not (out / "clip.mp4").exists()
    whole = [k for k in range(4) if set(range(6 * k, 6 * k + 6)) <= kept]
    assert len(whole) >= 2
    totals = []

    class Count(Callback):
        def on_item(self, progress):
            totals.append(progress.total)

    report = stylekit.batch(clip, style_path, out, callbacks=[Count()], **common)
    assert report.ok and totals[-1] == 24 - 6 * len(whole)  # only the unfinished chunks ran again
    assert probe(out / "clip.mp4").frames == 24 and not work.exists()


def test_a_result_that_cannot_be_written_fails_alone(local_ray, photos, style_path, tmp_path, capsys):
    (photos / "broken.png").unlink()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the results' subfolder would go")
    assert _run(str(photos), str(style_path), "-o", str(out)) == 1
    err = capsys.readouterr().err
    assert "done: 7 written" in err and "failed: 4" in err and err.count("cannot write") == 4
    assert "Traceback" not in err and (out / "a.png").is_file()
