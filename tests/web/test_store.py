"""The server's store (``--data-dir``): a restart, even after ``kill -9``, keeps every finished result, the pictures
and the waiting jobs; results are kept for ``--keep-days`` within ``--max-disk-mb``; a session keeping results is
never pushed out; one server per folder."""
from __future__ import annotations

import json
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error

import pytest

from stylekit.cli import main
from stylekit.web import BackgroundServer, ServerConfig

from ..conftest import pattern
from .test_hardening import LONG_JOB
from .test_server import SCRATCH, Client, png_bytes

QUICK = {**SCRATCH, "steps": "10"}


def serving(data_dir, **settings: object) -> BackgroundServer:
    return BackgroundServer(ServerConfig(port=0, data_dir=str(data_dir), **settings))


def resumed(url: str, session: str) -> Client:
    """A client that takes up ``session`` again, as a reloaded page does."""
    client = Client(url)
    answer = client.call("POST", "/api/session", {"resume": session})
    assert answer["resumed"] and answer["session"] == session
    client.session = session
    return client


def result(client: Client, job_id: str) -> tuple[int, bytes]:
    status, data, _ = client.raw("GET", f"/api/jobs/{job_id}/result.png?session={client.session}")
    return status, data


def test_a_restart_keeps_finished_results_pictures_and_waiting_jobs(tmp_path):
    with serving(tmp_path, workers=1) as server:
        client = Client(server.url)
        photo = client.upload(png_bytes(pattern(48)), "mine.png")["id"]
        done = client.submit("transfer", photo, ["ex-swirls"], QUICK)["id"]
        assert client.wait(done)["state"] == "done"
        kept = result(client, done)[1]
        running = client.submit("transfer", photo, ["ex-swirls"], LONG_JOB)["id"]
        waiting = client.submit("transfer", photo, ["ex-swirls"], QUICK)["id"]
        client.wait(running, ("running",))
    with serving(tmp_path, workers=1) as server:  # the same folder: everything is back
        again = resumed(server.url, client.session)
        assert result(again, done) == (200, kept)
        assert again.raw("GET", f"/api/images/{photo}.jpg?session={again.session}")[0] == 200
        stopped = again.job(running)
        assert stopped["state"] == "cancelled" and stopped["has_result"]
        assert "stopped when the server stopped; the best image so far is kept" in stopped["error"]
        assert again.wait(waiting)["state"] == "done"  # queued again, and run
        history = again.call("POST", "/api/session", {"resume": again.session})
        assert [image["id"] for image in history["images"]] == [photo]
        assert result(Client(server.url), done)[0] in (404, 410)  # still nobody else's


def test_after_kill_9_the_running_job_keeps_its_last_saved_preview(tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "stylekit", "serve", "--port", "0", "--data-dir", str(data),
                             "--preview-every", "1"], stderr=subprocess.PIPE, text=True)
    try:
        url = server_url(proc)
        client = Client(url)
        job = client.submit("transfer", "ex-portrait", ["ex-swirls"], LONG_JOB)["id"]
        client.wait(job, ("running",))
        deadline = time.time() + 60
        while not preview_saved(data, job):
            assert time.time() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    with serving(data) as server:
        again = resumed(server.url, client.session)
        stopped = again.job(job)
        assert stopped["state"] == "cancelled" and stopped["interrupted"]
        assert stopped["error"] == "the server stopped while this job ran: the best image so far is kept"
        status, image = result(again, job)
        assert status == 200 and image.startswith(b"\x89PNG")


def server_url(proc: subprocess.Popen) -> str:
    """The URL ``stylekit serve`` says it listens on, once it answers."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stderr.readline()), daemon=True).start()
    url = lines.get(timeout=60).split("open ")[1].split(" ;")[0]
    deadline = time.time() + 30
    while True:  # the socket listens before uvicorn starts answering
        try:
            Client(url)
            return url
        except (urllib.error.URLError, ConnectionError):
            assert time.time() < deadline
            time.sleep(0.1)


def preview_saved(folder, job_id: str) -> bool:
    try:
        with sqlite3.connect(folder / "stylekit.sqlite3") as db:
            row = db.execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and json.loads(row[0]).get("preview"))


def test_ctrl_c_says_how_many_results_are_kept(tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "stylekit", "serve", "--port", "0", "--data-dir", str(data)],
                            stderr=subprocess.PIPE, text=True)
    try:
        client = Client(server_url(proc))
        for _ in range(2):
            assert client.wait(client.submit("transfer", "ex-portrait", ["ex-swirls"], QUICK)["id"])["state"] == "done"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        said = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert f"stopped; 2 results kept in {data}, there when it starts again (each for 7 days)" in said


def test_a_session_keeping_results_is_never_pushed_out_and_a_full_server_says_so(tmp_path):
    with serving(tmp_path, max_sessions=3) as server:
        keeper = Client(server.url)
        job = keeper.submit("transfer", "ex-portrait", ["ex-swirls"], QUICK)["id"]
        assert keeper.wait(job)["state"] == "done"
        for _ in range(30):  # new visitors, each with an upload: they push out each other, never the keeper
            Client(server.url).upload(png_bytes(pattern(16)))
        assert keeper.session in server.state.sessions and result(keeper, job)[0] == 200
        others = [token for token in server.state.sessions if token != keeper.session]
        for token in others:  # now every session keeps a result: the next visitor is refused in plain words
            visitor = Client.__new__(Client)
            visitor.url, visitor.session = server.url, token
            job_id = visitor.submit("transfer", "ex-portrait", ["ex-swirls"], QUICK)["id"]
            assert visitor.wait(job_id)["state"] == "done"
        status, payload, _ = keeper.raw("POST", "/api/session", b"{}")
        assert status == 503 and json.loads(payload)["error"].startswith("this server is full")
        assert len(server.state.sessions) == 3 and result(keeper, job)[0] == 200


def test_results_are_kept_for_keep_days_and_the_oldest_go_first_when_the_disk_is_full(tmp_path):
    with serving(tmp_path, max_disk_mb=0.02) as server:  # about 20 kB: room for a few 48-px results (5 kB)
        client = Client(server.url)
        jobs = []
        for seed in range(8):
            jobs.append(client.submit("transfer", "ex-portrait", ["ex-swirls"], {**QUICK, "seed": str(seed)})["id"])
            assert client.wait(jobs[-1])["state"] == "done"
        server.state.store.flush()
        kept = [job for job in jobs if result(client, job)[0] == 200]
        sizes = {p.name: p.stat().st_size for p in server.state.store.files.iterdir()}
        assert kept and kept == jobs[len(jobs) - len(kept):] and len(kept) < len(jobs), sizes  # the newest
        assert server.state.store.used <= 0.02 * 2**20
        server.state.queue.find(kept[0]).finished -= server.state.config.keep_days * 86400 + 1
        server.state.expire()  # past --keep-days
        assert result(client, kept[0])[0] in (404, 410) and result(client, kept[-1])[0] == 200
        server.state.store.flush()
        assert sorted(p.name for p in server.state.store.files.iterdir()) == sorted(f"{j}.result" for j in kept[1:])


def test_one_server_per_folder_and_an_unreadable_store_is_one_line(tmp_path, capsys):
    with serving(tmp_path / "data"):
        assert main(["serve", "--port", "0", "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another stylekit server is writing" in err and "--data-dir" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "stylekit.sqlite3").write_bytes(b"not a database, " * 100)
    assert main(["serve", "--port", "0", "--data-dir", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read as the server's store" in err and "Traceback" not in err


@pytest.mark.parametrize("debris", ["orphan.result", ".x.result.pid1.tmp.result"])
def test_files_a_crash_left_without_their_row_are_removed(tmp_path, debris):
    with serving(tmp_path) as server:
        client = Client(server.url)
        job = client.submit("transfer", "ex-portrait", ["ex-swirls"], QUICK)["id"]
        client.wait(job)
    (tmp_path / "files" / debris).write_bytes(b"half a picture")
    with serving(tmp_path) as server:
        assert sorted(p.name for p in server.state.store.files.iterdir()) == [f"{job}.result"]
        assert result(resumed(server.url, client.session), job)[0] == 200


def test_an_upload_pushed_out_stays_on_disk_until_the_waiting_job_that_reads_it_has_run(tmp_path):
    with serving(tmp_path, workers=1, max_images=2) as server:
        client = Client(server.url)
        photo = client.upload(png_bytes(pattern(48)), "mine.png")["id"]
        blocker = client.submit("transfer", "ex-portrait", ["ex-swirls"], LONG_JOB)["id"]
        client.wait(blocker, ("running",))
        waiting = client.submit("transfer", photo, ["ex-swirls"], QUICK)["id"]
        for seed in (1, 2):  # two newer uploads push it out of the session
            client.upload(png_bytes(pattern(48, seed)), f"other{seed}.png")
        server.state.store.flush()
        assert photo not in server.state.sessions[client.session].images
        client.call("POST", f"/api/jobs/{blocker}/cancel?session={client.session}")
        assert client.wait(waiting)["state"] == "done"
        server.state.expire()  # now nothing reads it: its file goes
        server.state.store.flush()
        assert not (server.state.store.files / f"{photo}.upload").exists()


def finished_job(queue, name: str, size: int = 1000):
    from stylekit.web.jobs import DONE, Job, JobOutput

    job = Job("s" * 16, "transfer", "optimise", None, id=name * 12, state=DONE, finished=time.time())
    job.output = JobOutput(b"x" * size, "image/png", (1, 1))
    with queue.lock:
        queue.jobs[job.id] = job
        queue._kept(job)
    return job


def test_making_room_removes_the_oldest_results_just_enough_even_while_closing(tmp_path):
    import types

    from stylekit.web.jobs import JobQueue
    from stylekit.web.sessions import State
    from stylekit.web.store import Store

    store = Store(tmp_path, max_bytes=3000)
    queue = JobQueue({"optimise": 0}, keeper=store)
    store.on_full = lambda excess, keep: State._make_room(types.SimpleNamespace(store=store, queue=queue),
                                                          excess, keep)
    for name in "ABC":
        finished_job(queue, name)
        store.flush()
        time.sleep(0.01)
    with queue.lock:  # two results at once: each removal counted once
        finished_job(queue, "X")
        finished_job(queue, "Y")
    store.flush()
    assert sorted(job_id[0] for job_id in store.results) == ["C", "X", "Y"] and store.used == 3000
    finished_job(queue, "Z")  # written as the store closes: what it removes stays removed
    assert store.close() == 3
    reopened = Store(tmp_path, max_bytes=3000)
    assert sorted(row["id"][0] for row in reopened.load().jobs) == ["X", "Y", "Z"]
    reopened.close()


def test_a_damaged_store_row_is_dropped_not_fatal(tmp_path):
    with serving(tmp_path) as server:
        client = Client(server.url)
        job = client.submit("transfer", "ex-portrait", ["ex-swirls"], QUICK)["id"]
        client.wait(job)
    with sqlite3.connect(tmp_path / "stylekit.sqlite3") as db:
        db.execute("INSERT INTO jobs VALUES ('../../etc', 's', 'done', 0, '{\"file\": \"../x\"}', NULL)")
        db.execute("INSERT INTO jobs VALUES ('AAAAAAAAAAAA', ?, 'done', 0, '[1, 2]', NULL)", (client.session,))
        db.execute("INSERT INTO images VALUES ('BBBBBBBBBBBB', ?, '{\"file\": null}', 0)", (client.session,))
    with serving(tmp_path) as server:
        again = resumed(server.url, client.session)
        assert result(again, job)[0] == 200
        server.state.store.flush()
    with sqlite3.connect(tmp_path / "stylekit.sqlite3") as db:
        assert [row[0] for row in db.execute("SELECT id FROM jobs")] == [job]
        assert list(db.execute("SELECT id FROM images")) == []
