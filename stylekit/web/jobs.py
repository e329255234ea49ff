"""A job queue with lanes: long optimisations wait their turn in one lane, quick jobs run in another.

Each lane takes turns between sessions (round robin), so one session's waiting jobs never all run before
another session's; a job that runs past the queue's time limit stops as if cancelled, keeping its best result.

Nothing here knows about style transfer or HTTP: a job is a function of a :class:`JobContext` that returns
an image (PNG bytes are made by the caller's function) and reports progress through the context.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import StylekitError
from .store import OnDisk
from .words import plain

log = logging.getLogger(__name__)
QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
FINISHED = (DONE, CANCELLED, FAILED)


class QueueFull(StylekitError):
    """The lane already holds as many waiting jobs as it may."""


@dataclass
class JobOutput(OnDisk):
    """What a job function returns: the encoded result and whether it stopped early (its bytes move to a file
    once a store keeps them: :meth:`read` them)."""

    data: bytes | None = field(repr=False)
    media_type: str
    size: tuple[int, int]  # (width, height)
    interrupted: bool = False
    warnings: tuple[str, ...] = ()  # a run that finished without doing what was asked says why
    file: Path | None = None


class Keeper(Protocol):
    """What the queue tells a store (each call made with the queue's lock held: it must not wait)."""

    def kept(self, job: Job) -> None:
        """A job was queued, started or finished."""

    def previewed(self, job: Job) -> None:
        """A running job has a new preview."""

    def forgot(self, job: Job) -> None:
        """A job is gone."""


@dataclass
class Job:
    """One unit of work and everything a page needs to show about it."""

    session: str
    method: str
    lane: str
    run: Callable[[JobContext], JobOutput] | None = field(repr=False)  # dropped once it ran (it holds the inputs)
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    state: str = QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    preview: bytes | None = field(default=None, repr=False)
    preview_version: int = 0
    output: JobOutput | None = field(default=None, repr=False)
    error: str | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    timed_out: bool = False
    removed: bool = False  # its owner removed it: forgotten as soon as it stops
    inputs: dict[str, Any] = field(default_factory=dict)  # what made it, for the page (images, settings)
    work: float = 0.0  # its amount of work, in the caller's units (for learning how long work takes)
    network: str = ""  # the network it runs (its speed is learnt per method and network)
    estimate: float | None = None  # seconds it was expected to run
    request: dict[str, Any] | None = field(default=None, repr=False)  # what was asked, to ask again after a restart
    uses: tuple[str, ...] = ()  # the uploads it reads (their files stay while it may run)

    SAVED = ("method", "lane", "state", "created", "started", "finished", "progress", "error", "timed_out", "inputs",
             "work", "network", "estimate")

    def record(self) -> dict[str, Any]:
        """What a store keeps of it (JSON-ready; the result's bytes apart)."""
        out = self.output
        return {**{name: getattr(self, name) for name in self.SAVED},
                "output": None if out is None else {"media_type": out.media_type, "size": list(out.size),
                                                    "interrupted": out.interrupted, "warnings": list(out.warnings)}}

    @classmethod
    def from_record(cls, job_id: str, session: str, record: dict[str, Any], folder: Path) -> Job:
        """A job as a store kept it (``folder`` holds its files); it no longer runs."""
        job = cls(session, record["method"], record["lane"], None, id=job_id,
                  **{name: record[name] for name in cls.SAVED[2:] if name in record})
        out = record.get("output")
        if out and record.get("file"):
            job.output = JobOutput(None, out["media_type"], tuple(out["size"]), out["interrupted"],  # type: ignore
                                   tuple(out["warnings"]), folder / record["file"])
        return job

    def snapshot(self, position: int | None = None, version: int = 0) -> dict[str, Any]:
        """A JSON-ready description (``position``: 1-based place in its lane's waiting line; ``version``: the
        queue's version when it was taken, so a reader can drop a snapshot older than one it has)."""
        end = self.finished or time.time()
        return {"id": self.id, "method": self.method, "lane": self.lane, "state": self.state, "version": version,
                "inputs": self.inputs, "estimate": self.estimate, "position": position,
                "progress": {k: plain(v) if k == "stage" and v else v for k, v in self.progress.items()},
                "preview_version": self.preview_version,
                "has_result": self.output is not None, "created": self.created, "finished": self.finished,
                "size": list(self.output.size) if self.output else None,
                "interrupted": bool(self.output and self.output.interrupted),
                "warnings": [plain(w) for w in self.output.warnings] if self.output else [],
                "error": plain(self.error) if self.error else None,
                "elapsed": round(end - self.started, 2) if self.started else 0.0}


class JobContext:
    """Handed to a running job: report progress and previews, and learn whether it was cancelled."""

    def __init__(self, queue: JobQueue, job: Job) -> None:
        self._queue, self.job = queue, job

    @property
    def cancelled(self) -> bool:
        """True once the job's owner asked it to stop, or once it has run past the queue's time limit."""
        job, limit = self.job, self._queue.max_seconds
        if limit is not None and not job.cancel_event.is_set() and time.time() - (job.started or 0) > limit:
            with self._queue.lock:
                job.timed_out = True
                job.cancel_event.set()
        return job.cancel_event.is_set()

    def report(self, preview: bytes | None = None, **progress: Any) -> None:
        """Record progress values (step, total, loss ...) and optionally a new preview image."""
        with self._queue.lock:
            self.job.progress.update(progress)
            if preview is not None:
                self.job.preview = preview
                self.job.preview_version += 1
                if self._queue.keeper is not None:
                    self._queue.keeper.previewed(self.job)
            self._queue.changed()


class JobQueue:
    """Lanes of worker threads, each taking turns between sessions and, within a session, first come first served.

    ``lanes`` maps a lane name to its number of workers; ``max_waiting`` bounds each lane's waiting line and
    ``per_session`` (None: no bound) the jobs one session has waiting across the lanes, so no one fills a line;
    ``keep_finished`` bounds how many finished jobs each session keeps (oldest dropped first); ``max_seconds``
    (None: no limit) is how long a job may run before it is stopped like a cancel; ``observer`` is called
    (outside the lock) with each job that finished its work; ``keeper`` (a store) hears of every job queued,
    started, finished or forgotten.
    """

    def __init__(self, lanes: dict[str, int], max_waiting: int = 50, keep_finished: int = 20,
                 max_seconds: float | None = None, observer: Callable[[Job], None] | None = None,
                 per_session: int | None = None, keeper: Keeper | None = None) -> None:
        self.observer, self.per_session, self.keeper = observer, per_session, keeper
        self.lock = threading.Condition()
        self.version = 0  # bumped on every change, so watchers can poll cheaply
        self.max_waiting, self.keep_finished, self.max_seconds = max_waiting, keep_finished, max_seconds
        self.jobs: dict[str, Job] = {}
        self.waiting: dict[str, list[Job]] = {lane: [] for lane in lanes}  # in order of submission
        self.turns = 0  # counts the jobs started, to order sessions by their last turn
        self.last_turn: dict[str, dict[str, int]] = {lane: {} for lane in lanes}  # lane -> session -> turn
        self._stopping = False
        self.threads = [threading.Thread(target=self._work, args=(lane,), name=f"stylekit-{lane}-{i}", daemon=True)
                        for lane, count in lanes.items() for i in range(count)]
        for thread in self.threads:
            thread.start()

    def changed(self) -> None:
        """Note a change (call with the lock held)."""
        self.version += 1
        self.lock.notify_all()

    def submit(self, job: Job) -> Job:
        """Queue a job in its lane; raises :class:`QueueFull` when the lane's line, or the session's share, is
        full."""
        with self.lock:
            line = self.waiting[job.lane]
            mine = sum(j.session == job.session for jobs in self.waiting.values() for j in jobs)
            if self.per_session is not None and mine >= self.per_session:
                raise QueueFull(f"this page has {mine} jobs waiting, as many as one page may: let one finish or "
                                "cancel one first")
            if len(line) >= self.max_waiting:
                raise QueueFull(f"the {job.lane} queue is full ({len(line)} jobs waiting): try again later")
            self.jobs[job.id] = job
            line.append(job)
            self._kept(job)
            self.changed()
        return job

    def restore(self, job: Job) -> None:
        """Take back a finished job a store kept (it is not queued)."""
        with self.lock:
            self.jobs[job.id] = job
            self.changed()

    def _kept(self, job: Job) -> None:
        if self.keeper is not None:
            self.keeper.kept(job)

    def _forget(self, job: Job) -> None:
        """Drop a stopped job (call with the lock held)."""
        if self.jobs.pop(job.id, None) is not None and self.keeper is not None:
            self.keeper.forgot(job)

    def find(self, job_id: str) -> Job | None:
        """Any session's job with this id, not removed: the server's own bookkeeping, never a route's answer."""
        with self.lock:
            job = self.jobs.get(job_id)
            return job if job is not None and not job.removed else None

    def owned(self, job_id: str, session: str | None) -> Job | None:
        """The job with this id if it is ``session``'s: the one ownership rule of every route that names a job
        (no session, an empty one or another one: None, as for a job that does not exist)."""
        job = self.find(job_id)
        return job if job is not None and session and job.session == session else None

    def line(self, lane: str) -> list[Job]:
        """The lane's waiting jobs in the order they will run: round robin between sessions (the session whose
        last turn is longest ago goes first), each session's own jobs in the order it sent them."""
        with self.lock:
            rounds: dict[str, int] = {}
            keyed = []
            for seq, job in enumerate(self.waiting[lane]):
                rounds[job.session] = rounds.get(job.session, -1) + 1
                keyed.append(((rounds[job.session], self.last_turn[lane].get(job.session, -1), seq), job))
            return [job for _, job in sorted(keyed, key=lambda pair: pair[0])]

    def position(self, job: Job) -> int | None:
        """1-based place of a waiting job in its lane, None once it runs."""
        with self.lock:
            line = self.line(job.lane)
            return line.index(job) + 1 if job in line else None

    def describe(self, job: Job) -> dict[str, Any]:
        """A consistent snapshot of one job, with its place in line."""
        with self.lock:
            return job.snapshot(self.position(job), self.version)

    def session_jobs(self, session: str) -> list[dict[str, Any]]:
        """Snapshots of a session's jobs, oldest first."""
        with self.lock:
            places = {job.id: place for lane in self.waiting for place, job in enumerate(self.line(lane), 1)}
            return [job.snapshot(places.get(job.id), self.version) for job in self.jobs.values()
                    if job.session == session and not job.removed]

    def in_use(self) -> set[str]:
        """The uploads that jobs waiting or running read."""
        with self.lock:
            return {image for job in self.jobs.values() if job.state not in FINISHED for image in job.uses}

    def holders(self) -> set[str]:
        """The sessions that keep a finished result."""
        with self.lock:
            return {job.session for job in self.jobs.values() if job.state in FINISHED and job.output is not None}

    def expire(self, before: float) -> int:
        """Forget the jobs that finished before ``before`` (seconds since the epoch); how many."""
        with self.lock:
            old = [job for job in self.jobs.values() if job.state in FINISHED and (job.finished or 0) < before]
            for job in old:
                self._forget(job)
            if old:
                self.changed()
            return len(old)

    def activity(self) -> dict[str, tuple[bool, float]]:
        """Per session with jobs: whether one is waiting or running, and when its last one finished (0: none)."""
        with self.lock:
            out: dict[str, tuple[bool, float]] = {}
            for job in self.jobs.values():
                busy, last = out.get(job.session, (False, 0.0))
                out[job.session] = (busy or job.state not in FINISHED, max(last, job.finished or 0.0))
            return out

    def remove(self, job: Job) -> None:
        """Cancel a job and forget it (a running one as soon as it stops)."""
        with self.lock:
            self.cancel(job)
            job.removed = True
            if job.state in FINISHED:
                self._forget(job)
            elif self.keeper is not None:
                self.keeper.forgot(job)  # at once, so a crash before it stops cannot bring it back
            self.changed()

    def cancel(self, job: Job) -> None:
        """Stop a job: a waiting one never runs, a running one stops at its next report and keeps its best."""
        with self.lock:
            job.cancel_event.set()
            line = self.waiting[job.lane]
            if job in line:
                line.remove(job)
                job.state, job.finished = CANCELLED, time.time()
                self._kept(job)
            self.changed()

    def close_session(self, session: str) -> None:
        """The session is over: cancel its jobs and drop them (running ones once they stop)."""
        with self.lock:
            for job in [j for j in self.jobs.values() if j.session == session]:
                self.remove(job)
            for turns in self.last_turn.values():
                turns.pop(session, None)
            self.changed()

    def counts(self) -> dict[str, dict[str, int]]:
        """Per lane, how many jobs wait and how many run."""
        with self.lock:
            running = {lane: 0 for lane in self.waiting}
            for job in self.jobs.values():
                if job.state == RUNNING:
                    running[job.lane] += 1
            return {lane: {"waiting": len(line), "running": running[lane]} for lane, line in self.waiting.items()}

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` (checked under the lock after each change) holds or ``timeout`` passes."""
        with self.lock:
            return self.lock.wait_for(predicate, timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the running jobs (each keeps its best so far) and the workers; waiting jobs stay queued, for a
        store to start again."""
        with self.lock:
            self._stopping = True
            for job in self.jobs.values():
                if job.state == RUNNING:
                    job.cancel_event.set()
            self.changed()
        for thread in self.threads:
            thread.join(timeout)

    def _next(self, lane: str) -> Job | None:
        with self.lock:
            while not self._stopping and not self.waiting[lane]:
                self.lock.wait()
            if self._stopping:
                return None
            job = self.line(lane)[0]
            self.waiting[lane].remove(job)
            self.turns += 1
            self.last_turn[lane][job.session] = self.turns
            job.state, job.started = RUNNING, time.time()
            self._kept(job)
            self.changed()
            return job

    def _work(self, lane: str) -> None:
        while (job := self._next(lane)) is not None:
            try:
                output, error = job.run(JobContext(self, job)), None  # type: ignore[misc]
            except StylekitError as exc:
                output, error = None, str(exc)
            except Exception:  # a failing job must not take the server down
                log.exception("job %s (%s) failed", job.id, job.method)
                output, error = None, "something went wrong on the server while making this picture (its log " \
                                      "has the details): try again, or a smaller size"
            with self.lock:
                job.run = None  # its inputs can go
                finished = time.time()
                ran = finished - (job.started or finished)
                if output is not None and self.max_seconds is not None and ran > self.max_seconds \
                        and not job.timed_out:
                    output = dataclasses.replace(output, warnings=(  # a job that never stops to ask ran over
                        *output.warnings, f"it took {ran:.0f} s, over this server's limit of {self.max_seconds:g} s "
                        "per job"))
                job.output, job.error, job.finished = output, error, finished
                if output is not None:
                    job.preview = None  # the result replaces it (finished jobs are kept for days)
                job.state = FAILED if error else CANCELLED if job.cancel_event.is_set() else DONE
                best = "; the best image so far is kept" if output is not None else ""
                if job.timed_out and not error:
                    job.error = f"stopped at this server's limit of {self.max_seconds:g} s per job{best}"
                elif self._stopping and job.state == CANCELLED:
                    job.error = f"stopped when the server stopped{best}"
                if job.removed:
                    self._forget(job)
                else:
                    self._kept(job)
                self._trim(job.session)
                self.changed()
            if job.state == DONE and self.observer is not None:
                try:
                    self.observer(job)
                except Exception:  # learning is a nicety: never lose the worker over it
                    log.exception("observing job %s failed", job.id)

    def _trim(self, session: str) -> None:
        finished = [j for j in self.jobs.values() if j.session == session and j.state in FINISHED]
        for job in finished[: max(0, len(finished) - self.keep_finished)]:
            self._forget(job)
