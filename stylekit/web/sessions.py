"""What the web server keeps (:class:`State`): each page's session and its uploads, the examples, the queue, and
the store that keeps them on disk (:mod:`.store`), so a restart loses nothing.

Images are kept as their compressed file bytes, checked when they arrive and decoded only while a job uses them;
nothing a client sends is ever used as a file path. Each finished result is kept for ``--keep-days`` whatever its
page does (within ``--max-disk-mb``, oldest removed first), with its session and pictures; a session without one is
kept until no page has had it open for ``--keep-minutes``, so a reload or a closed tab loses nothing.
"""
from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import StylekitError
from ..options import ServerConfig, validate
from ..options.registry import OPTIMISE, QUICK
from .estimate import Estimator
from .guards import MB, ByteBudget
from .jobs import CANCELLED, QUEUED, RUNNING, Job, JobOutput, JobQueue
from .store import OnDisk, Saved, Store
from .tasks import encode_png, methods_by_name

VIEW_SIDES = (256, 1024)  # long sides the page may ask an image at (thumbnails, before/after views)
DECODERS = 2  # threads that decode uploads to check them: a few at a time, and few allocator arenas to keep


@dataclass
class StoredImage(OnDisk):
    """An upload or example, kept as its compressed file bytes (an upload's in its file once the store wrote it)
    and decoded on use."""

    id: str
    name: str
    data: bytes | None = field(repr=False)
    width: int
    height: int
    kind: str = "upload"  # or "photo" / "painting" for the examples
    credit: str | None = None
    views: dict[int, bytes] = field(default_factory=dict, repr=False)  # JPEGs by long side, made on first use
    file: Path | None = None

    @property
    def held(self) -> int:
        """Bytes its views hold in memory."""
        return sum(map(len, self.views.values()))

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height, "kind": self.kind,
                "credit": self.credit}

    def open(self) -> Image.Image:
        """The decoded image (checked when it was stored)."""
        return decode_upload(self.read(), self.name, self.width * self.height)


def decode_upload(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Decode an uploaded image in memory (first frame, EXIF orientation applied), refusing non-images,
    damaged files and images above ``max_pixels``."""
    from ..io.images import open_image

    if not data:
        raise StylekitError(f"{name} is empty")
    return open_image(io.BytesIO(data), name, max_pixels,
                      f"this server accepts up to {max_pixels / 1e6:.1f}: upload a smaller picture", "this server")


def measure_upload(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    """Check an upload by decoding it once; its (width, height). The decoded pixels are not kept."""
    from ..io import load_image

    img = decode_upload(data, name, max_pixels)
    load_image(img.crop((0, 0, 1, 1)), name)  # the checks every input gets (odd modes), on one pixel
    return img.size


def thumbnail(img: Image.Image, side: int = 256) -> bytes:
    """A JPEG of ``img`` at most ``side`` px on its long side (transparency over white)."""
    rgba = img.convert("RGBA")
    thumb = Image.new("RGB", rgba.size, "white")
    thumb.paste(rgba, mask=rgba.getchannel("A"))
    thumb.thumbnail((side, side), Image.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85 if side <= 256 else 90)
    return buf.getvalue()


def upload_label(name: str) -> str:
    """A display label from a client-given file name: printable, short, never used as a path."""
    clean = "".join(c for c in Path(name.replace("\\", "/")).name if c.isprintable())[:80]
    return clean or "image"


class Busy(StylekitError):
    """A server-wide limit is reached (sessions, upload memory): try again later (HTTP 503)."""


class UnknownSession(StylekitError):
    """The request names no live session (HTTP 403 for uploads)."""


@dataclass
class Session:
    """One page's images (oldest first), when it was last heard from (``time.time()``), and how many pages have
    it open now (a session no page has open is kept for a while, so a reload finds it)."""

    images: OrderedDict[str, StoredImage] = field(default_factory=OrderedDict)
    last_seen: float = field(default_factory=time.time)
    pages: int = 0
    saved_seen: float = 0.0  # the last_seen its store has


class State:
    """Everything the app shares: configuration, methods, queue, sessions and their images, and the threads that
    decode uploads.

    Settings that would fail every job (device, weights folder, example images) are checked here, so a server
    with a bad setting never starts listening."""

    def __init__(self, config: ServerConfig) -> None:
        from ..devices import resolve_device
        from ..feedforward.weights import local_dir

        self.config = validate(config)
        resolve_device(config.device)
        local_dir(config.weights_dir)
        self.examples = self._load_examples()
        self.methods = methods_by_name()
        self.lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.held = ByteBudget(int(config.max_uploads_mb * MB))
        self.keep = config.keep_minutes * 60
        self.estimator = Estimator.for_this_machine()
        self.sockets: dict[str, int] = {}  # open page connections by client address
        self.orphans: set[str] = set()  # forgotten uploads whose files a job may still read
        self._trained: dict[tuple[str, int, int], dict[str, Any]] = {}  # model files read, by (path, size, time)
        self.decoders = ThreadPoolExecutor(DECODERS, thread_name_prefix="stylekit-decode")
        self.store = Store(config.store_folder, int(config.max_disk_mb * MB))
        self.queue = JobQueue({OPTIMISE: config.workers, QUICK: config.quick_workers}, config.max_waiting,
                              max_seconds=config.max_job_seconds, observer=self._learn,
                              per_session=config.max_waiting_per_session, keeper=self.store)
        self.store.on_full = self._make_room
        try:
            self.waiting = self._restore(self.store.load())  # queued jobs found in the store, to be asked again
        except BaseException:
            self.close()
            raise

    def _restore(self, saved: Saved) -> list[Job]:
        """Take back what the store kept: sessions, their uploads and finished jobs; a job that was running is
        marked stopped (its last saved preview kept as its result); queued jobs are returned, in order."""
        for row in saved.sessions:
            self.sessions[row["token"]] = Session(last_seen=row["last_seen"], saved_seen=row["last_seen"])
        for row in saved.images:
            record, session = row["record"], self.sessions.get(row["session"])
            if session is None:
                self.store.drop_image(row["id"])
                continue
            try:
                session.images[row["id"]] = StoredImage(row["id"], str(record["name"]), None, int(record["width"]),
                                                        int(record["height"]), file=self.store.files / record["file"])
            except (KeyError, TypeError, ValueError):  # a damaged row
                self.store.drop_image(row["id"])
        waiting = []
        for row in saved.jobs:
            try:
                job = Job.from_record(row["id"], row["session"], row["record"], self.store.files)
            except (KeyError, TypeError, ValueError):  # a damaged row
                self.store.drop_job(row["id"])
                continue
            job.request = row["request"]
            if job.session not in self.sessions:
                self.store.forgot(job)
            elif job.state == QUEUED:
                waiting.append(job)
            else:
                if job.state == RUNNING:
                    self._stopped_by_restart(job, row["record"].get("preview"))
                self.queue.restore(job)
        return waiting

    def _stopped_by_restart(self, job: Job, preview: str | None) -> None:
        """A job the server stopped without finishing (killed): stopped, with its last saved preview kept."""
        job.state, job.finished = CANCELLED, time.time()
        try:
            best = Image.open(self.store.files / preview) if preview else None
            if best is not None:
                job.output = JobOutput(encode_png(best), "image/png", best.size, True)
        except (OSError, ValueError):  # a damaged preview
            best = None
        job.error = "the server stopped while this job ran" + (
            ": the best image so far is kept" if best is not None else ": run it again")
        self.store.kept(job)

    def _make_room(self, excess: int, keep: str) -> None:
        """The store is over ``--max-disk-mb`` by ``excess`` bytes: remove results, oldest first, but ``keep``."""
        freed = 0
        for job_id, size in list(self.store.oldest_results(keep)):
            if freed >= excess:
                break
            job = self.queue.find(job_id)
            if job is not None:
                self.queue.remove(job)  # its file goes at once (this runs on the store's writer thread)
            else:
                self.store.drop_job(job_id)
            freed += size

    def close(self) -> int:
        """Stop the queue (running jobs keep their best so far), write what is pending and release the store;
        the number of results it keeps."""
        self.queue.shutdown()
        with self.lock:
            for token, found in self.sessions.items():
                self._save_seen(token, found)
        self.decoders.shutdown()
        return self.store.close()

    def _trained_models(self) -> list[dict[str, Any]]:
        """The usable trained models of the server's models folder: name, styles' names and thumbnails (a file is
        read again only when its size or time changes)."""
        from ..feedforward.trained import read_model_file
        from ..options.feedforward import named_model, trained_models

        found, seen = [], {}
        for name in trained_models(self.config.models_dir):
            path = named_model(name, self.config.models_dir)
            try:
                info = path.stat()
                key = (str(path), info.st_size, info.st_mtime_ns)
                if key not in self._trained:
                    styles = read_model_file(path)["styles"]
                    self._trained[key] = {"name": name, "styles": [s["name"] for s in styles],
                                          "thumbnails": [s["thumbnail"] for s in styles]}
            except (OSError, StylekitError):
                continue
            seen[key] = self._trained[key]
            found.append(seen[key])
        self._trained = seen  # files gone or changed are forgotten
        return found

    def trained_models(self) -> list[dict[str, Any]]:
        """The usable trained models of the server's models folder, each with its styles' names."""
        return [{"name": m["name"], "styles": m["styles"]} for m in self._trained_models()]

    def trained_thumbnail(self, name: str, index: int) -> bytes:
        """A JPEG of style ``index`` of the trained model ``name`` of the server's models folder."""
        from ..feedforward.trained import thumbnail_jpeg

        found = next((m for m in self._trained_models() if m["name"] == name), None)
        if found is None:
            raise StylekitError(f"no trained model {name[:40]!r} here")
        if not 0 <= index < len(found["thumbnails"]):
            raise StylekitError(f"the model {name} has styles 0 to {len(found['thumbnails']) - 1}")
        return thumbnail_jpeg(found["thumbnails"][index])

    def _learn(self, job: Job) -> None:
        if job.started and job.finished and not (job.output and job.output.interrupted):
            self.estimator.observe(job.method, job.work, job.finished - job.started, job.network)

    def _load_examples(self) -> dict[str, StoredImage]:
        from ..io import content_files, load_image, to_pil
        from ..io.examples import example_content, example_style

        def stored(key: str, name: str, source: Path | Image.Image, kind: str, credit: str) -> StoredImage:
            if isinstance(source, Path):  # the project's loader: EXIF orientation, one-line errors
                img, data = to_pil(load_image(source).rgb), source.read_bytes()
            else:
                img, data = source, encode_png(source)
            return StoredImage(key, name, data, img.width, img.height, kind, credit,
                               {VIEW_SIDES[0]: thumbnail(img, VIEW_SIDES[0])})

        found = [stored("ex-portrait", "Grace Hopper", example_content(), "photo",
                        "U.S. Navy portrait, 1984, public domain"),
                 stored("ex-swirls", "Swirls", example_style(), "painting", "generated by stylekit")]
        gallery = resources.files("stylekit.web") / "gallery"
        for painting in json.loads((gallery / "credits.json").read_text("utf-8"))["paintings"]:
            with resources.as_file(gallery / painting["file"]) as path:
                found.append(stored(f"ex-{Path(painting['file']).stem}", painting["title"], path, "painting",
                                    f"{painting['artist']}, {painting['year']}, {painting['license']}"))
        if self.config.examples_dir:
            for path in content_files(Path(self.config.examples_dir).expanduser()):
                found.append(stored(f"ex-{len(found)}", path.stem.replace("_", " "), path, "photo",
                                    "from this server's examples folder"))
        return {example.id: example for example in found}

    def expire(self) -> None:
        """Forget the results older than ``keep_days``, then the sessions that keep none and that no page has had
        open for ``keep_minutes``, once their jobs have stopped (the time counts from the later of the page's last
        request and the session's last finished job); note when the others were last seen."""
        now = time.time()  # wall-clock time, as jobs record theirs
        self.queue.expire(now - self.config.keep_days * 86400)
        with self.lock:
            for image_id in self.orphans - self.queue.in_use():
                self.store.drop_file(image_id)
                self.orphans.discard(image_id)
            activity, holders = self.queue.activity(), self.queue.holders()
            for token, found in list(self.sessions.items()):
                busy, finished = activity.get(token, (False, 0.0))
                if not found.pages and not busy and token not in holders \
                        and now - max(found.last_seen, finished) > self.keep:
                    self.drop_session(token)
                else:
                    self._save_seen(token, found)

    def _save_seen(self, token: str, found: Session) -> None:
        """Tell the store when a session was last seen, if that changed since it was last told."""
        if found.last_seen != found.saved_seen:
            self.store.save_session(token, found.last_seen)
            found.saved_seen = found.last_seen

    def new_session(self, resume: Any = None) -> tuple[str, bool]:
        """The session ``resume`` names while it is still kept (True), else a fresh one (False). At
        ``max_sessions`` a session without a page, a running job or a kept result makes room (one that holds
        nothing first, then the longest idle), and when there is none the new one is refused (:class:`Busy`)."""
        self.expire()
        with self.lock:
            if isinstance(resume, str) and resume in self.sessions:
                self.sessions[resume].last_seen = time.time()
                return resume, True
            if len(self.sessions) >= self.config.max_sessions:
                activity, holders = self.queue.activity(), self.queue.holders()
                idle = {token: (token in activity or bool(s.images), s.last_seen)
                        for token, s in self.sessions.items()
                        if not s.pages and token not in holders and not activity.get(token, (False, 0.0))[0]}
                if not idle:
                    raise Busy("this server is full: as many people as it can serve are using it or keeping "
                               "pictures on it; try again later")
                self.drop_session(min(idle, key=idle.__getitem__))
            token = secrets.token_urlsafe(16)
            found = self.sessions[token] = Session()
            self._save_seen(token, found)
        return token, False

    def session(self, token: Any) -> Session:
        """A live session (now seen again); a user error otherwise."""
        found = self.sessions.get(token) if isinstance(token, str) else None
        if found is None:
            raise UnknownSession("this page's session has expired: reload the page to start a new one")
        found.last_seen = time.time()
        return found

    def drop_session(self, token: str) -> None:
        """Forget a session's images and cancel and forget its jobs (call with the lock held)."""
        found = self.sessions.pop(token, None)
        self.store.drop_session(token)
        self.queue.close_session(token)
        if found is not None:
            for image in found.images.values():
                self._forget_upload(image)

    def _forget_upload(self, image: StoredImage) -> None:
        """Forget an upload (call with the lock held): its file goes now, or once no job that may still run
        reads it (:meth:`expire` looks again)."""
        self.held.give(image.held)
        if image.id in self.queue.in_use():
            self.store.drop_image(image.id, keep_file=True)
            self.orphans.add(image.id)
        else:
            self.store.drop_image(image.id)

    def keep_view(self, token: Any, image: StoredImage, side: int, data: bytes) -> None:
        """Keep a JPEG view of an image for next time: an example's always, an upload's while its session holds
        it and the upload budget has room."""
        with self.lock:
            if image.kind != "upload":
                image.views[side] = data
            else:
                session = self.sessions.get(token)
                if session and session.images.get(image.id) is image and side not in image.views \
                        and self.held.take(len(data)):
                    image.views[side] = data

    def keep_upload(self, token: str, image: StoredImage) -> None:
        """Keep an upload for a session (its oldest beyond ``max_images`` dropped), on disk within the store's
        room."""
        with self.lock:
            images = self.session(token).images
            if not self.store.has_room(len(image.read())):
                raise Busy("this server has no room left for pictures: try again later")
            images[image.id] = image
            self.store.save_image(token, image, {"name": image.name, "width": image.width, "height": image.height})
            while len(images) > self.config.max_images:
                self._forget_upload(images.popitem(last=False)[1])

    def image(self, token: str, image_id: Any) -> StoredImage:
        """An example, or one of the session's uploads."""
        found = None
        if isinstance(image_id, str):
            found = self.examples.get(image_id) or self.session(token).images.get(image_id)
        if found is None:
            raise StylekitError("that image is no longer here: upload it again")
        return found
