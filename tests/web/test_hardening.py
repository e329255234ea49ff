"""``stylekit serve`` against careless and hostile clients, over real HTTP on loopback: host names (DNS
rebinding), stalled and oversized bodies, the upload memory budget, sessions, step and time caps, settings
checked before listening, and a log without tracebacks."""
from __future__ import annotations

import http.client
import io
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from stylekit.cli import main
from stylekit.web import BackgroundServer, ServerConfig
from stylekit.web import server as server_module
from stylekit.web.guards import HostCheck, host_name

from ..conftest import bomb, pattern
from .test_server import Client, png_bytes, post_and_read

LONG_JOB = {"size": "48", "steps": "5000", "min_size": "", "backbone": "scratch", "early_stopping": False}


def serving(**settings: object) -> BackgroundServer:
    return BackgroundServer(ServerConfig(port=0, **settings))


def address(server: BackgroundServer) -> tuple[str, int]:
    where = urllib.parse.urlsplit(server.url)
    return where.hostname, where.port


def with_host(server: BackgroundServer, host: str | None, method: str = "GET",
              path: str = "/api/config") -> tuple[int, bytes]:
    """A request whose Host header is ``host`` (None: no Host header at all)."""
    connection = http.client.HTTPConnection(*address(server), timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def send_head(sock: socket.socket, path: str, declared: int) -> None:
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n\r\n".encode())


def stalled(server: BackgroundServer, path: str, declared: int, sent: bytes) -> tuple[int, dict]:
    """Promise ``declared`` bytes of body, send only ``sent``, and read the answer (the server then closes)."""
    with socket.create_connection(address(server), timeout=30) as sock:
        send_head(sock, path, declared)
        sock.sendall(sent)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def eventually(predicate, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "the condition never held"
        time.sleep(0.01)


# ---- host names and origins (DNS rebinding) ---------------------------------------------------------------

def test_requests_naming_another_host_are_refused():
    with serving(allowed_hosts="stylekit.lan, Studio.Local") as server:
        port = address(server)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST", "stylekit.lan",
                     f"studio.local.:{port}"):
            assert with_host(server, host)[0] == 200, host
        for host in (f"evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]", ""):
            status, payload = with_host(server, host)
            assert status == 421, host
            message = json.loads(payload)["error"]
            assert "does not answer to the host name" in message and "--allowed-hosts" in message
            assert "\n" not in message
        assert "'evil.example'" in json.loads(with_host(server, f"evil.example:{port}")[1])["error"]
        assert with_host(server, None)[0] in (400, 421)  # no Host at all
        sessions = len(server.state.sessions)
        assert with_host(server, "evil.example", "POST", "/api/session")[0] == 421
        assert len(server.state.sessions) == sessions  # refused before anything happened


def test_another_sites_page_cannot_post_here_nor_push_out_kept_sessions():
    with serving(max_sessions=2) as server:
        url, port = server.url, address(server)[1]
        foreign = urllib.request.Request(url + "/api/session", data=b"{}", method="POST",
                                         headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(foreign, timeout=30)
        assert refused.value.code == 403 and "not one of this server's own" in json.loads(refused.value.read())["error"]
        own = urllib.request.Request(url + "/api/session", data=b"{}", method="POST",
                                     headers={"Origin": f"http://127.0.0.1:{port}"})
        with urllib.request.urlopen(own, timeout=30) as answer:
            kept = json.loads(answer.read())["session"]
        working = Client(url)
        job = working.submit("transfer", "ex-portrait", ["ex-swirls"], {**LONG_JOB, "steps": "5000"})
        server.state.sessions[kept].images["x"] = server.state.examples["ex-swirls"]  # it holds a picture
        server.state.queue.wait_for(lambda: server.state.queue.find(job["id"]).state == "running", 30)
        newcomer = Client(url)  # full: the one holding only a picture goes, never the one with a running job
        assert set(server.state.sessions) == {working.session, newcomer.session}
        third = Client(url)  # and again: the idle newcomer makes room, the working one stays
        assert set(server.state.sessions) == {working.session, third.session}
        working.call("POST", f"/api/jobs/{job['id']}/cancel?session={working.session}")


def test_a_server_on_every_address_answers_to_addresses_but_not_to_other_names():
    assert host_name("[::1]:7860") == "::1" and host_name("Example.COM.:80") == "example.com"
    everywhere = HostCheck(None, "0.0.0.0", ["studio.lan"])
    assert all(everywhere.serves(h) for h in ("192.168.1.20", "::1", "localhost", "studio.lan"))
    assert not any(everywhere.serves(h) for h in ("evil.example", "192.168.1.20.nip.io", "", None))
    one = HostCheck(None, "192.168.1.20")
    assert one.serves("192.168.1.20") and one.serves("127.0.0.1") and not one.serves("10.0.0.1")
    assert one.serves_page("http://192.168.1.20:7860") and not one.serves_page("http://[::1") \
        and not one.serves_page("null")


def test_a_websocket_from_a_foreign_page_is_refused():
    with serving() as server:
        client = Client(server.url)
        url = f"ws{server.url[4:]}/api/session/{client.session}/ws"
        for origin in ("http://evil.example", f"http://evil.example:{address(server)[1]}", "null", "http://[::1"):
            with pytest.raises(InvalidStatus) as refused:
                connect(url, origin=origin, open_timeout=30)
            assert refused.value.response.status_code == 403
        assert client.session in server.state.sessions  # the refused sockets never touched the session
        with connect(url, origin=f"http://localhost:{address(server)[1]}", open_timeout=30) as ws:
            assert "jobs" in json.loads(ws.recv(timeout=30))


# ---- request bodies ----------------------------------------------------------------------------------------

def test_a_stalled_body_times_out_with_408_and_holds_nothing():
    with serving(body_timeout=0.2) as server:
        client = Client(server.url)
        status, answer = stalled(server, f"/api/images?session={client.session}&name=a.png", 1_000_000,
                                 bytes(1000))
        assert status == 408 and answer["error"].startswith("the request body stopped arriving for 0.2 s")
        status, answer = stalled(server, "/api/jobs", 5000, b'{"session": ')
        assert status == 408
        assert server.state.held.used == 0
        assert client.upload(png_bytes(pattern(40)))["width"] == 40  # and the server goes on serving


def test_uploads_being_received_share_one_memory_budget_and_kept_ones_go_to_disk():
    with serving(max_upload_mb=0.75, max_uploads_mb=1, max_disk_mb=1) as server:
        client = Client(server.url)
        path = f"/api/images?session={client.session}&name=big.png"
        with socket.create_connection(address(server), timeout=30) as first:  # stalls after 600 kB of 700
            send_head(first, path, 700_000)
            first.sendall(bytes(600_000))
            eventually(lambda: server.state.held.used >= 600_000)
            status, payload = post_and_read(server.url, path, bytes(500_000), {})
            assert status == 503 and b"MB of uploads, as much as it may" in payload
        eventually(lambda: server.state.held.used == 0)  # the first client went away: its bytes are free
        noise = [png_bytes(np.random.default_rng(i).integers(0, 256, (300, 300, 3), np.uint8)) for i in range(4)]
        for data in noise[:3]:
            client.upload(data)
        server.state.store.flush()
        kept = server.state.sessions[client.session].images.values()
        assert server.state.held.used == 0 and [image.file.read_bytes() for image in kept] == noise[:3]
        assert server.state.store.used == sum(map(len, noise[:3]))  # on disk, not in memory
        assert "no room left for pictures" in client.upload(noise[3], expect=503)["error"]  # past --max-disk-mb
        with connect(f"ws{server.url[4:]}/api/session/{client.session}/ws", open_timeout=30) as ws:
            ws.recv(timeout=30)
        eventually(lambda: not server.state.sessions[client.session].pages)  # the page closed: kept a while
        server.state.sessions[client.session].last_seen -= server.state.keep + 1
        server.state.expire()  # then forgotten, with its uploads
        server.state.store.flush()
        assert client.session not in server.state.sessions and server.state.store.used == 0
        assert not list(server.state.store.files.iterdir())
        assert Client(server.url).upload(noise[3])["width"] == 300


def test_uploads_are_kept_compressed_and_decoded_for_their_jobs():
    with serving(max_side=256) as server:
        client = Client(server.url)
        flat = png_bytes(np.full((400, 600, 3), 90, np.uint8))  # 240 kP in about a kilobyte
        info = client.upload(flat, "flat.png")
        stored = server.state.sessions[client.session].images[info["id"]]
        assert stored.read() == flat and (stored.width, stored.height) == (600, 400)
        job = client.submit("fast", info["id"], ["ex-swirls"], {"style_size": "64"})
        done = client.wait(job["id"], timeout=300)
        assert done["state"] == "done" and done["size"] == [256, 171]  # capped at --max-side


def test_job_bodies_are_bounded_and_malformed_ones_get_a_one_line_400():
    with serving() as server:
        client = Client(server.url)
        session = client.session
        headers = {"Content-Type": "application/json"}
        huge = json.dumps({"session": session, "method": "fast", "options": {"alpha": "1" * 100_000}})
        status, payload = post_and_read(server.url, "/api/jobs", huge.encode(), headers)
        assert status == 413 and "at most 64 kB" in json.loads(payload)["error"]
        malformed = [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b"{", b"",
                     b"\xff\xfe\xfa", b"[]", b'"job"', b"null", b'{"session": 1' + b"0" * 5000 + b"}"]
        job = {"session": session, "method": "transfer", "content": "ex-portrait", "styles": ["ex-swirls"]}
        odd = [{"session": session, "method": [1]}, {"session": session, "method": {"a": 1}}, {"session": [session]},
               {**job, "options": [1]}, {**job, "styles": "ex-swirls"}, {**job, "content": {"id": 1}},
               {**job, "options": {"size": {"w": 1}}}, {**job, "options": {"steps": [[1]]}},
               {**job, "options": {"steps": float("inf")}}, {**job, "options": {"seed": 10 ** 400}},
               {**job, "options": {"style_weight": [[[[]]]]}}, {**job, "options": {"no such": 1}}]
        for body in malformed + [json.dumps(o).encode() for o in odd]:
            status, payload = post_and_read(server.url, "/api/jobs", body, headers)
            message = json.loads(payload)["error"]
            expected = 403 if isinstance(body, bytes) and body.startswith(b'{"session": [') else 400  # no session
            assert status == expected and message and "\n" not in message, (body[:60], status, payload[:200])
        assert client.submit("transfer", "ex-portrait", ["ex-swirls"], {**LONG_JOB, "steps": "3"})["state"]


# ---- sessions and jobs -------------------------------------------------------------------------------------

def test_sessions_are_bounded_and_those_without_a_page_expire():
    with serving(max_sessions=2, keep_minutes=1) as server:
        sessions, keep = server.state.sessions, 61
        first, second = Client(server.url), Client(server.url)
        second.upload(png_bytes(pattern(16)))  # the second was heard from last
        third = Client(server.url)  # full: the longest idle session without a page makes room
        assert first.session not in sessions and {second.session, third.session} == set(sessions)
        assert "has expired: reload the page" in first.upload(png_bytes(pattern(16)), expect=403)["error"]
        ws_url = f"ws{server.url[4:]}/api/session/{{}}/ws"
        with connect(ws_url.format(second.session), open_timeout=30) as a, \
                connect(ws_url.format(third.session), open_timeout=30) as b:
            a.recv(timeout=30)
            b.recv(timeout=30)
            for token in (second.session, third.session):
                sessions[token].last_seen -= keep  # long silent, but their pages are open
            status, payload, _ = second.raw("POST", "/api/session")
            assert status == 503 and b"this server is full" in payload  # both kept, and no room
            assert set(sessions) == {second.session, third.session}
        eventually(lambda: all(not s.pages for s in sessions.values()))
        assert set(sessions) == {second.session, third.session}  # the pages closed: kept for a reload
        for token in (second.session, third.session):
            sessions[token].last_seen -= keep
        fresh = Client(server.url)
        assert set(sessions) == {fresh.session}  # no page for longer than keep_minutes: both dropped


def test_a_job_over_the_step_cap_is_refused_naming_the_cap():
    with serving(max_steps=100) as server:
        client = Client(server.url)
        refused = client.submit("transfer", "ex-portrait", ["ex-swirls"], {**LONG_JOB, "steps": "1000"}, expect=400)
        assert refused["error"] == ("this job asks for 1000 optimisation steps in all, above this server's limit of "
                                    "100 per job: lower steps")
        assert refused["field"] == "steps"
        dream = client.submit("dream", "ex-portrait", [], {"steps": "30", "octaves": "4", "backbone": "scratch"},
                              expect=400)
        assert "asks for 120 optimisation steps" in dream["error"] and "lower steps per octave" in dream["error"]
        accepted = client.submit("transfer", "ex-portrait", ["ex-swirls"], {**LONG_JOB, "steps": "100"})
        client.call("POST", f"/api/jobs/{accepted['id']}/cancel?session={client.session}")


def test_a_job_over_the_time_cap_stops_like_a_cancel_and_keeps_its_best():
    with serving(max_job_seconds=0.3) as server:
        client = Client(server.url)
        content = client.upload(png_bytes(pattern(48)))["id"]
        refused = client.submit("transfer", content, ["ex-swirls"], LONG_JOB, expect=400)  # its estimate is over
        assert "above this server's limit of 0.3 s per job" in refused["error"]
        server.state.estimator.seconds = lambda *a, **k: 0.1  # an estimate that turns out too low
        done = client.wait(client.submit("transfer", content, ["ex-swirls"], LONG_JOB)["id"])
        assert done["state"] == "cancelled" and done["has_result"] and done["interrupted"]
        assert done["progress"].get("step", 0) < 5000
        assert done["error"] == "stopped at this server's limit of 0.3 s per job; the best image so far is kept"


def test_an_image_too_small_for_a_method_is_refused_in_the_pages_words_or_worked_around():
    with serving() as server:
        client = Client(server.url)
        for shape, method in (((1, 1), "fast"), ((2, 2), "fast"), ((8, 4000), "fast"), ((8, 4000), "transfer")):
            content = client.upload(png_bytes(np.full((*shape, 3), 100, np.uint8)))["id"]
            options = {} if method == "fast" else {"size": "64", "steps": "3", "min_size": "", "backbone": "scratch"}
            done = client.wait(client.submit(method, content, ["ex-swirls"], options)["id"], timeout=300)
            assert done["state"] in ("done", "failed"), (shape, method, done)  # worked around, or refused:
            if done["state"] == "failed":  # then in one line that names no command-line flag
                error = done["error"]
                assert "\n" not in error and not error.startswith("something went wrong") and "--" not in error, \
                    (shape, method, error)


# ---- settings checked before listening ---------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--device", "nonsense"], "unknown device 'nonsense'"),
    pytest.param(["--device", "cuda"], "no CUDA device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    (["--weights-dir", "/nonexistent/weights"], "/nonexistent/weights does not exist"),
    (["--examples", "BOMB"], "bomb.png"),
])
def test_bad_settings_are_one_line_errors_before_the_server_listens(args, message, tmp_path, monkeypatch, capsys):
    if "BOMB" in args:
        bomb(tmp_path / "bomb.png")
        args = [str(tmp_path) if a == "BOMB" else a for a in args]
    monkeypatch.setattr(server_module, "bind", lambda *a: pytest.fail("the server listened"))
    assert main(["serve", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stylekit: error: ") and err.count("\n") == 1 and message in err, err


# ---- the log -----------------------------------------------------------------------------------------------

def test_the_log_shows_no_traceback_for_anything_a_client_does(tmp_path):
    log = tmp_path / "server.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "stylekit", "serve", "--port", "0", "--body-timeout", "0.2"],
                                stderr=sink, cwd=tmp_path)
    try:
        eventually(lambda: "open http" in log.read_text() or proc.poll() is not None, 60)
        url = log.read_text().split("open ")[1].split(" ;")[0]
        where = urllib.parse.urlsplit(url)
        client = Client(url)  # the socket listens before the URL is printed: this waits for the server
        with socket.create_connection((where.hostname, where.port), timeout=30) as sock:  # an aborted upload
            send_head(sock, f"/api/images?session={client.session}&name=a.png", 100_000)
            sock.sendall(bytes(5000))
        nested = b"[" * 30_000 + b"]" * 30_000
        assert post_and_read(url, "/api/jobs", nested, {})[0] == 400
        with socket.create_connection((where.hostname, where.port), timeout=30) as sock:  # a stalled one
            send_head(sock, f"/api/images?session={client.session}&name=a.png", 100_000)
            assert sock.recv(100).startswith(b"HTTP/1.1 408")
        with socket.create_connection((where.hostname, where.port), timeout=30) as sock:  # not HTTP at all
            sock.sendall(b"HELLO\r\n\r\n")
            sock.recv(100)
        ws_url = f"ws://{where.netloc}/api/session/{client.session}/ws"
        with pytest.raises(InvalidStatus):
            connect(ws_url, origin="http://evil.example", open_timeout=30)
        with connect(ws_url, open_timeout=30) as ws:  # a page that sends bytes, not text
            ws.send(b"\x00\x01")
            ws.recv(timeout=30)
        upload = f"/api/images?session={client.session}&name=a.png"  # the page closed: kept for a reload
        assert client.raw("POST", upload, png_bytes(pattern(16)))[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    text = log.read_text()
    assert "Traceback" not in text and "Exception" not in text and "Error" not in text, text
    assert len(text.splitlines()) <= 4, text  # open, one warning for the bytes that were not HTTP, stopped


def test_uploads_are_opened_by_the_projects_one_image_opener():
    from stylekit.errors import StylekitError
    from stylekit.web.sessions import decode_upload

    large = io.BytesIO()
    Image.new("1", (9500, 9500)).save(large, "PNG")  # 90.2 megapixels: over PIL's own warning limit
    assert decode_upload(large.getvalue(), "large.png", 100_000_000).size == (9500, 9500)  # the server's limit
    huge = io.BytesIO()
    Image.new("1", (30000, 30000)).save(huge, "PNG")
    with pytest.raises(StylekitError, match=r"^huge.png is 900.0 megapixels; this server accepts up to 100.0"):
        decode_upload(huge.getvalue(), "huge.png", 100_000_000)


# ---- fair shares -----------------------------------------------------------------------------------------------

def test_one_page_cannot_fill_the_queue_for_the_others():
    with serving(max_waiting_per_session=2, max_waiting=50) as server:
        greedy, other = Client(server.url), Client(server.url)
        running = greedy.submit("transfer", "ex-portrait", ["ex-swirls"], LONG_JOB)["id"]
        greedy.wait(running, ("running",))
        for _ in range(2):
            greedy.submit("transfer", "ex-portrait", ["ex-swirls"], LONG_JOB)
        refused = greedy.submit("transfer", "ex-portrait", ["ex-swirls"], LONG_JOB, expect=503)
        assert "2 jobs waiting, as many as one page may" in refused["error"]
        assert other.submit("transfer", "ex-portrait", ["ex-swirls"], LONG_JOB)["state"] == "queued"
        for job in server.state.queue.jobs.values():
            server.state.queue.cancel(job)


def test_pages_per_session_and_per_address_are_bounded():
    with serving(max_pages=2, max_client_pages=3) as server:
        first, second = Client(server.url), Client(server.url)
        url = f"ws{server.url[4:]}/api/session/{{}}/ws"
        with connect(url.format(first.session), open_timeout=30) as a, \
                connect(url.format(first.session), open_timeout=30) as b:
            a.recv(timeout=30)
            b.recv(timeout=30)
            with connect(url.format(first.session), open_timeout=30) as c:  # a third page of the same session
                with pytest.raises(ConnectionClosed) as closed:
                    c.recv(timeout=30)
                assert closed.value.rcvd.code == 4429 and "as many as it may" in closed.value.rcvd.reason
            with connect(url.format(second.session), open_timeout=30) as d:
                d.recv(timeout=30)
                with connect(url.format(second.session), open_timeout=30) as e:  # a fourth from this address
                    with pytest.raises(ConnectionClosed) as closed:
                        e.recv(timeout=30)
                    assert closed.value.rcvd.code == 4429 and "this address" in closed.value.rcvd.reason
        eventually(lambda: not server.state.sockets and not server.state.sessions[first.session].pages)


def test_a_silent_page_is_closed_and_no_longer_holds_its_session():
    with serving(page_idle=1.0) as server:
        client = Client(server.url)
        with connect(f"ws{server.url[4:]}/api/session/{client.session}/ws", open_timeout=30) as page:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    page.recv(timeout=30)
            assert closed.value.rcvd.code == 4408
        eventually(lambda: not server.state.sockets and not server.state.sessions[client.session].pages)


def test_a_page_that_pings_stays_connected():
    with serving(page_idle=2.0) as server:
        client = Client(server.url)
        with connect(f"ws{server.url[4:]}/api/session/{client.session}/ws", open_timeout=30) as page:
            page.recv(timeout=30)
            for _ in range(10):  # 3 s in all, each ping well inside page_idle
                page.send("ping")
                time.sleep(0.3)
            page.send("ping")
            assert server.state.sessions[client.session].pages == 1


# ---- slow clients ----------------------------------------------------------------------------------------------

def test_a_client_trickling_its_headers_is_dropped():
    with serving(header_timeout=1.0) as server:
        started = time.monotonic()
        with socket.create_connection(address(server), timeout=30) as slow:
            request = b"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
            closed = False
            for byte in request:  # one byte every 0.1 s: the stall timer alone would never fire
                try:
                    slow.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
                slow.setblocking(False)
                try:
                    closed = slow.recv(1024) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                slow.setblocking(True)
                if closed:
                    break
            assert closed and time.monotonic() - started < 15
        client = Client(server.url)  # others are served as usual, a keep-alive between requests too
        assert len(client.call("GET", "/api/config")["builtin_styles"]) == 26


def test_a_body_trickled_past_the_total_deadline_is_refused():
    with serving(body_timeout=5.0, body_deadline=1.0) as server:
        client = Client(server.url)
        connection = http.client.HTTPConnection(*address(server), timeout=30)
        connection.putrequest("POST", f"/api/images?session={client.session}&name=x.png")
        connection.putheader("Content-Length", "4000")
        connection.endheaders()
        status = None
        for _ in range(100):  # 40 bytes every 0.1 s: never a stall, but 10 s in all
            try:
                connection.send(b"x" * 40)
            except OSError:
                break
            time.sleep(0.1)
            connection.sock.setblocking(False)
            try:
                head = connection.sock.recv(64)
            except BlockingIOError:
                head = b""
            connection.sock.setblocking(True)
            if head:
                status = int(head.split()[1])
                break
        assert status == 408
        connection.close()
