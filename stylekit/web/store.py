"""The web server's store: sessions, uploads, jobs and results kept on disk under ``--data-dir``, so a restart loses
nothing.

Metadata lives in one SQLite file, pictures as files written atomically (named by the server's own random ids,
never by anything a client sent). Every write runs on one writer thread, in the order it was asked for, so
requests and the job queue never wait for the disk; a picture stays in memory until its file is written. The
folder is locked while a server uses it, and what a crash left half-done (a file without its row, a row without
its file) is cleaned up when the next server opens it.
"""
from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StylekitError
from ..io import job_lock, write_atomic

if TYPE_CHECKING:
    from .jobs import Job

log = logging.getLogger(__name__)
SCHEMA = 1  # PRAGMA user_version of the database this code writes
DATABASE, FILES, LOCK = "stylekit.sqlite3", "files", "server.lock"
PREVIEW_EVERY = 10.0  # seconds between the saved previews of a running job (its best so far after a crash)
ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # the ids and tokens the server makes: the only names its files take
TABLES = """
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, last_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, session TEXT NOT NULL, record TEXT NOT NULL,
                                   created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, session TEXT NOT NULL, state TEXT NOT NULL,
                                 created REAL NOT NULL, record TEXT NOT NULL, request TEXT);
"""


class OnDisk:
    """A mixin: ``data`` kept in memory until the store has written it to ``file``, then read from the file."""

    data: bytes | None
    file: Path | None

    def read(self) -> bytes:
        """The bytes, from memory or from their file; a user error once the file is gone."""
        data, file = self.data, self.file
        if data is not None:
            return data
        try:
            return file.read_bytes()  # type: ignore[union-attr]
        except (OSError, AttributeError):
            raise StylekitError("this picture is no longer kept on this server") from None


@dataclass
class Blob(OnDisk):
    """Bytes on their way to a file."""

    data: bytes | None = field(repr=False)
    file: Path | None = None


@dataclass
class Saved:
    """What a store held when it was opened: rows as dicts, oldest first."""

    sessions: list[dict[str, Any]]
    images: list[dict[str, Any]]
    jobs: list[dict[str, Any]]


def _record(row: dict[str, Any], on_disk: Iterable[str]) -> dict[str, Any] | None:
    """A row's record, checked: None when the row is damaged (not the server's id, not a JSON object, a file
    name that is not one of the folder's) or its file is gone; a preview that is gone is left out."""
    try:
        record = json.loads(row["record"]) if isinstance(row["id"], str) and ID.fullmatch(row["id"]) else None
    except (TypeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("file", "") not in ("", *on_disk):
        return None
    if record.get("preview") not in (None, *on_disk):
        del record["preview"]
    return record


class Store:
    """A server's folder: open it (locked: one server at a time), :meth:`load` what it holds, then record changes
    (each queued for the writer thread); :meth:`close` writes what is pending. It is the job queue's keeper
    (:meth:`kept`, :meth:`previewed`, :meth:`forgot`).

    ``max_bytes`` bounds its files: past it, ``on_full(excess, keep)`` is called (on the writer thread) to remove
    results, oldest first, except the job ``keep`` that was just written."""

    def __init__(self, folder: str | Path, max_bytes: int) -> None:
        self.folder, self.max_bytes = Path(folder).expanduser(), max_bytes
        self.on_full: Callable[[int, str], None] | None = None
        self.used = 0  # bytes of the files (written by the writer thread only)
        self.sizes: dict[str, int] = {}  # file name -> bytes
        self.results: dict[str, tuple[float, str]] = {}  # job id -> (finished, its result file), kept results
        self._previewed: dict[str, float] = {}  # job id -> when its preview was last saved
        self._reserved = 0  # bytes of uploads on their way to disk
        self._reserving = threading.Lock()
        self._closing = ExitStack()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.files = self.folder / FILES
            self.files.mkdir(exist_ok=True)
        except OSError as exc:
            raise StylekitError(f"cannot use {self.folder} to keep the server's pictures ({exc.strerror}): "
                                "choose another --data-dir") from None
        self._closing.enter_context(job_lock(self.folder, self.folder, LOCK, "stylekit server",
                                             advice="stop it or choose another --data-dir"))
        try:
            self.db = sqlite3.connect(self.folder / DATABASE, check_same_thread=False, isolation_level=None)
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA:
                raise StylekitError(f"{self.folder} was written by a newer stylekit: upgrade, or choose another "
                                    "--data-dir")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(TABLES + f"PRAGMA user_version={SCHEMA};")
        except sqlite3.DatabaseError as exc:
            self._closing.close()
            raise StylekitError(f"{self.folder / DATABASE} cannot be read as the server's store ({exc}): move it "
                                "away or choose another --data-dir") from None
        self._closing.callback(self.db.close)
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="stylekit-store")
        self._writer_thread = self.writer.submit(threading.get_ident).result()
        self._closed = False

    # ---- opening --------------------------------------------------------------------------------------------
    def load(self) -> Saved:
        """What the folder holds; rows whose file is gone are dropped, files no row names are removed."""
        rows = {table: [dict(zip([c[0] for c in cursor.description], row)) for row in cursor]
                for table in ("sessions", "images", "jobs")
                for cursor in [self.db.execute(f"SELECT * FROM {table} ORDER BY " +  # noqa: S608 (fixed names)
                                               ("last_seen" if table == "sessions" else "created"))]}
        on_disk = {path.name: path for path in self.files.iterdir()}
        named: set[str] = set()
        for table in ("images", "jobs"):
            for row in list(rows[table]):
                record = _record(row, on_disk)
                if record is None:  # damaged, or its file is gone: dropped
                    self.db.execute(f"DELETE FROM {table} WHERE id = ?", (row["id"],))  # noqa: S608
                    rows[table].remove(row)
                    continue
                row["record"] = record
                named.update(record[key] for key in ("file", "preview") if record.get(key))
        for name, path in on_disk.items():
            if name in named:
                self.sizes[name] = path.stat().st_size
            else:
                path.unlink(missing_ok=True)  # debris of a crash: a file whose row was never written
        self.used = sum(self.sizes.values())
        for row in rows["jobs"]:
            if row["record"].get("file"):
                self.results[row["id"]] = (row["record"].get("finished") or row["created"], row["record"]["file"])
            try:
                row["request"] = json.loads(row["request"]) if isinstance(row["request"], str) else None
            except ValueError:
                row["request"] = None
        return Saved(rows["sessions"], rows["images"], rows["jobs"])

    # ---- what the server tells it -------------------------------------------------------------------------
    def save_session(self, token: str, last_seen: float) -> None:
        """Record a session (or when it was last seen)."""
        self._later(self._sql, "INSERT OR REPLACE INTO sessions VALUES (?, ?)", (token, last_seen))

    def drop_session(self, token: str) -> None:
        """Forget a session (its images and jobs are dropped one by one by their owners)."""
        self._later(self._sql, "DELETE FROM sessions WHERE token = ?", (token,))

    def save_image(self, session: str, image: Any, record: dict[str, Any]) -> None:
        """Keep an upload (an :class:`OnDisk` with an ``id``) and its ``record``; its bytes leave memory once
        written."""
        size = len(image.read())
        with self._reserving:
            self._reserved += size

        def write() -> None:
            name = f"{image.id}.upload"
            try:
                self._spill(image, name)
            finally:
                with self._reserving:
                    self._reserved -= size
            self._sql("INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?)",
                      (image.id, session, json.dumps({**record, "file": name}), time.time()))
            self._make_room("")
        self._later(write)

    def drop_image(self, image_id: str, keep_file: bool = False) -> None:
        """Forget an upload, and its file unless ``keep_file`` (a job still reads it: :meth:`drop_file` later)."""
        def drop() -> None:
            self._sql("DELETE FROM images WHERE id = ?", (image_id,))
            if not keep_file:
                self._remove(f"{image_id}.upload")
        self._later(drop)

    def drop_file(self, image_id: str) -> None:
        """Remove the file of an upload forgotten with ``keep_file``."""
        self._later(self._remove, f"{image_id}.upload")

    def has_room(self, count: int) -> bool:
        """Whether ``count`` more bytes fit, counting the uploads on their way to disk and the results that could
        be removed to make room."""
        removable = [self.sizes.get(name, 0) for _, name in list(self.results.values())]
        return self.used + self._reserved + count <= self.max_bytes + sum(removable)

    # ---- the job queue's keeper ----------------------------------------------------------------------------
    def kept(self, job: Job) -> None:
        """A job was queued, started or finished: record it (its result, once, as a file)."""
        record, request, output, state, finished = job.record(), job.request, job.output, job.state, job.finished

        def write() -> None:
            if output is not None and output.file is None and output.data is not None:
                self._spill(output, f"{job.id}.result")
            if output is not None and output.file is not None:
                record["file"] = output.file.name
                self.results[job.id] = (finished or time.time(), output.file.name)
            if finished is not None:  # its result, if any, replaces its preview
                self._remove(f"{job.id}.preview")
                self._previewed.pop(job.id, None)
            elif self._previewed.get(job.id):
                record["preview"] = f"{job.id}.preview"
            self._sql("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?)",
                      (job.id, job.session, state, job.created, json.dumps(record),
                       json.dumps(request) if request is not None else None))
            if output is not None and output.file is not None:
                self._make_room(job.id)
        self._later(write)

    def previewed(self, job: Job) -> None:
        """A running job has a new preview: saved every ``PREVIEW_EVERY`` seconds, its best after a crash."""
        now, preview = time.time(), job.preview
        if preview is None or job.removed or now - self._previewed.get(job.id, 0.0) < PREVIEW_EVERY:
            return
        self._previewed[job.id] = now
        record = job.record()

        def write() -> None:
            if job.id not in self._previewed:  # it finished (or went) before this ran
                return
            self._spill(Blob(preview), f"{job.id}.preview")
            record["preview"] = f"{job.id}.preview"
            self._sql("UPDATE jobs SET record = ? WHERE id = ? AND state = ?",
                      (json.dumps(record), job.id, record["state"]))
        self._later(write)

    def forgot(self, job: Job) -> None:
        """A job is gone: its row and files."""
        self.drop_job(job.id)

    def drop_job(self, job_id: str) -> None:
        """Forget a job's row and files by its id (also one the queue no longer holds, or a damaged row)."""
        self._previewed.pop(job_id, None)

        def drop() -> None:
            self._sql("DELETE FROM jobs WHERE id = ?", (job_id,))
            self.results.pop(job_id, None)
            for suffix in (".result", ".preview"):
                self._remove(job_id + suffix)
        self._later(drop)

    # ---- closing ---------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Wait until every change asked for so far is written."""
        if not self._closed:
            self.writer.submit(lambda: None).result()

    def close(self) -> int:
        """Write what is pending, close the database and release the folder; the number of results kept."""
        if self._closed:
            return len(self.results)
        self.writer.shutdown(wait=True)
        self._closed = True
        self._closing.close()
        return len(self.results)

    # ---- on the writer thread ------------------------------------------------------------------------------
    def _later(self, work: Callable[..., None], *args: Any) -> Future | None:
        """Run ``work(*args)`` on the writer thread after what is already asked; at once when asked from the writer
        thread itself (results removed to make room while a write runs)."""
        if threading.get_ident() == self._writer_thread:
            work(*args)
            return None
        if self._closed:
            return None

        def run() -> None:
            try:
                work(*args)
            except Exception:  # a store that cannot write must not take the server down: the log says why
                log.exception("the store could not record a change")
        try:
            return self.writer.submit(run)
        except RuntimeError:  # closing
            return None

    def _sql(self, statement: str, values: tuple[Any, ...]) -> None:
        self.db.execute(statement, values)

    def _spill(self, kept: OnDisk, name: str) -> None:
        data = kept.data
        if data is None:
            return
        path = self.files / name
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
        self.used += len(data) - self.sizes.get(name, 0)
        self.sizes[name] = len(data)
        kept.file, kept.data = path, None

    def _remove(self, name: str) -> None:
        (self.files / name).unlink(missing_ok=True)
        self.used -= self.sizes.pop(name, 0)

    def _make_room(self, keep: str) -> None:
        if self.used > self.max_bytes and self.on_full is not None:
            self.on_full(self.used - self.max_bytes, keep)  # its removals run at once, on this thread

    def oldest_results(self, keep: str) -> Iterator[tuple[str, int]]:
        """Kept results, oldest first, but ``keep``: (job id, bytes)."""
        for job_id, (_, name) in sorted(self.results.items(), key=lambda item: item[1][0]):
            if job_id != keep:
                yield job_id, self.sizes.get(name, 0)
