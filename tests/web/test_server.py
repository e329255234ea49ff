"""The web server over real HTTP on loopback: uploads and limits, jobs, sessions, and a load test."""
from __future__ import annotations

import http.client
import io
import json
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from stylekit.options import TransferOptions
from stylekit.web import BackgroundServer, ServerConfig
from stylekit.web.guards import DISCARD_LIMIT

from ..conftest import pattern


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


class Client:
    """A tiny JSON-over-HTTP client for one session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = self.call("POST", "/api/session")["session"]

    def raw(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None,
            timeout: float = 30) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def call(self, method: str, path: str, body: object = None, expect: int = 200) -> dict:
        data = None if body is None else json.dumps(body).encode()
        status, payload, _ = self.raw(method, path, data, {"Content-Type": "application/json"})
        assert status == expect, payload
        return json.loads(payload)

    def upload(self, data: bytes, name: str = "image.png", expect: int = 200) -> dict:
        status, payload, _ = self.raw("POST", f"/api/images?session={self.session}&name={name}", data)
        assert status == expect, payload
        return json.loads(payload)

    def submit(self, method: str, content: str | None, styles: list[str], options: dict, expect: int = 200) -> dict:
        return self.call("POST", "/api/jobs", {"session": self.session, "method": method, "content": content,
                                               "styles": styles, "options": options}, expect)

    def job(self, job_id: str) -> dict:
        return self.call("GET", f"/api/jobs/{job_id}?session={self.session}")

    def wait(self, job_id: str, states: tuple[str, ...] = ("done", "failed", "cancelled"), timeout: float = 120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.job(job_id)
            if job["state"] in states:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {job['state']}")


@pytest.fixture(scope="module")
def server():
    config = ServerConfig(port=0, max_upload_mb=0.5, max_pixels=300_000, max_side=512, max_waiting=30,
                          preview_every=1)
    with BackgroundServer(config) as running:
        yield running


@pytest.fixture
def client(server):
    return Client(server.url)


SCRATCH = {"size": "48", "steps": "400", "min_size": "", "backbone": "scratch", "early_stopping": False}


def test_page_and_config_carry_the_cli_defaults(client):
    status, page, headers = client.raw("GET", "/")
    assert status == 200 and b'id="go"' in page and headers["content-type"].startswith("text/html")
    assert client.raw("GET", "/static/app.js")[0] == 200
    config = client.call("GET", "/api/config")
    methods = {m["name"]: m for m in config["methods"]}
    assert set(methods) == {"transfer", "fast", "texture", "dream", "invert", "features", "deconv", "top-images",
                            "visualize"}
    size = next(f for f in methods["transfer"]["fields"] if f["name"] == "size")
    assert size["default"] == TransferOptions().size
    assert config["limits"] == {"max_upload_mb": 0.5, "max_pixels": 300_000, "max_side": 512}
    assert {e["id"] for e in config["examples"]} >= {"ex-portrait", "ex-swirls"}
    status, thumb, _ = client.raw("GET", "/api/images/ex-swirls.jpg")  # examples need no session
    assert status == 200 and Image.open(io.BytesIO(thumb)).format == "JPEG"


def test_uploads_are_checked(client):
    info = client.upload(png_bytes(pattern(40)), "../../etc/passwd.png")
    assert (info["width"], info["height"], info["name"]) == (40, 40, "passwd.png")  # a label, never a path
    assert "not an image" in client.upload(b"hello, world", "notes.txt", expect=415)["error"]
    assert "damaged or truncated" in client.upload(png_bytes(pattern(40))[:200], "cut.png", expect=415)["error"]
    noise = np.random.default_rng(0).integers(0, 256, (500, 500, 3), dtype=np.uint8)  # ~750 kB, 250k px
    assert "upload limit of 0.5 MB" in client.upload(png_bytes(noise), "big.png", expect=413)["error"]
    wide = png_bytes(np.zeros((300, 1100, 3), np.uint8))  # small file, too many pixels
    assert "accepts up to 0.3" in client.upload(wide, "wide.png", expect=415)["error"]
    status, payload, _ = client.raw("POST", "/api/images?session=nope&name=a.png", png_bytes(pattern(8)))
    assert status == 403 and b"reload the page" in payload


def post_and_read(url: str, path: str, body: object, headers: dict) -> tuple[int, bytes]:
    """POST with http.client: the whole body is sent before the answer is read, as urllib does."""
    where = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_an_upload_over_the_limit_is_answered_not_reset(client):
    path = f"/api/images?session={client.session}&name=big.png"
    message = b"big.png is larger than this server's upload limit of 0.5 MB"
    # 0.8 MB as in test_uploads_are_checked, and 8 MB: more than the socket buffers hold, so the client is
    # still sending when the server has decided; a server that stopped reading would reset the connection
    for size in (800_000, 8_000_000):
        status, payload = post_and_read(client.url, path, bytes(size), {"Connection": "close"})
        assert status == 413 and message in payload, (size, status, payload)
    chunks = (bytes(65536) for _ in range(13))  # ~0.85 MB with no Content-Length (chunked)
    status, payload = post_and_read(client.url, path, chunks, {"Connection": "close"})
    assert status == 413 and message in payload, (status, payload)
    # declared beyond what the server reads through: answered from the headers alone, before any body
    where = urllib.parse.urlsplit(client.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Length", str(int(0.5 * 1024 * 1024) + DISCARD_LIMIT + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413 and message in response.read()
    finally:
        connection.close()
    assert client.upload(png_bytes(pattern(40)))["width"] == 40  # and the server goes on serving


def test_bad_jobs_get_one_line_messages(client):
    content = client.upload(png_bytes(pattern(48)))["id"]
    assert "unknown method" in client.submit("paint", content, [], {}, expect=400)["error"]
    no_style = client.submit("transfer", content, [], {}, expect=400)
    assert "needs a style: pick a painting or upload one" in no_style["error"] and no_style["field"] == "style"
    no_photo = client.submit("transfer", None, ["ex-swirls"], {}, expect=400)
    assert "needs a photo" in no_photo["error"] and no_photo["field"] == "content"
    bad_size = client.submit("transfer", content, ["ex-swirls"], {"size": "12.5"}, expect=400)
    assert bad_size["field"] == "size" and "invalid literal" not in bad_size["error"]
    assert "size must be a number of pixels" in client.submit("transfer", content, ["ex-swirls"], {"size": "big"},
                                                       expect=400)["error"]
    assert "limit of 512 px" in client.submit("transfer", content, ["ex-swirls"], {"size": "4096"},
                                              expect=400)["error"]
    assert "upload it again" in client.submit("transfer", "gone", ["ex-swirls"], {}, expect=400)["error"]
    other = Client(client.url)  # another session cannot use this session's uploads
    assert "upload it again" in other.submit("transfer", content, ["ex-swirls"], {}, expect=400)["error"]


def test_an_optimisation_shows_progress_can_be_cancelled_and_keeps_its_best(client):
    content = client.upload(png_bytes(pattern(48)))["id"]
    style = client.upload(png_bytes(pattern(48, 1, "style")))["id"]
    job = client.submit("transfer", content, [style], SCRATCH)
    running = client.wait(job["id"], ("running",))
    deadline = time.time() + 60
    while running["progress"].get("step", 0) < 5 and time.time() < deadline:
        running = client.job(job["id"])
    assert running["progress"]["total"] == 400 and running["preview_version"] >= 1
    status, preview, _ = client.raw("GET", f"/api/jobs/{job['id']}/preview.jpg?session={client.session}")
    assert status == 200 and Image.open(io.BytesIO(preview)).size == (48, 48)
    client.call("POST", f"/api/jobs/{job['id']}/cancel?session={client.session}")
    done = client.wait(job["id"])
    assert done["state"] == "cancelled" and done["has_result"] and done["interrupted"]
    status, result, headers = client.raw("GET", f"/api/jobs/{job['id']}/result.png?session={client.session}")
    assert status == 200 and "attachment" in headers["content-disposition"]
    assert Image.open(io.BytesIO(result)).size == (48, 48)
    assert client.raw("GET", f"/api/jobs/{job['id']}?session=someone-else")[0] == 404


def test_a_download_remembers_how_it_was_made(client):
    content = client.upload(png_bytes(pattern(48)), "harbour.png")["id"]
    style = client.upload(png_bytes(pattern(48, 1, "style")), "stripes.png")["id"]
    job = client.submit("transfer", content, [style], {**SCRATCH, "steps": "3", "seed": "7"})
    assert client.wait(job["id"])["state"] == "done"
    _, result, _ = client.raw("GET", f"/api/jobs/{job['id']}/result.png?session={client.session}")
    settings = json.loads(Image.open(io.BytesIO(result)).text["stylekit"])
    assert settings["argv"][:3] == ["transfer", "harbour.png", "stripes.png"] and settings["seed"] == 7
    assert "--seed" in settings["argv"] and "--backbone" in settings["argv"]
    assert [entry["arg"] for entry in settings["inputs"]] == ["harbour.png", "stripes.png"]
    assert settings["options"]["TransferOptions"]["size"] == 48 and len(settings["inputs"][0]["sha256"]) == 64


def test_a_run_that_cannot_move_the_image_says_so_on_its_card(client):
    content = client.upload(png_bytes(pattern(48)))["id"]
    style = client.upload(png_bytes(pattern(48, 1, "style")))["id"]
    tiny = {**SCRATCH, "steps": "12", "content_weight": "0.00002", "style_weight": "0.0001", "tv_weight": "0"}
    done = client.wait(client.submit("transfer", content, [style], tiny)["id"])
    assert done["state"] == "done" and len(done["warnings"]) == 2 and "unchanged" in done["warnings"][1]
    assert "sgd-simple" in done["warnings"][0]  # seed 000's weights: the recipe they come from is named
    fine = client.wait(client.submit("transfer", content, [style], {**SCRATCH, "steps": "12"})["id"])
    assert fine["state"] == "done" and fine["warnings"] == []


def test_a_failing_job_leaves_the_server_serving(client, monkeypatch):
    from stylekit.methods import deepdream

    def broken(*args, **kwargs):
        raise RuntimeError("the network fell over")

    monkeypatch.setattr(deepdream, "job", broken)  # a job that fails in the worker (a bad layer fails at submit)
    content = client.upload(png_bytes(pattern(48)))["id"]
    failed = client.wait(client.submit("dream", content, [], {"backbone": "scratch", "size": "32"})["id"])
    assert failed["state"] == "failed" and failed["error"].startswith("something went wrong on the server")
    texture = client.submit("texture", None, ["ex-swirls"], {"size": "40x24", "steps": "3", "min_size": "",
                                                              "backbone": "scratch"})
    done = client.wait(texture["id"])
    assert done["state"] == "done" and done["size"] == [40, 24]


def test_a_closed_page_finds_its_pictures_jobs_and_results_again_until_they_expire(server, client):
    from websockets.sync.client import connect

    content = client.upload(png_bytes(pattern(48)), name="mine.png")["id"]
    with connect(f"ws{server.url[4:]}/api/session/{client.session}/ws") as socket:
        job = client.submit("transfer", content, ["ex-swirls"], {**SCRATCH, "steps": "30"})
        states = []
        while "running" not in states:  # the page hears about its job as it changes
            message = json.loads(socket.recv(timeout=30))
            states += [j["state"] for j in message["jobs"] if j["id"] == job["id"]]
    done = client.wait(job["id"])  # the page is gone, the job runs on
    assert done["state"] == "done" and done["inputs"]["content"]["name"] == "mine.png"
    again = client.call("POST", "/api/session", {"resume": client.session})  # the reload
    assert again["session"] == client.session and again["resumed"] and not again["expired"]
    assert [image["id"] for image in again["images"]] == [content]
    result = f"/api/jobs/{job['id']}/result.png?session={client.session}"
    assert client.raw("GET", result)[0] == 200

    state = server.state
    state.sessions[client.session].last_seen -= state.keep + 1
    state.queue.find(job["id"]).finished -= state.keep + 1
    state.expire()  # no page for longer than keep_minutes, but it keeps a result: kept with its pictures
    assert client.session in state.sessions and state.queue.find(job["id"]) is not None
    assert client.raw("GET", f"/api/images/{content}.jpg?session={client.session}")[0] == 200
    state.queue.find(job["id"]).finished -= state.config.keep_days * 86400
    state.sessions[client.session].last_seen -= state.keep + 1  # (the view above saw it again)
    state.expire()  # the result is past keep_days: forgotten, and the session with it
    assert client.session not in state.sessions and state.queue.find(job["id"]) is None
    status, page, headers = client.raw("GET", result, headers={"Accept": "text/html,*/*"})
    assert status == 410 and b"This result has expired" in page and headers["content-type"].startswith("text/html")
    status, payload, _ = client.raw("GET", result)
    assert status == 410 and "no longer kept" in json.loads(payload)["error"]
    fresh = client.call("POST", "/api/session", {"resume": client.session})
    assert fresh["session"] != client.session and fresh["expired"] and not fresh["resumed"]


def test_a_page_that_is_still_open_keeps_its_session_however_long(server, client):
    from websockets.sync.client import connect

    with connect(f"ws{server.url[4:]}/api/session/{client.session}/ws") as socket:
        socket.recv(timeout=30)
        server.state.sessions[client.session].last_seen -= server.state.keep + 1
        server.state.expire()
        assert client.session in server.state.sessions


def test_estimates_check_a_job_without_queueing_it(server, client):
    base = {"session": client.session, "method": "transfer", "styles": [], "estimate": True}
    draft = client.call("POST", "/api/estimate", {**base, "options": {"quality": "draft", "size": "256"}})
    high = client.call("POST", "/api/estimate", {**base, "options": {"quality": "high", "size": "256"}})
    larger = client.call("POST", "/api/estimate", {**base, "options": {"quality": "high", "size": "512"}})
    assert 0 < draft["seconds"] < high["seconds"] < larger["seconds"] and draft["text"].startswith(("about", "under"))
    bad = client.call("POST", "/api/estimate", {**base, "options": {"style_weight": "lots"}}, expect=400)
    assert bad == {"error": "style weight must be a number, got 'lots'", "field": "style_weight"}
    assert server.state.queue.session_jobs(client.session) == []  # nothing was queued
    unchecked = {**base, "estimate": False}  # a real check: the images are missing
    assert client.call("POST", "/api/estimate", unchecked, expect=400)["field"] == "content"


def test_each_job_carries_what_made_it_and_can_be_removed(client):
    content = client.upload(png_bytes(pattern(48)), name="photo.png")["id"]
    job = client.submit("transfer", content, ["ex-swirls"], {**SCRATCH, "steps": "5", "style_weight": "20"})
    assert job["inputs"]["title"] == "Repaint a photo in a style"
    assert job["inputs"]["content"]["name"] == "photo.png" and job["inputs"]["styles"][0]["name"] == "Swirls"
    settings = dict(job["inputs"]["settings"])
    assert settings["style weight"] == "20" and settings["size"] == "48" and "seed" not in settings
    assert job["estimate"] > 0 and job["version"] > 0
    client.wait(job["id"])
    assert client.call("POST", f"/api/jobs/{job['id']}/remove?session={client.session}")["removed"] == job["id"]
    assert client.raw("GET", f"/api/jobs/{job['id']}?session={client.session}")[0] == 404


def test_images_are_served_as_jpeg_views_to_their_session_only(client):
    content = client.upload(png_bytes(pattern(500)), name="big.png")["id"]  # 500 x 500
    for side, expected in (("", 256), ("1024", 500)):
        status, data, _ = client.raw("GET", f"/api/images/{content}.jpg?session={client.session}&side={side}")
        assert status == 200 and Image.open(io.BytesIO(data)).size == (expected, expected)
    assert Client(client.url).raw("GET", f"/api/images/{content}.jpg?session=other")[0] == 404
    status, data, _ = client.raw("GET", f"/api/images/ex-starry_night.jpg?session={client.session}&side=1024")
    assert status == 200 and max(Image.open(io.BytesIO(data)).size) == 512


def test_the_gallery_offers_credited_public_domain_paintings_and_layer_choices(client):
    config = client.call("GET", "/api/config")
    paintings = {e["id"]: e for e in config["examples"] if e["kind"] == "painting"}
    assert {"ex-swirls", "ex-starry_night", "ex-the_scream", "ex-shipwreck"} <= set(paintings)
    assert all("public domain" in p["credit"] for k, p in paintings.items() if k != "ex-swirls")
    assert max(paintings["ex-the_scream"]["width"], paintings["ex-the_scream"]["height"]) <= 512
    assert "relu4_2" in config["layers"]["vgg19"] and "relu5_4" not in config["layers"]["vgg16"]
    fields = {f["name"]: f for m in config["methods"] for f in m["fields"] if m["name"] == "transfer"}
    assert fields["style_layers"]["layers"] and fields["style_weight"]["slider"]
    assert all("--" not in f["help"] for m in config["methods"] for f in m["fields"])


def test_twenty_concurrent_fast_requests_complete_and_the_server_stays_responsive(server, weights_dir):
    def one(index: int) -> tuple[dict, tuple[int, int]]:
        client = Client(server.url)
        content = client.upload(png_bytes(pattern(96, index)))["id"]
        job = client.submit("fast", content, ["ex-swirls"], {"style_size": "128"})
        done = client.wait(job["id"], timeout=300)
        status, data, _ = client.raw("GET", f"/api/jobs/{job['id']}/result.png?session={client.session}")
        assert status == 200
        return done, Image.open(io.BytesIO(data)).size

    probe = Client(server.url)
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(one, i) for i in range(20)]
        statuses = [probe.raw("GET", "/api/config", timeout=10)[0]]  # at least one probe, whatever the timing
        while not all(f.done() for f in futures):  # the server answers other requests under load
            statuses.append(probe.raw("GET", "/api/config", timeout=10)[0])
            time.sleep(0.1)
        results = [f.result() for f in futures]
    assert set(statuses) == {200}
    assert all(done["state"] == "done" and size == (96, 96) for done, size in results)


def test_serve_command_says_where_and_stops_cleanly_on_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "stylekit", "serve", "--port", "0"], stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stderr.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=60)  # a server that never speaks fails here instead of hanging
        assert "only this machine can connect" in line
        url = line.split("open ")[1].split(" ;")[0]
        assert url.startswith("http://127.0.0.1:")
        deadline = time.time() + 30
        while True:  # the socket listens before uvicorn starts answering
            try:
                assert Client(url).session
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.time() < deadline
                time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert "stopped" in proc.communicate(timeout=30)[1]
        assert list(tmp_path.iterdir()) == []  # nothing written to disk
    finally:
        proc.kill()


def test_serve_command_bad_settings_get_one_line_errors(tmp_path):
    import subprocess
    import sys

    from stylekit.web.server import bind

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stylekit", "serve", *args], capture_output=True, text=True,
                              timeout=60)

    result = run("--examples", str(tmp_path / "missing"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "is not a folder" in result.stderr
    (tmp_path / "broken.jpg").write_text("not a picture")
    result = run("--examples", str(tmp_path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "broken.jpg is not an image" in result.stderr
    taken = bind("127.0.0.1", 0)
    try:
        result = run("--port", str(taken.getsockname()[1]))
        assert result.returncode == 2 and "choose another --port" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        taken.close()
    assert run("--workers", "0").returncode == 2


def test_a_builtin_style_needs_no_style_image_and_the_gallery_serves_all_26(client):
    styles = client.call("GET", "/api/config")["builtin_styles"]
    assert [s["index"] for s in styles] == list(range(26)) and styles[19]["name"] == "starry blue swirls"
    content = client.upload(png_bytes(pattern(64, 2)))["id"]
    job = client.wait(client.submit("fast", content, [], {"builtin": "7"})["id"])
    assert job["state"] == "done" and tuple(job["size"]) == (64, 64)
    assert job["inputs"]["card"] == "Quick — Primary colour blocks — 64 px"
    refused = client.submit("fast", content, [], {"builtin": ""}, expect=400)
    assert "upload one, or pick a built-in style" in refused["error"]
    for index in (0, 25):
        status, thumb, _ = client.raw("GET", f"/api/builtin/{index}.jpg")
        assert status == 200 and Image.open(io.BytesIO(thumb)).format == "JPEG"
    assert client.raw("GET", "/api/builtin/26.jpg")[0] == 404


def test_every_field_of_every_method_refuses_junk_in_plain_words_beside_the_field(client):
    config = client.call("GET", "/api/config")
    for method in config["methods"]:
        for field in method["fields"]:
            for junk in ("abc", "-5", "1e999", "3.5.1", "x" * 300):
                body = {"session": client.session, "method": method["name"], "styles": [], "estimate": True,
                        "options": {field["name"]: junk}}
                status, payload, _ = client.raw("POST", "/api/estimate", json.dumps(body).encode(),
                                                {"Content-Type": "application/json"})
                answer = json.loads(payload)
                if status == 200:
                    continue  # a value the field takes (a seed of 3.5.1 is not one, "abc" text may be)
                message = answer["error"]
                assert status == 400 and "\n" not in message, (method["name"], field["name"], junk, answer)
                for jargon in ("--", "invalid literal", "could not convert", "Traceback", "NoneType"):
                    assert jargon not in message, (method["name"], field["name"], junk, message)
                if "field" in answer or field["kind"] in ("int", "float", "size", "choice", "bool"):
                    assert answer.get("field") == field["name"], (method["name"], field["name"], junk, answer)


def test_removed_running_jobs_vanish_at_once_and_odd_inputs_are_refused(server, client):
    content = client.upload(png_bytes(pattern(48)))["id"]
    job = client.submit("transfer", content, ["ex-swirls"], SCRATCH)
    client.call("POST", f"/api/jobs/{job['id']}/remove?session={client.session}")
    assert client.raw("GET", f"/api/jobs/{job['id']}?session={client.session}")[0] == 404  # gone while it stops
    assert server.state.queue.session_jobs(client.session) == []
    assert client.submit("transfer", "", ["ex-swirls"], {}, expect=400)["field"] == "content"
    many = client.submit("fast", content, ["ex-swirls"] * 5000 + ["ex-the_scream"], {"style_size": "64"})
    assert [s["name"] for s in many["inputs"]["styles"]] == ["Swirls", "The Scream"]  # each picture once


def test_image_views_are_made_once_and_count_against_the_upload_budget(server, client):
    content = client.upload(png_bytes(pattern(300)))["id"]
    stored = server.state.sessions[client.session].images[content]
    held = server.state.held.used
    for _ in range(2):
        assert client.raw("GET", f"/api/images/{content}.jpg?session={client.session}&side=1024")[0] == 200
    assert set(stored.views) == {1024} and server.state.held.used == held + len(stored.views[1024])


def test_a_model_that_is_not_installed_is_said_in_plain_words(server, client, monkeypatch):
    from stylekit.feedforward import weights as W

    monkeypatch.setattr(W, "PACKAGED", W.PACKAGED.parent / "stripped")  # an install without its data, offline

    def offline(entry, dest):
        raise OSError(f"[Errno 101] Network is unreachable: {entry.url} into {dest}")

    monkeypatch.setattr(W, "_fetch", offline)
    content = client.upload(png_bytes(pattern(64)))["id"]
    job = client.wait(client.submit("fast", content, ["ex-swirls"], {"model": "wct"})["id"])
    assert job["state"] == "failed" and "this style model is not installed" in job["error"]
    assert not any(bad in job["error"] for bad in ("http", "/", "Errno", "--", ".pth"))


def test_no_job_route_answers_without_the_jobs_own_session(client):
    """Every route under /api/jobs/{job} of the app: no, empty and another session get what a job that does not
    exist gets; the job's own session gets it."""
    from stylekit.web.routes import ROUTES

    content = client.upload(png_bytes(pattern(48)))["id"]
    job = client.wait(client.submit("features", content, [], {"size": "48", "backbone": "scratch"})["id"])
    other = Client(client.url)
    paths = [(route.path, sorted(route.methods - {"HEAD"})[0]) for route in ROUTES
             if getattr(route, "path", "").startswith("/api/jobs/{job}")]
    assert len(paths) == 5
    order = sorted(paths, key=lambda p: p[0].endswith("/remove"))  # remove last: it ends the job
    for path, method in order:
        url = path.replace("{job}", job["id"])
        for query in ("", "?session=", f"?session={other.session}", "?session=nope"):
            status, payload, _ = client.raw(method, url + query, b"" if method == "POST" else None)
            assert status in (404, 410) and job["id"] not in payload.decode(), (url, query, status)
        status, _, _ = client.raw(method, url + f"?session={client.session}", b"" if method == "POST" else None)
        assert status in (200, 204) or path.endswith("preview.jpg"), (url, status)
    assert client.raw("GET", f"/api/jobs/{job['id']}?session={client.session}")[0] == 404  # removed by its owner


@pytest.mark.parametrize("method, options, field, said", [
    ("transfer", {"style_layers": "relu1_1,relu9_9", "backbone": "scratch"}, "style_layers", "relu9_9"),
    ("visualize", {"channel": str(10**9), "layer": "relu1_1", "backbone": "scratch"}, "channel", "out of range"),
    ("deconv", {"channels": "2,100000", "layer": "relu1_1", "backbone": "scratch"}, "channels", "100000"),
], ids=["layer", "channel", "channels"])
def test_the_network_checks_come_before_an_estimate_or_a_job(client, method, options, field, said):
    content = client.upload(png_bytes(pattern(48)))["id"]
    styles = ["ex-swirls"] if method == "transfer" else []
    body = {"session": client.session, "method": method, "content": content, "styles": styles, "options": options}
    for path in ("/api/estimate", "/api/jobs"):
        refused = client.call("POST", path, body, expect=400)
        assert said in refused["error"] and refused.get("field") == field, refused
        assert "`" not in refused["error"] and "--" not in refused["error"]


def test_result_cards_are_titled_in_plain_words():
    from types import SimpleNamespace

    from stylekit.options import FastOptions
    from stylekit.web.routes import card_title
    from stylekit.web.tasks import methods_by_name

    methods = methods_by_name()
    photo, starry = SimpleNamespace(width=640, height=480), SimpleNamespace(name="The Starry Night")
    assert card_title(methods["fast"], FastOptions(), photo, [starry]) == "Quick — The Starry Night — 640 px"
    assert card_title(methods["fast"], FastOptions(builtin=[(7, 1.0)], content_size=512), photo, []) == \
        "Quick — Primary colour blocks — 512 px"
    assert card_title(methods["fast"], FastOptions(builtin=[(19, .5), (24, .5)], content_size=512), photo, []) == \
        "Quick — Starry blue swirls + blue wave woodblock — 512 px"
    for quality, name in (("draft", "Good"), ("high", "Best"), ("normal", "Custom")):
        options = TransferOptions(quality=quality, size=512)
        assert card_title(methods["transfer"], options, photo, [starry]) == f"{name} — The Starry Night — 512 px"
    assert card_title(methods["transfer"], TransferOptions(steps=(5,)), photo, [starry]).startswith("Custom")
