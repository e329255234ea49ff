"""The web UI's job queue and the glue that runs methods as jobs (no HTTP here)."""
from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from stylekit.errors import StylekitError
from stylekit.options import DreamOptions, FastOptions, InvertOptions, TextureOptions, TransferOptions, namer
from stylekit.web.jobs import (CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job, JobContext, JobOutput, JobQueue,
                             QueueFull)
from stylekit.options.registry import OPTIMISE, QUICK
from stylekit.web.tasks import check_limits, methods_by_name, total_steps

from ..conftest import pattern

OUT = JobOutput(b"x", "image/png", (1, 1))


@pytest.fixture
def queue():
    q = JobQueue({OPTIMISE: 1, QUICK: 1}, max_waiting=3)
    yield q
    q.shutdown()


def blocking(release: threading.Event, started: threading.Event | None = None):
    """A job function that waits for ``release`` (or its cancellation) and then returns."""
    def run(ctx):
        if started is not None:
            started.set()
        while not release.wait(0.01):
            if ctx.cancelled:
                return JobOutput(b"best", "image/png", (1, 1), interrupted=True)
        return OUT
    return run


def wait_state(queue: JobQueue, job: Job, *states: str) -> None:
    assert queue.wait_for(lambda: job.state in states, 10), f"job stayed {job.state}"


def test_optimisations_wait_in_line_and_quick_jobs_pass_them(queue):
    release = threading.Event()
    first = queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    wait_state(queue, first, RUNNING)
    second = queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    third = queue.submit(Job("s", "texture", OPTIMISE, blocking(release)))
    assert (second.state, queue.position(second), queue.position(third)) == (QUEUED, 1, 2)
    quick = queue.submit(Job("s", "fast", QUICK, lambda ctx: OUT))
    wait_state(queue, quick, DONE)  # not stuck behind the running optimisation
    assert first.state == RUNNING and queue.counts()[OPTIMISE] == {"waiting": 2, "running": 1}
    snapshots = {s["id"]: s for s in queue.session_jobs("s")}
    assert snapshots[third.id]["position"] == 2 and snapshots[quick.id]["has_result"]
    release.set()
    for job in (first, second, third):
        wait_state(queue, job, DONE)


def test_more_workers_run_more_optimisations_at_once():
    queue = JobQueue({OPTIMISE: 2, QUICK: 1})
    try:
        release = threading.Event()
        jobs = [queue.submit(Job("s", "transfer", OPTIMISE, blocking(release))) for _ in range(3)]
        assert queue.wait_for(lambda: [j.state for j in jobs] == [RUNNING, RUNNING, QUEUED], 10)
        release.set()
        for job in jobs:
            wait_state(queue, job, DONE)
    finally:
        queue.shutdown()


def test_cancel_a_waiting_and_a_running_job(queue):
    release, ran = threading.Event(), []
    running = queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    wait_state(queue, running, RUNNING)
    waiting = queue.submit(Job("s", "transfer", OPTIMISE, lambda ctx: ran.append(1) or OUT))
    queue.cancel(waiting)
    assert waiting.state == CANCELLED and queue.position(waiting) is None
    queue.cancel(running)
    wait_state(queue, running, CANCELLED)
    assert running.output.data == b"best" and running.snapshot()["interrupted"]  # the best so far is kept
    follow = queue.submit(Job("s", "transfer", OPTIMISE, lambda ctx: OUT))
    wait_state(queue, follow, DONE)
    assert ran == []  # the cancelled waiting job never ran


def test_failures_are_reported_and_the_queue_goes_on(queue):
    def broken(ctx):
        raise RuntimeError("boom")

    def user_error(ctx):
        raise StylekitError("unknown layer 'relu9_9'")

    jobs = [queue.submit(Job("s", "dream", OPTIMISE, fn)) for fn in (broken, user_error, lambda ctx: OUT)]
    for job in jobs:
        wait_state(queue, job, DONE, FAILED)
    assert jobs[0].state == FAILED and jobs[0].error.startswith("something went wrong on the server")
    assert "RuntimeError" not in jobs[0].error and "boom" not in jobs[0].error  # the log has it, not the page
    assert jobs[1].error == "unknown layer 'relu9_9'"
    assert jobs[2].state == DONE


def test_closing_a_session_cancels_and_forgets_its_jobs_only(queue):
    release, started = threading.Event(), threading.Event()
    mine = queue.submit(Job("mine", "transfer", OPTIMISE, blocking(release, started)))
    assert started.wait(10)
    mine_waiting = queue.submit(Job("mine", "transfer", OPTIMISE, lambda ctx: OUT))
    theirs = queue.submit(Job("theirs", "transfer", OPTIMISE, lambda ctx: OUT))
    queue.close_session("mine")
    assert queue.wait_for(lambda: mine.state == CANCELLED, 10)
    assert queue.find(mine.id) is None and queue.find(mine_waiting.id) is None
    wait_state(queue, theirs, DONE)
    assert queue.owned(theirs.id, "theirs") is theirs and queue.owned(theirs.id, "mine") is None
    assert queue.owned(theirs.id, None) is None and queue.owned(theirs.id, "") is None  # no session owns nothing


def test_full_lane_refuses_more(queue):
    release = threading.Event()
    running = queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    wait_state(queue, running, RUNNING)
    for _ in range(3):
        queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    with pytest.raises(QueueFull, match="queue is full"):
        queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    release.set()


def test_finished_jobs_per_session_are_bounded():
    queue = JobQueue({OPTIMISE: 1, QUICK: 1}, keep_finished=2)
    try:
        jobs = [queue.submit(Job("s", "fast", QUICK, lambda ctx: OUT)) for _ in range(4)]
        wait_state(queue, jobs[-1], DONE)
        assert [j["id"] for j in queue.session_jobs("s")] == [j.id for j in jobs[2:]]
    finally:
        queue.shutdown()


def test_form_values_are_parsed_and_checked_with_the_pages_labels():
    methods = methods_by_name()
    transfer = {f["name"]: f for f in methods["transfer"].describe()["fields"]}
    d = TransferOptions()
    assert transfer["size"]["default"] == d.size and transfer["steps"]["default"] is None
    assert transfer["quality"]["default"] == "normal" and transfer["quality"]["choices"] == ["draft", "normal", "high"]
    options = methods["transfer"].parse({"size": "300", "steps": "10,5", "min_size": "", "seed": "3"}, {})
    assert options.size == 300 and options.steps == (10, 5) and options.min_size is None
    assert options.seed == 3 and options.style_weight == d.style_weight
    assert methods["texture"].parse({"size": "640x320"}, {}).size == (320, 640)
    assert methods["transfer"].parse({"size": "640x320"}, {}).size == (320, 640)  # sizes take WxH everywhere
    with pytest.raises(StylekitError, match="^style weight must be a number, got 'lots'$"):
        methods["transfer"].parse({"style_weight": "lots"}, {})
    with pytest.raises(StylekitError, match=r"^optimizer must be one of lbfgs, adam, sgd, got 'bfgs'$"):
        methods["transfer"].parse({"optimizer": "bfgs"}, {})
    with pytest.raises(StylekitError, match="unknown option.*path"):
        methods["transfer"].parse({"path": "/etc/passwd"}, {})
    with pytest.raises(StylekitError, match="start from must be one of content, noise, style"):
        methods["transfer"].parse({"init": "/etc/passwd"}, {})  # the page never names a file on the server
    label = namer(TransferOptions, "web")
    with pytest.raises(StylekitError, match="^size 4000 px is above this server's limit of 1024 px"):
        check_limits(TransferOptions(size=4000), 1024, 5000, label)
    with pytest.raises(StylekitError, match="above this server's limit"):
        check_limits(TransferOptions(size=(300, 2000)), 1024, 5000, label)


def test_a_transfer_job_reports_previews_and_stops_with_its_best_image(queue):
    method = methods_by_name()["transfer"]
    options = method.parse({"size": "40", "steps": "200", "min_size": "", "backbone": "scratch",
                            "early_stopping": False, "seed": "1"}, {})
    content, style = Image.fromarray(pattern(48, 0)), Image.fromarray(pattern(48, 1, "style"))

    job = queue.submit(Job("s", "transfer", OPTIMISE, lambda ctx: method.run(content, [style], options, ctx, 2)))
    assert queue.wait_for(lambda: job.progress.get("step", 0) >= 6, 60)
    assert job.preview_version >= 2 and Image.open(io.BytesIO(job.preview)).format == "JPEG"
    queue.cancel(job)
    wait_state(queue, job, CANCELLED)
    assert job.output.interrupted and job.progress["step"] < 200 and job.progress["total"] == 200
    assert Image.open(io.BytesIO(job.output.data)).size == (40, 40)


def test_a_lane_takes_turns_between_sessions(queue):
    release, order = threading.Event(), []

    def records(name: str):
        def run(ctx):
            order.append(name)
            return OUT
        return run

    first = queue.submit(Job("a", "transfer", OPTIMISE, blocking(release)))
    wait_state(queue, first, RUNNING)
    mine = [queue.submit(Job("a", "transfer", OPTIMISE, records(f"a{i}"))) for i in (1, 2)]
    theirs = queue.submit(Job("b", "transfer", OPTIMISE, records("b1")))
    assert [queue.position(j) for j in (theirs, *mine)] == [1, 2, 3]  # b has not had a turn yet: it goes first
    assert [j["position"] for j in queue.session_jobs("b")] == [1]
    release.set()
    wait_state(queue, mine[-1], DONE)
    assert order == ["b1", "a1", "a2"]


def test_a_job_past_the_time_limit_stops_like_a_cancel_and_keeps_its_best():
    queue = JobQueue({OPTIMISE: 1, QUICK: 1}, max_seconds=0.0)  # every check finds it over its time
    try:
        job = queue.submit(Job("s", "transfer", OPTIMISE, blocking(threading.Event())))
        wait_state(queue, job, CANCELLED)
        assert job.output.data == b"best" and job.snapshot()["interrupted"]
        assert job.error == "stopped at this server's limit of 0 s per job; the best image so far is kept"
        quick = queue.submit(Job("s", "fast", QUICK, lambda ctx: OUT))  # a job that never asks runs to its end
        wait_state(queue, quick, DONE)
        assert quick.output.warnings[-1].startswith("it took 0 s, over this server's limit of 0 s per job")
    finally:
        queue.shutdown()


def test_steps_are_counted_over_every_scale_and_octave_and_capped():
    assert total_steps(TransferOptions(size=512, min_size=256, steps=(60, 20, 8))) == 88
    assert total_steps(TransferOptions(size=512, min_size=None, steps=(60, 20, 8))) == 60  # one scale: the first
    assert total_steps(TransferOptions(size=128)) == sum(TransferOptions.QUALITY_STEPS["normal"])  # 64, 91, 128 px
    assert total_steps(TextureOptions(size=(512, 512), min_size=256, steps=50)) == 150
    assert total_steps(DreamOptions(steps=10, octaves=4)) == 40
    assert total_steps(InvertOptions(steps=200)) == 200
    assert total_steps(FastOptions()) == 0
    with pytest.raises(StylekitError, match=r"asks for 40 optimisation steps in all, above this server's limit "
                                            r"of 39 per job: lower steps per octave"):
        check_limits(DreamOptions(steps=10, octaves=4), 1024, 39, namer(DreamOptions, "web"))


def test_one_session_has_only_its_share_of_waiting_jobs():
    queue = JobQueue({OPTIMISE: 1, QUICK: 1}, max_waiting=10, per_session=2)
    try:
        release = threading.Event()
        running = queue.submit(Job("a", "transfer", OPTIMISE, blocking(release)))
        busy = queue.submit(Job("c", "fast", QUICK, blocking(release)))
        wait_state(queue, running, RUNNING)
        wait_state(queue, busy, RUNNING)
        queue.submit(Job("a", "transfer", OPTIMISE, blocking(release)))
        queue.submit(Job("a", "fast", QUICK, blocking(release)))  # the share spans the lanes
        with pytest.raises(QueueFull, match="2 jobs waiting"):
            queue.submit(Job("a", "transfer", OPTIMISE, blocking(release)))
        assert queue.submit(Job("b", "transfer", OPTIMISE, blocking(release))).state == QUEUED
        release.set()
    finally:
        queue.shutdown()


class Heard:
    """A keeper that notes what the queue tells it."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str, str]] = []

    def kept(self, job: Job) -> None:
        self.said.append(("kept", job.id, job.state))

    def previewed(self, job: Job) -> None:
        self.said.append(("previewed", job.id, job.state))

    def forgot(self, job: Job) -> None:
        self.said.append(("forgot", job.id, job.state))


def test_the_keeper_hears_every_change_and_a_shutdown_leaves_waiting_jobs_queued():
    heard = Heard()
    queue = JobQueue({OPTIMISE: 1}, keeper=heard, keep_finished=1)
    release, started = threading.Event(), threading.Event()
    first = queue.submit(Job("s", "transfer", OPTIMISE, lambda ctx: OUT))
    wait_state(queue, first, DONE)
    running = queue.submit(Job("s", "transfer", OPTIMISE, blocking(release, started)))
    assert started.wait(10)
    JobContext(queue, running).report(b"jpeg", step=1)
    waiting = queue.submit(Job("s", "transfer", OPTIMISE, blocking(release)))
    queue.shutdown()
    assert running.state == CANCELLED and running.error == "stopped when the server stopped; the best image so " \
        "far is kept" and running.output.read() == b"best"
    assert waiting.state == QUEUED and waiting.cancel_event.is_set() is False  # for a store to start again
    assert heard.said == [("kept", first.id, QUEUED), ("kept", first.id, RUNNING), ("kept", first.id, DONE),
                          ("kept", running.id, QUEUED), ("kept", running.id, RUNNING),
                          ("previewed", running.id, RUNNING), ("kept", waiting.id, QUEUED),
                          ("kept", running.id, CANCELLED), ("forgot", first.id, DONE)]  # keep_finished=1


def test_a_job_record_brings_back_the_finished_job(tmp_path):
    job = Job("s", "fast", QUICK, None, state=DONE, finished=5.0, inputs={"title": "Quick"}, estimate=2.0,
              error=None, output=JobOutput(None, "image/png", (3, 2), True, ("w",), tmp_path / "x.result"))
    (tmp_path / "x.result").write_bytes(b"png")
    back = Job.from_record(job.id, "s", {**job.record(), "file": "x.result"}, tmp_path)
    assert back.snapshot() == job.snapshot() and back.output.read() == b"png" and back.run is None
