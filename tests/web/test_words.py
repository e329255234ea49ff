"""Every message the server can send to the page is plain words: no file path, web address, error number, flag,
code name or traceback (:data:`stylekit.web.words.DENY`), whatever the request or the failure behind it."""
from __future__ import annotations

import json
import re

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from stylekit.errors import StylekitError
from stylekit.web import BackgroundServer, ServerConfig
from stylekit.web.routes import ROUTES
from stylekit.web.words import DENY, FALLBACK, denied, plain

from ..conftest import pattern
from .test_server import Client, png_bytes

HOSTILE = {  # what engine, library and operating-system messages carry, with the words that must survive
    "cannot read /home/ann/.cache/stylekit/vgg19.pth: [Errno 2] No such file or directory": "cannot read",
    "download failed: <urlopen error [Errno -3] Temporary failure in name resolution> "
    "https://github.com/x/y/releases/model.pth to /root/.cache/torch": "download failed",
    "PermissionError: [Errno 13] Permission denied: '/srv/stylekit/files/ab.png'": "Permission denied",
    "Traceback (most recent call last):\n  File \"/x/y.py\", line 3, in run\nRuntimeError: out of memory":
        "out of memory",
    "use --style-weight 1e5 or lower the size with -s": "style weight",
    "`style_weight` must be > 0, got -1": "style weight must be > 0",
    "torch.nn.functional.conv2d() failed for input of shape (1, 3, 8, 8)": "failed",
    "C:\\Users\\ann\\Pictures\\cat.png is not an image": "is not an image",
    "OSError: [WinError 5] Access is denied": "Access is denied",
    "<class 'ValueError'> at <object at 0x7f00deadbeef>": "",
    "ENOSPC: no space left on the device (errno 28)": "no space left",
    "see www.example.com/help or ./docs/errors.md": "see",
}


@pytest.mark.parametrize("message", list(HOSTILE))
def test_plain_takes_out_what_a_person_cannot_use_and_keeps_the_words(message):
    said = plain(message)
    assert denied(said) == [], (message, said)
    assert denied(message), message  # each sample does carry something the page must not show
    assert HOSTILE[message] in said or (not HOSTILE[message] and said == FALLBACK), said


@pytest.mark.parametrize("message", [
    "size must be a number of pixels, e.g. 512 or 640x480", "limit of 512 px per side: choose a smaller size",
    "this job would take about 3 min here, above this server's limit of 60 s per job", "JPEG/PNG, 256/512 or and/or",
    "style layers: relu9_9 is not a layer of the feature network", "well-known, half-done e-mail (see below)",
])
def test_plain_words_pass_unchanged(message):
    assert plain(message) == message and denied(message) == []


def said_in(value: object) -> list[str]:
    """Every message in a JSON answer: its error, warnings, stages and texts, at any depth."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in ("error", "text", "stage") and isinstance(v, str)]
        found += [w for w in value.get("warnings") or [] if isinstance(w, str)]
        return found + [m for k, v in value.items() if k not in ("inputs",) for m in said_in(v)]
    if isinstance(value, list):
        return [m for v in value for m in said_in(v)]
    return []


class Recorder(Client):
    """A client that keeps every message the server sends it."""

    def __init__(self, url: str, heard: list[tuple[str, str]]) -> None:
        self.heard = heard
        super().__init__(url)

    def raw(self, method, path, data=None, headers=None, timeout=30):
        status, payload, answer = super().raw(method, path, data, headers, timeout)
        kind = answer.get("Content-Type") or answer.get("content-type") or ""
        if "json" in kind and payload:
            self.heard += [(f"{method} {path[:60]}", m) for m in said_in(json.loads(payload))]
        elif "html" in kind and path.startswith("/api"):
            text = re.sub(r"<[^>]+>", " ", payload.decode())
            self.heard.append((f"{method} {path[:60]}", " ".join(text.split())))
        return status, payload, answer


FAILURES = [  # what a job's run may raise, from the engine, a library or the system
    StylekitError("cannot read /tmp/stylekit-x/ab12.png: [Errno 5] Input/output error"),
    OSError(28, "No space left on device", "/srv/data/files/result.png"),
    RuntimeError("Traceback (most recent call last):\n  File \"/x.py\"\nRuntimeError: CUDA out of memory"),
    ValueError("expected --style-weight > 0 (see https://example.com/docs)"),
    MemoryError(),
]


def test_every_message_the_server_sends_is_in_plain_words(monkeypatch):
    """Every route with no, a foreign and a bad session and with junk bodies; every field of every method with
    junk, paths, addresses and flags; uploads that are not images, too large or named like paths; jobs whose run
    fails every way; the socket's refusals; an expired result's page: nothing denied reaches the page."""
    from stylekit.methods import deepdream

    heard: list[tuple[str, str]] = []
    config = ServerConfig(port=0, max_upload_mb=0.2, max_pixels=200_000, max_side=512, max_waiting=50,
                          max_pages=1)
    with BackgroundServer(config) as server:
        client = Recorder(server.url, heard)
        other = Recorder(server.url, heard)
        for route in ROUTES:
            path = getattr(route, "path", "")
            if not path.startswith("/api/") or path.endswith("/ws"):
                continue
            url = re.sub(r"\{[a-z]+(:int)?\}", lambda m: "7" if m.group(1) else "nope", path)
            for method in sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD"}):
                for query in ("", "?session=", f"?session={other.session}", "?session=../../etc/passwd"):
                    for body in (None, b"{", b"[1,2]", json.dumps({"session": client.session}).encode()):
                        client.raw(method, url + query, body if method == "POST" else None)
        for data, name in ((b"not an image", "notes.txt"), (b"", "empty.png"), (bytes(300_000), "big.png"),
                           (png_bytes(pattern(48)), "../../etc/passwd"), (b"\x89PNG\r\n\x1a\n" + bytes(50), "x.png")):
            client.raw("POST", f"/api/images?session={client.session}&name={name}", data)
        content = client.upload(png_bytes(pattern(48)))["id"]
        methods = client.call("GET", "/api/config")["methods"]
        junk = ("abc", "-5", "1e999", "/etc/passwd", "C:\\x\\y", "http://example.com/a.pth", "--steps 3", "x" * 300)
        for method in methods:
            for field in method["fields"]:
                for value in junk:
                    body = {"session": client.session, "method": method["name"], "content": content,
                            "styles": ["ex-swirls"], "estimate": True, "options": {field["name"]: value}}
                    client.raw("POST", "/api/estimate", json.dumps(body).encode(), {"Content-Type": "application/json"})
        for failure in FAILURES:
            def broken(*args, failure=failure, **kwargs):
                raise failure

            monkeypatch.setattr(deepdream, "job", broken)
            job = client.submit("dream", content, [], {"backbone": "scratch", "size": "32"})
            assert client.wait(job["id"])["state"] == "failed"
        done = client.wait(client.submit("features", content, [], {"size": "48", "backbone": "scratch"})["id"])
        server.state.queue.find(done["id"]).error = "stopped when the server stopped: see /var/log/x.log"
        client.job(done["id"])
        client.call("POST", f"/api/jobs/{done['id']}/remove?session={client.session}")
        client.raw("GET", f"/api/jobs/{done['id']}/result.png?session={client.session}",
                   headers={"Accept": "text/html"})
        ws = f"ws{server.url[4:]}/api/session"
        for token in ("nope", client.session):
            with connect(f"{ws}/{client.session}/ws", open_timeout=30) as held, \
                    connect(f"{ws}/{token}/ws", open_timeout=30) as socket:
                with pytest.raises(ConnectionClosed):
                    socket.recv(timeout=30)
                heard.append((f"socket {token[:8]}", socket.close_reason or ""))
                heard += [("socket", m) for m in said_in(json.loads(held.recv(timeout=30)))]
    assert len(heard) > 200 and any("not an image" in m or "picture" in m for _, m in heard)
    bad = [(where, message, denied(message)) for where, message in heard if denied(message)]
    assert not bad, bad[:10]
    assert set(DENY) <= {kind for message in HOSTILE for kind in denied(message)}  # the samples cover the list
