"""Batch jobs without Ray: worker planning, chunking, addresses, the checks made before Ray starts, the video
chunk worker run in this process, and the folder walk."""
from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from stylekit.cli import main
from stylekit.cluster import Cluster, plan_workers
from stylekit.cluster.engine import _host_port, chunk_bounds, even_chunk, import_ray
from stylekit.cluster.workers import ChunkWorker, ImageWorker, frames_peak, worker_peak
from stylekit.errors import StylekitError
from stylekit.io import image_tree
from stylekit.options import FastOptions, TransferOptions, VideoOptions, registry
from stylekit.videos.clips import make_clip
from stylekit.videos.io import probe, read_frames
from tests.conftest import pattern

GIB = 2**30


def _cluster(cpus: float = 8, memory: int = 16 * GIB, gpus: float = 0, address: str | None = None,
             node_cpus: float | None = None, node_memory: int | None = None) -> Cluster:
    return Cluster(address, cpus, gpus, memory, node_cpus or cpus, node_memory or memory)


def test_workers_fill_the_cores_and_stop_at_the_memory():
    plan, notes = plan_workers(_cluster(cpus=8, memory=16 * GIB), GIB, items=100)
    assert (plan.workers, plan.cpus, plan.memory, notes) == (8, 1, GIB, [])
    plan, notes = plan_workers(_cluster(cpus=8, memory=16 * GIB), 5 * GIB, items=100)
    assert plan.workers == 3 and plan.cpus == 2  # this machine's cores are shared among the workers that fit
    plan, notes = plan_workers(_cluster(cpus=8, memory=16 * GIB), 5 * GIB, items=100, workers=6)
    assert plan.workers == 3 and "6 workers asked, 3 fit (memory" in notes[0]


def test_workers_never_outnumber_the_items_and_get_their_cores():
    plan, _ = plan_workers(_cluster(cpus=2), GIB, items=1)
    assert (plan.workers, plan.cpus) == (1, 2)
    plan, _ = plan_workers(_cluster(cpus=2), GIB, items=5, workers=1)
    assert (plan.workers, plan.cpus) == (1, 2)
    plan, _ = plan_workers(_cluster(cpus=8), GIB, items=5, workers=2, cpus_per_worker=1)
    assert (plan.workers, plan.cpus) == (2, 1)


def test_a_cluster_gives_one_core_each_and_counts_gpus():
    cluster = _cluster(cpus=64, memory=256 * GIB, gpus=4, address="ray://head:10001", node_cpus=16)
    plan, _ = plan_workers(cluster, 2 * GIB, items=1000)
    assert (plan.workers, plan.cpus, plan.gpus) == (64, 1, 0)
    plan, _ = plan_workers(cluster, 2 * GIB, items=1000, gpus_per_worker=0.5)
    assert (plan.workers, plan.gpus) == (8, 0.5)
    with pytest.raises(StylekitError, match="largest node .* has 16: use cpus_per_worker 16"):
        plan_workers(cluster, GIB, items=10, cpus_per_worker=32)
    with pytest.raises(StylekitError, match="this machine has 0 GPUs: drop gpus_per_worker"):
        plan_workers(_cluster(), GIB, items=10, gpus_per_worker=1)
    with pytest.raises(StylekitError, match="has 4 GPUs: give at most gpus_per_worker 4"):
        plan_workers(cluster, GIB, items=10, gpus_per_worker=8)


def test_a_worker_larger_than_any_node_reserves_a_whole_node():
    plan, notes = plan_workers(_cluster(cpus=8, memory=4 * GIB), 10 * GIB, items=10)
    assert (plan.workers, plan.memory) == (1, 4 * GIB) and "one worker per node" in notes[0]


def test_chunks_cover_the_frames_and_leave_each_worker_several():
    assert chunk_bounds(25, 10) == [(0, 10), (10, 20), (20, 25)]
    assert even_chunk(1000, 4, 8) == 63  # about four chunks per worker
    assert even_chunk(40, 2, 8) == 32  # at least four overlaps long
    assert even_chunk(10, 2, 8) == 10


def test_peaks_grow_with_the_image_and_the_chunk():
    small, large = worker_peak("fast", FastOptions(), (256, 256)), worker_peak("fast", FastOptions(), (2048, 2048))
    assert large > small > 512 * 2**20
    assert worker_peak("fast", FastOptions(content_size=256), (2048, 2048)) == small
    opts = TransferOptions(size=256)
    larger = TransferOptions(size=1024)
    assert worker_peak("transfer", opts, (1000, 1000), [(512, 512)]) < worker_peak("transfer", larger, (1000, 1000),
                                                                                   [(512, 512)])
    video = VideoOptions(fast=FastOptions(model="microast"))
    assert frames_peak(video, (360, 640), []) > worker_peak("fast", video.fast, (360, 640))
    assert frames_peak(video, (720, 1280), []) > frames_peak(video, (360, 640), [])


@pytest.mark.parametrize("address, target", [
    ("ray://head", ("head", 10001)), ("ray://10.0.0.5:2000", ("10.0.0.5", 2000)), ("head:6380", ("head", 6380)),
    ("head", ("head", 6379)), ("auto", None), ("ray://[::1]:10001", ("::1", 10001))])
def test_addresses(address, target):
    assert _host_port(address) == target


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(pattern(40, 0)).save(folder / "a.png")
    Image.fromarray(pattern(40, 1)).save(folder / "sub" / "b.jpg")
    return folder


@pytest.mark.parametrize("address", ["ray://127.0.0.1:1", "127.0.0.1:1"])
def test_an_address_that_does_not_answer_is_one_line(photos, style_path, tmp_path, capsys, address, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["batch", str(photos), str(style_path), "-o", str(tmp_path / "out"), "--address", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot reach the Ray cluster at {address}" in err and "ray start --head" in err
    assert not (tmp_path / "out").exists()


def test_an_address_from_the_environment_is_used(photos, style_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "ray://127.0.0.1:1")
    assert main(["batch", str(photos), str(style_path), "-o", str(tmp_path / "out")]) == 2
    assert "cannot reach the Ray cluster at ray://127.0.0.1:1" in capsys.readouterr().err


def test_without_ray_the_command_says_how_to_install_it(photos, style_path, tmp_path, capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else find_spec(name, *a))
    assert main(["batch", str(photos), str(style_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'stylekit[cluster]'" in err
    monkeypatch.setitem(sys.modules, "ray", None)  # the Python API finds out on import
    with pytest.raises(StylekitError, match=r"stylekit\[cluster\]"):
        import_ray()


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"], "--workers: must be between 1 and 100000, got 0"),
    (["--method", "bogus"], "invalid choice: 'bogus'"),
    (["--gpus-per-worker", "-1"], "--gpus-per-worker: must be between 0 and 64, got -1"),
    (["--temporal-weight", "3"], "--temporal-weight must be between 0 and 1"),
])
def test_bad_options_are_one_line_before_ray(photos, style_path, tmp_path, capsys, argv, message):
    assert main(["batch", str(photos), str(style_path), "-o", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "out").exists()


def test_inputs_and_outputs_are_checked_before_ray(photos, style_path, tmp_path, capsys):
    def run(*argv: str) -> str:
        assert main(["batch", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        return err

    assert "no such file or folder" in run(str(tmp_path / "nope"), str(style_path), "-o", str(tmp_path / "o"))
    assert "is the input folder" in run(str(photos), str(style_path), "-o", str(photos))
    (photos / "photos").mkdir()  # photos/photos/a.png's result would be photos/a.png
    Image.fromarray(pattern(40, 2)).save(photos / "photos" / "a.png")
    assert "would replace an input: choose an -o outside" in run(str(photos), str(style_path), "-o", str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no images" in run(str(empty), str(style_path), "-o", str(tmp_path / "o"))
    assert "give at least one style image" in run(str(photos), "--method", "transfer", "-o", str(tmp_path / "o"))
    assert "give at least one style image, or a built-in" in run(str(photos), "-o", str(tmp_path / "o"))
    assert "missing.png: no such file" in run(str(photos), str(tmp_path / "missing.png"), "-o", str(tmp_path / "o"))
    styled = tmp_path / "o"
    styled.mkdir()
    Image.fromarray(pattern(40, 3)).save(styled / "a.png")  # a style image where photos/a.png's result would go
    assert "would replace a style image" in run(str(photos), str(styled / "a.png"), "-o", str(styled))
    assert "--gpus-per-worker" in run(str(photos), str(style_path), "-o", str(tmp_path / "o"), "--device", "cuda")
    (tmp_path / "file").write_text("x")
    assert "is a file: give a folder" in run(str(photos), str(style_path), "-o", str(tmp_path / "file"))
    assert "does not exist" in run(str(photos), str(style_path), "-o", str(tmp_path / "no" / "such" / "o"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "o", "photos", "style.png"]


def test_a_video_result_never_replaces_the_video(tmp_path, style_path, capsys):
    clip = tmp_path / "clip.mp4"
    make_clip(pattern(96, 0), clip, "pan", frames=4, size=(64, 48), fps=8, audio=False)
    for extra in ([], ["--overwrite"]):
        assert main(["batch", str(clip), str(style_path), "-o", str(tmp_path), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "would replace an input" in err
    assert probe(clip).frames == 4


def test_an_abbreviated_method_is_refused_rather_than_misread(photos, style_path, tmp_path, capsys):
    assert main(["batch", str(photos), str(style_path), "-o", str(tmp_path / "o"), "--meth", "transfer"]) == 2
    assert "unrecognized arguments: --meth" in capsys.readouterr().err


def test_help_offers_the_methods_own_options(capsys):
    assert main(["batch", "--help"]) == 0
    fast_help = capsys.readouterr().out
    assert all(flag in fast_help for flag in ("--model", "--address", "--workers", "--gpus-per-worker", "--overwrite",
                                              "--chunk-frames", "--overlap"))
    assert "--style-weight" not in fast_help
    assert main(["batch", "--method", "transfer", "--help"]) == 0
    transfer_help = capsys.readouterr().out
    assert "--style-weight" in transfer_help and "--preset" in transfer_help and "--model {" not in transfer_help


def test_the_folder_walk_skips_hidden_files_and_the_output_folder(tmp_path):
    root = tmp_path / "in"
    for rel in ("a.png", "deep/er/b.JPG", ".hidden.png", ".cache/c.png", "out/d.png", "notes.txt", "e.webp"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    files, notes = image_tree(root, skip=root / "out")
    assert [p.relative_to(root).as_posix() for p in files] == ["a.png", "deep/er/b.JPG", "e.webp"] and notes == []


def test_a_chunk_warmed_up_on_earlier_frames_continues_the_sequential_video(tmp_path, weights_dir):
    """The chunk worker's frames from a chunk's start equal those of one run through the whole video (within a
    level) when it first runs the overlap frames before it; without them its first frames differ."""
    clip = tmp_path / "clip.mp4"
    make_clip(pattern(96, 0), clip, "pan", frames=20, size=(96, 64), fps=12, audio=False)
    info = probe(clip)
    options = VideoOptions(fast=FastOptions(model="microast", weights_dir=str(weights_dir)))
    worker = ChunkWorker(options, [Image.fromarray(pattern(64, 1, "style"))], str(clip), info.times, (64, 96), 2)

    def frames(warm: int, start: int, stop: int) -> dict[int, np.ndarray]:
        rows = list(worker({"chunk": np.array([0]), "warm": np.array([warm]), "start": np.array([start]),
                            "stop": np.array([stop])}))  # one row per frame, as each is done
        assert all(row["error"] == [""] and len(row["index"]) == 1 for row in rows)
        return {row["index"][0]: np.asarray(Image.open(io.BytesIO(row["png"][0]))).astype(float) for row in rows}

    whole = frames(0, 0, 18)
    warmed, cold = frames(4, 12, 18), frames(12, 12, 18)
    assert sorted(warmed) == sorted(cold) == list(range(12, 18))
    assert np.abs(warmed[12] - whole[12]).max() <= 2 and np.abs(warmed[17] - whole[17]).mean() < 0.1
    assert np.abs(cold[12] - whole[12]).mean() > 10 * np.abs(warmed[12] - whole[12]).mean()


def test_a_chunk_that_cannot_be_read_fails_alone(tmp_path, weights_dir):
    options = VideoOptions(fast=FastOptions(model="microast", weights_dir=str(weights_dir)))
    worker = ChunkWorker(options, [Image.fromarray(pattern(64, 1, "style"))], str(tmp_path / "gone.mp4"), [],
                         (64, 96), 1)
    rows = list(worker({"chunk": np.array([3]), "warm": np.array([0]), "start": np.array([0]),
                        "stop": np.array([4])}))
    assert len(rows) == 1 and rows[0]["chunk"] == [3] and rows[0]["index"] == [-1]
    assert "no such file" in rows[0]["error"][0]


def test_the_image_worker_reports_a_broken_file_and_keeps_going(tmp_path, weights_dir):
    good, broken = tmp_path / "good.jpg", tmp_path / "broken.png"
    Image.fromarray(pattern(40, 0)).save(good)
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    worker = ImageWorker(registry.METHODS["fast"], FastOptions(weights_dir=str(weights_dir)),
                         [Image.fromarray(pattern(48, 1, "style"))], 1)
    out = worker({"source": np.array([str(broken), str(good)]), "key": np.array(["broken.png", "good.jpg"])})
    assert out["key"] == ["broken.png", "good.jpg"]
    assert out["data"][0] == b"" and "damaged or truncated" in out["error"][0]
    assert out["error"][1] == "" and out["data"][1][:3] == b"\xff\xd8\xff"  # a JPEG, like its input


def test_frames_from_the_middle_seek_to_the_same_pictures(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(pattern(96, 0), clip, "object", frames=30, size=(64, 48), fps=10, audio=False)
    info = probe(clip)
    every = list(read_frames(clip))
    for start, stop in ((0, 5), (11, 19), (25, None), (29, 30)):
        got = list(read_frames(clip, start, stop, info.times))
        assert len(got) == len(every[start:stop]) and all(np.array_equal(a, b) for a, b in zip(got, every[start:stop]))
    assert all(np.array_equal(a, b) for a, b in zip(read_frames(clip, 7, 9), every[7:9]))  # without times


def test_a_reports_lines_name_options_as_each_face_does(tmp_path):
    from stylekit.cluster.jobs import BatchReport
    from stylekit.options import cli_flags

    report = BatchReport(tmp_path, failed=[("a.jpg", "a 9000x9000 step needs about 60 GiB: use `size` 480 or less")],
                         stopped="some images not done: lower `style_scale`")
    cli = report.in_words(cli_flags(TransferOptions))
    assert cli.failed == [("a.jpg", "a 9000x9000 step needs about 60 GiB: use --size 480 or less")]
    assert cli.stopped == "some images not done: lower --style-scale"
    assert report.in_words().failed[0][1].endswith("use size 480 or less")


def test_a_second_job_into_a_folder_a_running_job_holds_is_refused_before_ray_starts(tmp_path, style_path,
                                                                                     monkeypatch):
    import stylekit
    from stylekit.cluster import jobs
    from stylekit.videos.stylize import job_lock

    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    Image.fromarray(pattern(40, 0)).save(photos / "a.png")
    monkeypatch.setattr(jobs, "ray_session", lambda *a, **k: pytest.fail("Ray must not start"))
    with job_lock(out, out, jobs.BATCH_LOCK, "stylekit batch", remove=True):  # the running job
        with pytest.raises(StylekitError, match=rf"another stylekit batch is writing {out} \(pid \d+\): wait for "
                                                r"it or choose another -o"):
            stylekit.batch(photos, style_path, out, model="microast")
        assert (out / jobs.BATCH_LOCK).exists()
    assert not (out / jobs.BATCH_LOCK).exists() and list(out.iterdir()) == []  # the lock leaves with its job
