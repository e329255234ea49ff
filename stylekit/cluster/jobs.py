"""Batch jobs on Ray: every image of a folder (and its subfolders), or a video cut into chunks of frames,
stylised by workers that each load the model once (:mod:`.workers`, planned by :mod:`.engine`).

This process checks everything it can before Ray starts, writes each result atomically as it arrives, named
by its input's path inside INPUT with the extension kept (so names never collide), and skips inputs whose
result exists, so a rerun resumes. A broken input fails alone; the report lists it.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import StylekitError, render
from ..io import IMAGE_SUFFIXES, ImageLike, check_writable_folder, image_tree, load_image, to_pil, write_atomic
from ..optim.callbacks import Callback, ItemProgress
from ..options import (INITS, WEIGHTS_ENV, BatchOptions, FastOptions, TransferOptions, VideoOptions,
                       keyword_options, make_options, specs, validate)
from ..options import registry
from ..options.registry import batch_methods
from ..videos.io import VideoInfo
from .engine import (Cluster, WorkerPlan, chunk_bounds, even_chunk, import_ray, plan_workers, ray_session,
                     stream_map)
from .workers import ChunkWorker, ImageWorker, frames_peak, worker_peak

FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}  # a write error no later write escapes
BATCH_LOCK = ".stylekit-batch.lock"  # held in the output folder while an image job writes into it


@dataclass
class BatchPlan:
    """What a job is about to do, told before its workers start."""

    inputs: int  # images (or frames) to stylise
    skipped: int  # whose result exists
    unit: str  # "image" or "frame"
    cluster: Cluster
    workers: WorkerPlan
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """The plan in words: how many inputs, where, on which workers."""
        return f"{self.inputs} {self.unit}{'s' * (self.inputs != 1)} on {self.cluster.where}: {self.workers.describe()}"


@dataclass
class BatchReport:
    """What a job did: the results written, the inputs skipped (their result existed), the inputs that failed
    with one line each, and, when it stopped early, why."""

    output: Path
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, why)
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Everything was stylised (or had been)."""
        return not self.failed and self.stopped is None and not self.interrupted

    def in_words(self, name: Callable[[str], str] | None = None) -> BatchReport:
        """This report with the options its lines name (by field) as one face names them (default: Python's
        keywords; the command line passes its flags)."""
        return dataclasses.replace(self, failed=[(item, render(why, name)) for item, why in self.failed],
                                   stopped=None if self.stopped is None else render(self.stopped, name))


def _load_styles(styles: Sequence[ImageLike]) -> list[Image.Image]:
    """The style images, decoded here (so workers need no copy of the files), alpha dropped."""
    return [to_pil(load_image(s, f"style image {i + 1}").rgb) for i, s in enumerate(styles)]


def _absolute(options: FastOptions | TransferOptions) -> FastOptions | TransferOptions:
    """The files the options name, as absolute paths: the workers may run in another folder or machine."""
    files = {f.name: getattr(options, f.name) for f, spec in specs(type(options))
             if spec.kind in ("path", "image") and isinstance(getattr(options, f.name), (str, os.PathLike))}
    if isinstance(options, TransferOptions) and options.init not in INITS:
        files["init"] = options.init
    if isinstance(options, FastOptions) and options.weights_dir is None and os.environ.get(WEIGHTS_ENV):
        files["weights_dir"] = os.environ[WEIGHTS_ENV]  # the workers may not share this environment
    if isinstance(options, FastOptions) and options.trained is not None:
        files["model"] = options.trained  # a trained model's file, found by its name or path here
    absolute = {k: str(Path(v).expanduser().resolve()) for k, v in files.items()}
    if getattr(options, "masks", None):
        absolute["masks"] = tuple(str(Path(m).expanduser().resolve()) if isinstance(m, (str, os.PathLike)) else m
                                  for m in options.masks)
    return dataclasses.replace(options, **absolute)


def _checked_options(method: str, options: FastOptions | TransferOptions | None, n_styles: int,
                     batch: BatchOptions) -> FastOptions | TransferOptions:
    """The method's options, validated for ``n_styles`` style images, with absolute paths and the device the
    workers will have."""
    methods = batch_methods()
    if method not in methods:
        raise StylekitError(f"unknown method {method!r}: choose one of {', '.join(methods)}")
    cls = methods[method]
    options = options if options is not None else cls()
    if not isinstance(options, cls):
        raise StylekitError(f"the {method} method takes {cls.__name__}, not {type(options).__name__}")
    if method == "fast":
        options = validate(options, n_styles=n_styles)
    else:
        options = validate(options)
        if n_styles < 1:
            raise StylekitError("give at least one style image")
    if options.device.startswith("cuda") and not batch.gpus_per_worker:
        raise StylekitError("workers get a GPU only with `gpus_per_worker`: give it (e.g. 1) instead of `device` "
                            f"{options.device}")
    if batch.gpus_per_worker and options.device == "cpu":
        options = dataclasses.replace(options, device="cuda")  # each worker sees its own GPU as cuda
    return _absolute(options)


def _output_folder(output_dir: str | os.PathLike) -> Path:
    """-o: an existing writable folder, or a new one whose parent exists (made once the job starts)."""
    out = Path(output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise StylekitError(f"-o {out} is a file: give a folder for the results")
    check_writable_folder(out if out.exists() else out.parent, "the output folder")
    return out


def _header_size(path: Path) -> tuple[int, int] | None:
    """(h, w) from an image file's header, None when it cannot be read (the worker reports it)."""
    try:
        with Image.open(path) as img:
            return img.height, img.width
    except Exception:  # any unreadable file: its worker says why
        return None


class DiskFull(StylekitError):
    """A write that no later write can escape (a full, over-quota or read-only disk): it stops the job, keeping
    what was written."""


def _write(path: Path, data: bytes) -> None:
    """Write one result atomically, making its subfolders; a one-line error when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
    except OSError as exc:
        if exc.errno in FULL_DISK:
            raise DiskFull(f"cannot write {path} ({exc.strerror}): make room for the results") from None
        raise StylekitError(f"cannot write {path} ({exc.strerror or exc})") from None


def _notify(callbacks: Sequence[Callback], done: int, total: int, item: str, result: Any = None) -> None:
    for cb in callbacks:
        cb.on_item(ItemProgress(done, total, item, result))


def _image_inputs(source: Path, out: Path) -> tuple[Path, list[Path], list[str]]:
    """(the folder results are named relative to, the image files, notes on unreadable subfolders)."""
    if source.is_dir():
        if out.exists() and out.resolve() == source.resolve():
            raise StylekitError(f"-o {out} is the input folder: each result would replace its own image; choose "
                                "another folder")
        inside = out.exists() and out.resolve().is_relative_to(source.resolve())
        files, notes = image_tree(source, skip=out if inside else None)
        if inside:
            notes.append(f"the output folder {out} is inside {source}: the images in it are not stylised")
        if not files:
            raise StylekitError(f"{source} holds no images ({', '.join(IMAGE_SUFFIXES)}), in it or its subfolders")
        return source, files, notes
    return source.parent, [source], []


def _check_clash(outputs: Sequence[Path], inputs: Sequence[Path], style_sources: Sequence[ImageLike], root: Path) \
        -> None:
    """No result may be written over an input or a style image (a set lookup: folders may hold thousands)."""
    styles = {Path(s).expanduser().resolve() for s in style_sources if isinstance(s, (str, os.PathLike))}
    taken = {path.resolve() for path in inputs} | styles
    clash = next((o for o in outputs if o.resolve() in taken), None)
    if clash is not None:
        what = "a style image" if clash.resolve() in styles else "an input"
        raise StylekitError(f"the result {clash} would replace {what}: choose an -o outside {root}")


def _run_images(source: Path, style_sources: Sequence[ImageLike], styles: list[Image.Image], out: Path,
                method: str, options: FastOptions | TransferOptions, batch: BatchOptions,
                callbacks: Sequence[Callback], overwrite: bool,
                started: Callable[[BatchPlan], None] | None) -> BatchReport:
    root, files, notes = _image_inputs(source, out)
    plan = {path: out / path.relative_to(root) for path in files}
    _check_clash(list(plan.values()), files, style_sources, root)
    report = BatchReport(out, notes=notes)
    todo = {p: o for p, o in plan.items() if overwrite or not o.exists()}
    report.skipped = [o for p, o in plan.items() if p not in todo]
    if not todo:
        return report
    sizes = [hw for hw in map(_header_size, todo) if hw is not None] or [(512, 512)]
    largest = max(sizes, key=lambda hw: hw[0] * hw[1])
    style_sizes = [(s.height, s.width) for s in styles]
    peak = worker_peak(method, options, largest, style_sizes)
    out.mkdir(exist_ok=True)
    with ray_session(batch.address) as cluster:
        workers, planned = plan_workers(cluster, peak, len(todo), batch.workers, batch.cpus_per_worker,
                                        batch.gpus_per_worker)
        if started is not None:
            started(BatchPlan(len(todo), len(report.skipped), "image", cluster, workers, planned))
        targets = {path.relative_to(root).as_posix(): target for path, target in todo.items()}
        rows = [{"source": str(path.resolve()), "key": path.relative_to(root).as_posix()} for path in todo]
        returned = 0

        def take(row: dict[str, Any]) -> int:
            nonlocal returned
            key, target = row["key"], targets[row["key"]]
            if row["notes"]:
                report.notes.append(f"{key}: {row['notes']}")
            error = row["error"]
            if not error:
                try:
                    _write(target, row["data"])
                    report.done.append(target)
                except DiskFull:
                    raise
                except StylekitError as exc:  # this result alone (e.g. a file where its subfolder would be)
                    error = str(exc)
            if error:
                report.failed.append((key, error))
            returned += 1
            _notify(callbacks, returned, len(rows), key, None if error else target)
            return 1

        _collect(rows, ImageWorker, {"method": registry.METHODS[method], "options": options, "styles": styles},
                 workers, take, report, "images")
    return report


def _collect(rows: list[dict[str, Any]], worker: type, arguments: dict[str, Any], plan: WorkerPlan,
             take: Callable[[dict[str, Any]], int], report: BatchReport, unit: str) -> None:
    """Stream the workers' results into ``take`` (which says how many inputs each finished). An interrupt, or
    workers that stop once some results are in, end the job early with what was finished (in ``report``);
    workers that stop before any result are the job's error."""
    finished = 0
    try:
        with closing(stream_map(rows, worker, arguments, plan)) as results:
            for row in results:
                finished += take(row)
    except KeyboardInterrupt:
        report.interrupted = True
    except StylekitError as exc:
        if not finished:
            raise
        report.stopped = f"some {unit} not done: {exc.template}"


def _video_options(method: str, options: FastOptions | TransferOptions, batch: BatchOptions) -> VideoOptions:
    """The ``stylekit video`` settings a batch job's method options and video options amount to: frame size,
    colour, device (and seed) from the method's options."""
    common = {"temporal_weight": batch.temporal_weight, "flow": batch.flow, "flow_scale": batch.flow_scale,
              "preserve_color": options.preserve_color, "device": options.device, "masks": options.masks,
              "color_image": options.color_image}
    if method == "fast":
        return validate(VideoOptions(method="fast", fast=dataclasses.replace(options, content_size=None),
                                     size=options.content_size, **common))
    return validate(VideoOptions(method="transfer", transfer=options, size=options.size, seed=options.seed,
                                 frame_steps=batch.frame_steps, **common))


@dataclass
class _Video:
    """A video job's input and where its frames and result go."""

    source: Path
    info: VideoInfo
    size: tuple[int, int]  # (h, w) of the output frames
    options: VideoOptions
    output: Path
    work: Path  # finished frames, kept between runs

    def frame(self, index: int) -> Path:
        return self.work / f"{index:06d}.png"

    def finished(self) -> set[int]:
        return {int(p.stem) for p in self.work.glob("[0-9]*.png") if p.stem.isdigit()}


def _stylise_chunks(video: _Video, styles: list[Image.Image], batch: BatchOptions, peak: int,
                    callbacks: Sequence[Callback], started: Callable[[BatchPlan], None] | None,
                    report: BatchReport) -> None:
    """Stylise the chunks of ``video`` that have unfinished frames on Ray, each frame kept in the work folder as
    it arrives; failed chunks and an early stop go in ``report``."""
    frames = video.info.frames
    with ray_session(batch.address) as cluster:
        most = -(-frames // (batch.chunk_frames or max(1, 4 * batch.overlap)))  # chunks there can be
        workers, notes = plan_workers(cluster, peak, most, batch.workers, batch.cpus_per_worker,
                                      batch.gpus_per_worker)
        bounds = chunk_bounds(frames, batch.chunk_frames or even_chunk(frames, workers.workers, batch.overlap))
        done = video.finished()
        rows = [{"chunk": k, "warm": max(0, start - batch.overlap), "start": start, "stop": stop}
                for k, (start, stop) in enumerate(bounds) if not set(range(start, stop)) <= done]
        total = sum(row["stop"] - row["start"] for row in rows)
        if started is not None:
            started(BatchPlan(total, frames - total, "frame", cluster, workers, notes))
        if not rows:
            return
        arguments = {"options": video.options, "styles": styles, "source": str(video.source.resolve()),
                     "times": video.info.times, "size": video.size}
        count = 0

        def take(row: dict[str, Any]) -> int:
            nonlocal count
            if row["error"]:
                start, stop = bounds[row["chunk"]]
                report.failed.append((f"{video.source.name} frames {start}-{stop - 1}", row["error"]))
                return 0
            _write(video.frame(row["index"]), row["png"])
            count += 1
            _notify(callbacks, count, total, f"frame {row['index']}")
            return 1

        _collect(rows, ChunkWorker, arguments, workers, take, report, "frames")


def _assemble(video: _Video, report: BatchReport) -> None:
    """Encode the finished frames, in order, into the output (frame rate kept, audio copied). Frames the
    decoder could not give are left out, with a note."""
    import av
    import numpy as np

    from ..videos.io import VideoWriter

    done = sorted(i for i in video.finished() if i < video.info.frames)
    if not done:
        raise StylekitError(f"{video.source}: none of its frames could be decoded; the file is damaged")
    if len(done) < video.info.frames:
        report.notes.append(f"{video.source.name}: {len(done)} of the {video.info.frames} frames it lists could be "
                            "decoded; the others are left out")

    def encode(tmp: Path) -> None:
        audio = video.source if video.info.has_audio else None
        with VideoWriter(tmp, video.info.fps, video.size[1], video.size[0], audio) as writer:
            for i in done:
                with Image.open(video.frame(i)) as frame:
                    writer.write(np.asarray(frame.convert("RGB")))

    kept = f"finished frames are kept in {video.work}"
    try:
        write_atomic(video.output, encode)
    except av.error.FFmpegError as exc:
        if exc.errno in FULL_DISK:
            raise DiskFull(f"cannot write {video.output} ({exc.strerror}): make room; {kept}") from None
        raise StylekitError(f"writing {video.output.name} failed ({exc}); {kept}: try a .mkv output, which takes "
                            "any audio codec") from None
    except OSError as exc:
        raise StylekitError(f"cannot write {video.output} ({exc.strerror or exc}); {kept}") from None


def _run_video(source: Path, style_sources: Sequence[ImageLike], styles: list[Image.Image], out_dir: Path,
               method: str, options: FastOptions | TransferOptions, batch: BatchOptions,
               callbacks: Sequence[Callback], overwrite: bool,
               started: Callable[[BatchPlan], None] | None) -> BatchReport:
    from ..videos.io import VIDEO_OUTPUTS, probe
    from ..videos.stylize import frame_size, job_key, job_lock, same_job, work_dir

    vopts = _video_options(method, options, batch)
    info = probe(source)
    hw = frame_size(info, vopts, source.name)
    name = source.name if source.suffix.lower() in VIDEO_OUTPUTS else source.stem + ".mkv"
    video = _Video(source, info, hw, vopts, out_dir / name, work_dir(out_dir / name))
    _check_clash([video.output], [source], style_sources, source.parent)
    report = BatchReport(out_dir)
    if name != source.name:
        report.notes.append(f"{source.name}: written as {name} ({source.suffix} cannot hold H.264)")
    if video.output.exists() and not overwrite:
        report.skipped.append(video.output)
        return report
    peak = frames_peak(vopts, hw, [(s.height, s.width) for s in styles])
    out_dir.mkdir(exist_ok=True)
    key = job_key(source, style_sources, vopts)
    with job_lock(video.work, video.output):
        settings = video.work / "job.json"
        if settings.is_file() and not same_job(settings, key):
            raise StylekitError(f"{video.work} holds frames of a different job (input, styles or options changed): "
                                "delete that folder to start again, or rerun with the same settings to resume")
        try:
            write_atomic(settings, lambda tmp: tmp.write_text(json.dumps(key, indent=1)))
            _stylise_chunks(video, styles, batch, peak, callbacks, started, report)
            if report.ok:
                _assemble(video, report)
        except KeyboardInterrupt:
            report.interrupted = True
        except BaseException:
            if not video.finished():
                shutil.rmtree(video.work, ignore_errors=True)  # nothing to resume from: leave nothing behind
            raise
        if not report.ok:
            if video.finished():
                report.notes.append(f"finished frames are kept in {video.work}: run the same command again to "
                                    "resume")
            else:
                shutil.rmtree(video.work, ignore_errors=True)
            return report
        shutil.rmtree(video.work, ignore_errors=True)
    report.done.append(video.output)
    return report


def run_batch(source: str | os.PathLike, styles: Sequence[ImageLike], output_dir: str | os.PathLike,
              options: BatchOptions | None = None, method_options: FastOptions | TransferOptions | None = None,
              callbacks: Sequence[Callback] = (), overwrite: bool = False,
              started: Callable[[BatchPlan], None] | None = None) -> BatchReport:
    """Stylise every image under the folder ``source`` (or the video ``source``) into ``output_dir`` on Ray (see
    :mod:`stylekit.cluster`). Options, inputs, styles and the output folder are checked before Ray starts;
    ``started`` hears the plan (workers, memory) once they are known; callbacks hear ``on_item`` after each
    image or frame. Returns the report; a broken input fails alone and is listed in it."""
    batch = validate(options or BatchOptions())
    options = _checked_options(batch.method, method_options, len(styles), batch)
    import_ray()  # not installed: say so before any work
    path = Path(source).expanduser()
    if not path.exists():
        raise StylekitError(f"{path}: no such file or folder")
    out = _output_folder(output_dir)
    loaded = _load_styles(styles)
    made = not out.exists()
    try:
        if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            from ..videos.stylize import job_lock

            with job_lock(out, out, BATCH_LOCK, "stylekit batch", remove=True):  # one job per folder at a time
                return _run_images(path, styles, loaded, out, batch.method, options, batch, callbacks, overwrite,
                                   started)
        from importlib.util import find_spec

        if find_spec("av") is None or find_spec("cv2") is None:
            raise StylekitError(f"{path.name} is not an image, and videos need the video extra (PyAV, OpenCV): "
                                "pip install 'stylekit[video]'")
        return _run_video(path, styles, loaded, out, batch.method, options, batch, callbacks, overwrite, started)
    finally:
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # the folder this job made, still empty (nothing finished): leave nothing behind


@keyword_options(BatchOptions, FastOptions, TransferOptions)
def batch(source: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output_dir: str | os.PathLike,
          method: str = "fast", callbacks: Sequence[Callback] = (), overwrite: bool = False,
          **options: Any) -> BatchReport:
    """Stylise a folder of images (recursively) or a video on Ray: on this machine's cores, or on the cluster
    at ``address=`` (or ``$RAY_ADDRESS``). Keyword options are the fields of :class:`BatchOptions` (``workers``,
    ``address``, ...) and of the method's options (:class:`FastOptions` or :class:`TransferOptions`)."""
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    own = {f.name for f, _ in specs(BatchOptions)}
    batch_options = make_options(BatchOptions, {"method": method, **{k: v for k, v in options.items() if k in own}})
    cls = batch_methods().get(method, FastOptions)
    method_options = make_options(cls, {k: v for k, v in options.items() if k not in own})
    return run_batch(source, style_list, output_dir, batch_options, method_options, callbacks, overwrite).in_words()

