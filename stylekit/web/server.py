"""The HTTP side of ``stylekit serve``: a Starlette app over the job queue and the Python API.

Uploads are raw request bodies, checked for size and pixel count in memory and kept compressed (decoded only
while a job uses them); nothing a client sends is ever used as a file path, and nothing is written to disk.
Each page holds a session (a random token, which the browser keeps) and a WebSocket on which it hears about its
jobs. A reload, a closed tab or a dropped connection loses nothing: the session's images, jobs and results are kept
in memory until no page has had it open for ``--keep-minutes``, and a page that comes back with the token finds
them again.

What a client can hold is bounded: request bodies time out when they stall and count against one budget of
upload memory, job bodies are small, sessions are limited in number, and jobs in steps and run time. Requests
naming a host the server does not serve are refused (DNS rebinding), and so are WebSockets from foreign pages.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import json
import re
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import StylekitError
from ..feedforward.weights import WeightsMissing
from ..options import BACKBONES, N_BUILTIN, ServerConfig, namer, validate
from ..options.schema import OptionError, as_typed, cli_flag, specs, web_label
from .estimate import Estimator, say_seconds
from .estimate import work as estimate_work
from .jobs import Job, JobQueue, QueueFull
from .tasks import OPTIMISE, QUICK, Method, check_limits, encode_png, methods_by_name, server_settings

MB = 1024 * 1024
JOB_LIMIT = 64 * 1024  # bytes of JSON a job may take; the page sends a few hundred
EXPIRE_EVERY = 15.0  # seconds between sweeps for sessions past their time
VIEW_SIDES = (256, 1024)  # long sides the page may ask an image at (thumbnails, before/after views)
DECODERS = 2  # threads that decode uploads to check them: a few at a time, and few allocator arenas to keep
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The host of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``): lower case, no port, no brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.index("]")] if "]" in value else value
    return (value.rsplit(":", 1)[0] if value.count(":") == 1 else value).rstrip(".")


class HostCheck:
    """ASGI middleware against DNS rebinding and other sites' pages: answer only requests whose ``Host`` names this
    server (loopback names, ``host`` and ``allowed``; any IP address when listening on every address), and
    WebSockets and requests that change something (POST) only from pages of those hosts (their ``Origin``, when
    the browser sends one). Others get a one-line JSON 421 (403 for a foreign page); a refused WebSocket is
    closed."""

    def __init__(self, app: ASGIApp, host: str, allowed: Sequence[str] | None = None) -> None:
        self.app = app
        self.names = {*LOOPBACK_HOSTS, host_name(host), *(host_name(name) for name in allowed or ())}
        self.any_address = host in ("0.0.0.0", "::")

    def serves(self, name: str | None) -> bool:
        """Whether ``name`` (a host name or address) is one this server answers to."""
        if name in self.names:
            return True
        if not name or not self.any_address:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def serves_page(self, origin: str) -> bool:
        """Whether a page's ``Origin`` (``scheme://host[:port]``) is on a host this server answers to."""
        try:
            return self.serves(urlsplit(origin).hostname)
        except ValueError:  # not a URL at all
            return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = host_name(headers.get("host", ""))
        origin = headers.get("origin")
        changes = scope["type"] == "websocket" or scope.get("method", "GET") not in ("GET", "HEAD")
        status = 421
        if not self.serves(host):
            problem = (f"this server does not answer to the host name {host[:80]!r}: open it by its own address, "
                       "or start it with --allowed-hosts naming that host")
        elif changes and origin is not None and not self.serves_page(origin):  # another site's page posting here
            problem, status = "this page is not one of this server's own: open the server's address instead", 403
        else:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
        else:
            await _error(problem, status)(scope, receive, send)


@dataclass
class StoredImage:
    """An upload or example, kept as its compressed file bytes and decoded on use."""

    id: str
    name: str
    data: bytes = field(repr=False)
    width: int
    height: int
    kind: str = "upload"  # or "photo" / "painting" for the examples
    credit: str | None = None
    views: dict[int, bytes] = field(default_factory=dict, repr=False)  # JPEGs by long side, made on first use

    @property
    def held(self) -> int:
        """Bytes it holds in memory."""
        return len(self.data) + sum(map(len, self.views.values()))

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height, "kind": self.kind,
                "credit": self.credit}

    def open(self) -> Image.Image:
        """The decoded image (checked when it was stored)."""
        return decode_upload(self.data, self.name, self.width * self.height)


def decode_upload(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Decode an uploaded image in memory (first frame, EXIF orientation applied), refusing non-images,
    damaged files and images above ``max_pixels``."""
    from ..io.images import open_image

    if not data:
        raise StylekitError(f"{name} is empty")
    return open_image(io.BytesIO(data), name, max_pixels,
                      f"this server accepts up to {max_pixels / 1e6:.1f}: upload a smaller picture", "this server")


def _measure(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    """Check an upload by decoding it once; its (width, height). The decoded pixels are not kept."""
    from ..io import load_image

    img = decode_upload(data, name, max_pixels)
    load_image(img.crop((0, 0, 1, 1)), name)  # the checks every input gets (odd modes), on one pixel
    return img.size


BUILTIN_THUMBNAIL = 112  # long side of the built-in styles' gallery pictures


def _thumbnail(img: Image.Image, side: int = 256) -> bytes:
    """A JPEG of ``img`` at most ``side`` px on its long side (transparency over white)."""
    rgba = img.convert("RGBA")
    thumb = Image.new("RGB", rgba.size, "white")
    thumb.paste(rgba, mask=rgba.getchannel("A"))
    thumb.thumbnail((side, side), Image.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85 if side <= 256 else 90)
    return buf.getvalue()


def _label(name: str) -> str:
    """A display label from a client-given file name: printable, short, never used as a path."""
    clean = "".join(c for c in Path(name.replace("\\", "/")).name if c.isprintable())[:80]
    return clean or "image"


class Busy(StylekitError):
    """A server-wide limit is reached (sessions, upload memory): try again later (HTTP 503)."""


class UnknownSession(StylekitError):
    """The request names no live session (HTTP 403 for uploads)."""


class ByteBudget:
    """Bytes that uploads hold together, being received or kept for sessions, bounded server-wide."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self, count: int) -> bool:
        """Reserve ``count`` bytes; False (nothing reserved) when that would pass the limit."""
        with self._lock:
            if self.used + count > self.limit:
                return False
            self.used += count
            return True

    def give(self, count: int) -> None:
        """Release bytes reserved with :meth:`take`."""
        with self._lock:
            self.used -= count


def _uploads_full(budget: ByteBudget) -> str:
    return f"this server already holds {budget.used / MB:.1f} MB of uploads, as much as it may: try again later"


@dataclass
class Session:
    """One page's images (oldest first), when it was last heard from (``time.time()``), and how many pages have
    it open now (a session no page has open is kept for a while, so a reload finds it)."""

    images: OrderedDict[str, StoredImage] = field(default_factory=OrderedDict)
    last_seen: float = field(default_factory=time.time)
    pages: int = 0


class State:
    """Everything the app shares: configuration, methods, queue, sessions and their images.

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
        self.queue = JobQueue({OPTIMISE: config.workers, QUICK: config.quick_workers}, config.max_waiting,
                              max_seconds=config.max_job_seconds, observer=self._learn)
        self.builtin_thumbnails: list[bytes] = []  # the 26 built-in styles on the example portrait, made once
        self.builtin_lock = threading.Lock()

    def builtin_thumbnail(self, index: int) -> bytes:
        """A JPEG of the example portrait in built-in style ``index`` (all 26 are drawn on first use)."""
        from ..feedforward.sheet import builtin_styles
        from ..io.examples import example_content
        from ..options import StylesOptions

        with self.builtin_lock:
            if not self.builtin_thumbnails:
                options = StylesOptions(size=BUILTIN_THUMBNAIL, device=self.config.device,
                                        weights_dir=self.config.weights_dir)
                self.builtin_thumbnails = [_thumbnail(img) for img in builtin_styles(example_content(), options)]
        return self.builtin_thumbnails[index]

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
                               {VIEW_SIDES[0]: _thumbnail(img, VIEW_SIDES[0])})

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
        """Forget the sessions no page has had open for ``keep_minutes``, once their jobs have stopped (the
        time counts from the later of the page's last request and the session's last finished job)."""
        now = time.time()  # wall-clock time, as jobs record theirs
        with self.lock:
            activity = self.queue.activity()
            for token, found in list(self.sessions.items()):
                busy, finished = activity.get(token, (False, 0.0))
                if not found.pages and not busy and now - max(found.last_seen, finished) > self.keep:
                    self.drop_session(token)

    def new_session(self, resume: Any = None) -> tuple[str, bool]:
        """The session ``resume`` names while it is still kept (True), else a fresh one (False). At
        ``max_sessions`` a session without a page and without running jobs makes room (one that holds nothing
        first, then the longest idle), and when there is none the new one is refused (:class:`Busy`)."""
        self.expire()
        with self.lock:
            if isinstance(resume, str) and resume in self.sessions:
                self.sessions[resume].last_seen = time.time()
                return resume, True
            if len(self.sessions) >= self.config.max_sessions:
                activity = self.queue.activity()
                idle = {token: (token in activity or bool(s.images), s.last_seen)
                        for token, s in self.sessions.items()
                        if not s.pages and not activity.get(token, (False, 0.0))[0]}
                if not idle:
                    raise Busy(f"this server already has {len(self.sessions)} pages open or working, as many as "
                               "it may: try again later")
                self.drop_session(min(idle, key=idle.__getitem__))
            token = secrets.token_urlsafe(16)
            self.sessions[token] = Session()
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
        if found is not None:
            self.held.give(sum(image.held for image in found.images.values()))
        self.queue.close_session(token)

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

    def store(self, token: str, image: StoredImage) -> None:
        """Keep an upload for a session (its oldest beyond ``max_images`` dropped), within the upload budget."""
        with self.lock:
            images = self.session(token).images
            if not self.held.take(len(image.data)):
                raise Busy(_uploads_full(self.held))
            images[image.id] = image
            while len(images) > self.config.max_images:
                self.held.give(images.popitem(last=False)[1].held)

    def image(self, token: str, image_id: Any) -> StoredImage:
        """An example, or one of the session's uploads."""
        found = None
        if isinstance(image_id, str):
            found = self.examples.get(image_id) or self.session(token).images.get(image_id)
        if found is None:
            raise StylekitError("that image is no longer here: upload it again")
        return found


# An upload over the limit is still read (and dropped, chunk by chunk) for up to this many bytes beyond the
# limit before the 413 goes out: a client that sends its whole body before reading the answer (urllib does)
# would otherwise have the connection reset under it and never see the message. A body larger still is
# answered at once and the connection closed with the rest unread.
DISCARD_LIMIT = 64 * 1024 * 1024


GONE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Result expired - stylekit</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>This result has expired</h1><p>{message}</p><p><a href="/">Back to stylekit</a> to make it again.</p></body></html>
"""


def plain(message: str, options: type) -> str:
    """A message from the Python API in the page's words: CLI flags become the page's labels."""
    label = namer(options, "web")
    message = re.sub(r" ?\((?:stylekit \w+ )?--[a-z-]+\)", "", message)  # a server setting's flag, in brackets
    for f in sorted((f for f, _ in specs(options)), key=lambda f: -len(cli_flag(f))):  # --layers before --layer
        message = re.sub(re.escape(cli_flag(f)) + r"(?![\w-])", label(f.name), message)
    return re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", " "), message)


def settings_shown(options: Any) -> list[list[str]]:
    """The page's settings of a job that differ from their defaults (and its size and quality), as
    [label, value] pairs for its card."""
    defaults = type(options)()
    shown = []
    for f, spec in specs(options):
        value = as_typed(getattr(options, f.name), spec.kind)
        if spec.web is None or value is None:
            continue
        if value != as_typed(getattr(defaults, f.name), spec.kind) or f.name in ("quality", "size", "model"):
            text = "yes" if value is True else "no" if value is False else \
                f"{value:g}" if isinstance(value, float) else str(value)
            shown.append([web_label(f), text])
    return shown


class Refused(Exception):
    """A request body the server will not take: the answer's status and one-line message."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.close = status, close

    def response(self) -> JSONResponse:
        """The answer; ``close``: the rest of the body will never come, so the connection is closed."""
        response = _error(str(self), self.status)
        if self.close:
            response.headers["Connection"] = "close"
        return response


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def read_body(request: Request, limit: int, too_big: str, budget: ByteBudget, timeout: float) -> bytes:
    """A request body of at most ``limit`` bytes, counted against ``budget`` while it arrives. Raises
    :class:`Refused`: 413 (``too_big``) when larger, 408 when it stalls for ``timeout`` seconds, 503 when the
    budget is spent, 400 when the client went away."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + DISCARD_LIMIT:
        raise Refused(413, too_big)  # too much to read through: answer and close with the body unread
    body = bytearray()
    received = 0
    try:
        while True:
            try:
                message = await asyncio.wait_for(request.receive(), timeout)
            except asyncio.TimeoutError:
                raise Refused(408, f"the request body stopped arriving for {timeout:g} s: send it again",
                              close=True) from None
            if message["type"] == "http.disconnect":
                raise Refused(400, "the request was cut off before its end")
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit + DISCARD_LIMIT:
                raise Refused(413, too_big)
            if received <= limit:
                if not budget.take(len(chunk)):
                    raise Refused(503, _uploads_full(budget))
                body += chunk
            elif body:  # over the limit: read the rest through, keeping nothing, then answer
                budget.give(len(body))
                body = bytearray()
            if not message.get("more_body", False):
                break
        if received > limit:
            raise Refused(413, too_big)
        return bytes(body)
    finally:
        budget.give(len(body))


def create_app(config: ServerConfig) -> Starlette:
    """The web app; its :class:`State` is ``app.state.stylekit`` and its queue stops with the app."""
    state = State(config)
    static = resources.files("stylekit.web") / "static"
    limit = int(config.max_upload_mb * MB)
    decoders = ThreadPoolExecutor(DECODERS, thread_name_prefix="stylekit-decode")

    async def index(request: Request) -> Response:
        return HTMLResponse((static / "index.html").read_text("utf-8"))

    async def api_config(request: Request) -> Response:
        from ..backbones import layer_names

        return JSONResponse({
            "methods": [m.describe() for m in state.methods.values()],
            "examples": [e.describe() for e in state.examples.values()],
            "builtin_styles": N_BUILTIN,
            "layers": {name: layer_names(name) for name in BACKBONES},
            "keep_minutes": config.keep_minutes,
            "limits": {"max_upload_mb": config.max_upload_mb, "max_pixels": config.max_pixels,
                       "max_side": config.max_side},
            "queue": state.queue.counts()})

    async def new_session(request: Request) -> Response:
        try:
            body = json.loads(await read_body(request, JOB_LIMIT, "send only a session token", state.held,
                                              config.body_timeout) or b"{}")
        except (Refused, ValueError, RecursionError):
            body = {}
        resume = body.get("resume") if isinstance(body, dict) else None
        try:
            token, resumed = state.new_session(resume)
        except Busy as exc:
            return _error(str(exc), 503)
        images = [image.describe() for image in state.sessions[token].images.values()] if resumed else []
        return JSONResponse({"session": token, "resumed": resumed, "expired": bool(resume) and not resumed,
                             "images": images})

    async def upload(request: Request) -> Response:
        name = _label(request.query_params.get("name", "image"))
        token = request.query_params.get("session")
        try:
            state.session(token)
        except UnknownSession as exc:
            return _error(str(exc), 403)
        too_big = f"{name} is larger than this server's upload limit of {config.max_upload_mb:g} MB: " \
                  "upload a smaller file"
        try:
            data = await read_body(request, limit, too_big, state.held, config.body_timeout)
            loop = asyncio.get_running_loop()
            width, height = await loop.run_in_executor(decoders, _measure, data, name, config.max_pixels)
            stored = StoredImage(secrets.token_urlsafe(12), name, data, width, height)
            state.store(token, stored)  # type: ignore[arg-type]
        except Refused as exc:
            return exc.response()
        except Busy as exc:
            return _error(str(exc), 503)
        except UnknownSession as exc:
            return _error(str(exc), 403)
        except StylekitError as exc:
            return _error(str(exc), 415)
        return JSONResponse(stored.describe())

    async def image_view(request: Request) -> Response:
        """An example or upload as a JPEG at most ``side`` px long (256 or 1024), for thumbnails and views."""
        try:
            found = state.image(request.query_params.get("session"), request.path_params["image"])
        except StylekitError as exc:
            return _error(str(exc), 404)
        side = VIEW_SIDES[-1] if request.query_params.get("side") == str(VIEW_SIDES[-1]) else VIEW_SIDES[0]
        data = found.views.get(side)
        if data is None:
            data = await asyncio.get_running_loop().run_in_executor(decoders, lambda: _thumbnail(found.open(), side))
            state.keep_view(request.query_params.get("session"), found, side, data)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    async def builtin_image(request: Request) -> Response:
        index = request.path_params["index"]
        if not 0 <= index < N_BUILTIN:
            return _error(f"built-in styles are numbered 0 to {N_BUILTIN - 1}", 404)
        try:
            data = await asyncio.get_running_loop().run_in_executor(decoders, state.builtin_thumbnail, index)
        except StylekitError as exc:
            return _error(str(exc), 503)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})

    def make_job(body: dict[str, Any]) -> Job:
        """A job from a submitted body (not queued); user errors name the page's fields and images. A body with
        ``"estimate": true`` only asks how long the job would take, so missing images are not errors."""
        asking = body.get("estimate") is True
        token = body.get("session")
        state.session(token)
        name = body.get("method")
        method: Method | None = state.methods.get(name) if isinstance(name, str) else None
        if method is None:
            raise StylekitError(f"unknown method {str(name)[:40]!r}: choose one of {', '.join(state.methods)}")
        form = body.get("options") or {}
        if not isinstance(form, dict):
            raise StylekitError("options must be an object of name: value")
        style_ids = body.get("styles") or []
        if not isinstance(style_ids, list):
            raise StylekitError("styles must be a list of image ids")
        style_ids = list(dict.fromkeys(i for i in style_ids if isinstance(i, str)))  # each once
        style_ids = style_ids[: 1 if method.styles == "one" else config.max_images]
        fixed = server_settings(method.options, config.weights_dir, config.device)
        builtin = method.name == "fast" and str(form.get("builtin") or "").strip() != ""
        label = namer(method.options, "web")
        options = method.parse(form, fixed, n_styles=len(style_ids) if builtin else len(style_ids) or 1)
        check_limits(options, config.max_side, config.max_steps, label)
        if method.needs_content and not body.get("content") and not asking:
            raise OptionError(f"{method.title} needs a photo: pick an example or upload one", "content")
        content = state.image(token, body["content"]) if method.needs_content and body.get("content") else None
        if method.styles != "none" and not style_ids and not builtin and not asking:
            raise OptionError(f"{method.title} needs a style: pick a painting or upload one" +
                              (", or pick a built-in style" if method.name == "fast" else ""), "style")
        styles = [state.image(token, i) for i in style_ids]
        if method.pool:  # every picture the page has: the gallery's and the session's uploads
            styles = [*state.examples.values(), *state.session(token).images.values()]
        if method.name == "fast" and options.content_size is None and content is not None \
                and max(content.width, content.height) > config.max_side:  # else as uploaded
            options.content_size = config.max_side
        hw = (content.height, content.width) if content is not None else None
        work = estimate_work(method.name, options, hw, len(styles))

        def run(ctx: Any) -> Any:  # decoded here, in the worker, and only while the job runs (one at a time: pool)
            source = content.open() if content is not None else None
            images = [(style.name, style.open) for style in styles] if method.pool else [s.open() for s in styles]
            try:
                output = method.run(source, images, options, ctx, config.preview_every)
            except WeightsMissing:  # its message is for whoever installed stylekit: paths and URLs
                raise StylekitError("this style model is not installed on this server: choose another model, "
                                    "or ask whoever runs the server to reinstall stylekit") from None
            except StylekitError as exc:
                raise StylekitError(plain(str(exc), method.options)) from None
            output.warnings = tuple(plain(warning, method.options) for warning in output.warnings)
            return output

        inputs = {"title": method.title, "content": content.describe() if content else None,
                  "styles": [] if method.pool else [style.describe() for style in styles],
                  "settings": settings_shown(options)}
        network = str(getattr(options, "model", None) or getattr(options, "backbone", ""))
        return Job(token, method.name, method.lane, run, inputs=inputs, work=work,  # type: ignore[arg-type]
                   network=network, estimate=state.estimator.seconds(method.name, work, network))

    def job_error(exc: StylekitError, status: int = 400) -> Response:
        response = _error(str(exc), status)
        if isinstance(exc, OptionError) and exc.field:
            response = JSONResponse({"error": str(exc), "field": exc.field}, status_code=status)
        return response

    async def read_job(request: Request) -> dict[str, Any] | Response:
        try:
            raw = await read_body(request, JOB_LIMIT, f"a job is at most {JOB_LIMIT // 1024} kB of JSON: send "
                                  "its settings, not its images", state.held, config.body_timeout)
        except Refused as exc:
            return exc.response()
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python recurses
            body = None
        if not isinstance(body, dict):
            return _error("send the job as a JSON object")
        return body

    async def submit(request: Request) -> Response:
        body = await read_job(request)
        if isinstance(body, Response):
            return body
        try:
            job = state.queue.submit(make_job(body))
        except UnknownSession as exc:
            return _error(str(exc), 403)
        except StylekitError as exc:
            return job_error(exc, 503 if isinstance(exc, QueueFull) else 400)
        return JSONResponse(state.queue.describe(job))

    async def estimate(request: Request) -> Response:
        """How long the job in the body would take here (it is checked, not queued): ``seconds`` and ``text``,
        or the problem with it, as a job submission would answer."""
        body = await read_job(request)
        if isinstance(body, Response):
            return body
        try:
            job = make_job(body)
        except UnknownSession as exc:
            return _error(str(exc), 403)
        except StylekitError as exc:
            return job_error(exc)
        return JSONResponse({"seconds": job.estimate, "text": say_seconds(job.estimate or 0.0)})

    def with_job(handler: Callable[[Job], Response], gone: Callable[[Request], Response] | None = None) \
            -> Callable[[Request], Any]:
        """An endpoint for one of the caller's jobs (by id and session); 404 (or ``gone``) when there is none."""
        async def endpoint(request: Request) -> Response:
            token = request.query_params.get("session")
            job = state.queue.get(request.path_params["job"], token)
            if job is None:
                if gone is not None:
                    return gone(request)
                return _error("this job is no longer kept (removed, or its page was closed more than "
                              f"{config.keep_minutes:g} minutes ago)", 404)
            with contextlib.suppress(StylekitError):
                state.session(token)  # asking about a job keeps its session alive
            return handler(job)
        return endpoint

    def job_status(job: Job) -> Response:
        return JSONResponse(state.queue.describe(job))

    def job_cancel(job: Job) -> Response:
        state.queue.cancel(job)
        return job_status(job)

    def job_remove(job: Job) -> Response:
        state.queue.remove(job)
        return JSONResponse({"removed": job.id})

    def job_preview(job: Job) -> Response:
        if job.preview is None:
            return _error("no preview yet", 404)
        return Response(job.preview, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    def job_result(job: Job) -> Response:
        if job.output is None:
            return _error("this job has no result yet", 404)
        headers = {"Content-Disposition": f'attachment; filename="stylekit-{job.method}-{job.id[:8]}.png"',
                   "Cache-Control": "no-store"}
        return Response(job.output.data, media_type=job.output.media_type, headers=headers)

    def result_gone(request: Request) -> Response:
        """A download link whose result is no longer kept: a page that says so (410) for a browser, JSON else."""
        message = (f"This result is no longer kept. stylekit keeps results for {config.keep_minutes:g} minutes "
                   "after their page was last open, and forgets the ones that were removed.")
        if "text/html" not in request.headers.get("accept", ""):
            return _error(message, 410)
        return HTMLResponse(GONE_PAGE.format(message=message), status_code=410)

    async def session_socket(ws: WebSocket) -> None:
        token = ws.path_params["session"]
        await ws.accept()
        with state.lock:
            found = state.sessions.get(token)
            if found is not None:
                found.pages += 1
        if found is None:
            await ws.close(code=4404, reason="this page's session has expired")
            return

        async def pump() -> None:
            seen = -1
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # the page went away
                while True:
                    if state.queue.version != seen:
                        seen = state.queue.version
                        await ws.send_json({"jobs": state.queue.session_jobs(token),
                                            "queue": state.queue.counts()})
                    await asyncio.sleep(0.1)

        task = asyncio.create_task(pump())
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass  # the page only pings
        finally:
            task.cancel()
            with state.lock:
                found.pages -= 1
                found.last_seen = time.time()

    routes = [
        Route("/", index),
        Route("/api/config", api_config),
        Route("/api/session", new_session, methods=["POST"]),
        Route("/api/images/{image}.jpg", image_view),
        Route("/api/images", upload, methods=["POST"]),
        Route("/api/builtin/{index:int}.jpg", builtin_image),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/estimate", estimate, methods=["POST"]),
        Route("/api/jobs/{job}", with_job(job_status)),
        Route("/api/jobs/{job}/cancel", with_job(job_cancel), methods=["POST"]),
        Route("/api/jobs/{job}/preview.jpg", with_job(job_preview)),
        Route("/api/jobs/{job}/remove", with_job(job_remove), methods=["POST"]),
        Route("/api/jobs/{job}/result.png", with_job(job_result, result_gone)),
        WebSocketRoute("/api/session/{session}/ws", session_socket),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(EXPIRE_EVERY)
                state.expire()

        sweeper = asyncio.create_task(sweep())
        yield
        sweeper.cancel()
        await asyncio.to_thread(state.queue.shutdown)
        decoders.shutdown()

    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(HostCheck, host=config.host, allowed=config.allowed_hosts)])
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.state.stylekit = state
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port); a one-line error when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StylekitError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class BackgroundServer:
    """Run the app in a thread (for tests and scripts): ``with BackgroundServer(config) as s: s.url``."""

    def __init__(self, config: ServerConfig) -> None:
        import uvicorn

        self.app = create_app(config)
        self.sock = bind(config.host, config.port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", ws="websockets-sansio",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def state(self) -> State:
        """The app's shared state (queue, sessions)."""
        return self.app.state.stylekit

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and self.thread.is_alive() and time.time() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError("the server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def url_of(sock: socket.socket) -> str:
    """The http URL a listening socket answers on."""
    host, port = sock.getsockname()[:2]
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def serve(config: ServerConfig, started: Callable[[str], None] | None = None) -> None:
    """Serve until Ctrl-C (the CLI's ``stylekit serve``); ``started(url)`` is called once listening."""
    import uvicorn

    app = create_app(config)
    sock = bind(config.host, config.port)
    if started is not None:
        started(url_of(sock))
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio")).run(sockets=[sock])
    finally:
        sock.close()
