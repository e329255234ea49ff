"""The HTTP side of ``stylekit serve``: a Starlette app over the job queue and the Python API.

Uploads are raw request bodies, checked for size and pixel count and decoded in memory; nothing a client
sends is ever used as a file path, and nothing is written to disk. Each page holds a session (a random
token) and a WebSocket on which it hears about its jobs; when the socket closes (the tab went away) the
session's jobs are cancelled and its images and results dropped.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import secrets
import socket
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import StylekitError
from ..options import ServerConfig, namer, validate
from .jobs import Job, JobQueue, QueueFull
from .tasks import OPTIMISE, QUICK, Method, check_limits, methods_by_name, server_settings


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class StoredImage:
    """A decoded upload or example."""

    id: str
    name: str
    image: Image.Image = field(repr=False)

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"id": self.id, "name": self.name, "width": self.image.width, "height": self.image.height}


def decode_upload(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Decode an uploaded image in memory (first frame, EXIF orientation applied), refusing non-images,
    damaged files and images above ``max_pixels``."""
    from PIL import ImageOps

    from ..io import load_image

    if not data:
        raise StylekitError(f"{name} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > max_pixels:
                raise StylekitError(f"{name} is {img.width}x{img.height} = {img.width * img.height / 1e6:.1f} "
                                    f"megapixels; this server accepts up to {max_pixels / 1e6:.1f} (--max-pixels)")
            img.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise StylekitError(f"{name} is not an image this server can read: upload a JPEG, PNG, WebP, TIFF "
                            "or BMP") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise StylekitError(f"{name} is damaged or truncated ({exc}): re-export it") from None
    img = ImageOps.exif_transpose(img)
    load_image(img, name)  # the same checks as every other input (zero size, odd modes)
    return img


def _label(name: str) -> str:
    """A display label from a client-given file name: printable, short, never used as a path."""
    clean = "".join(c for c in Path(name.replace("\\", "/")).name if c.isprintable())[:80]
    return clean or "image"


class State:
    """Everything the app shares: configuration, methods, queue, sessions and their images."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = validate(config)
        self.methods = methods_by_name()
        self.queue = JobQueue({OPTIMISE: config.workers, QUICK: config.quick_workers}, config.max_waiting)
        self.lock = threading.Lock()
        self.sessions: dict[str, OrderedDict[str, StoredImage]] = {}
        self.last_seen: dict[str, float] = {}
        self.examples = self._load_examples()

    def _load_examples(self) -> dict[str, StoredImage]:
        from ..io import content_files, load_image, to_pil
        from ..io.examples import example_content, example_style

        def read(path: Path) -> Image.Image:  # the project's loader: EXIF orientation, one-line errors
            return to_pil(load_image(path).rgb)

        found = [("ex-portrait", "Grace Hopper (portrait)", read(example_content())),
                 ("ex-swirls", "Swirls (painting)", example_style())]
        if self.config.examples_dir:
            for path in content_files(Path(self.config.examples_dir).expanduser()):
                found.append((f"ex-{len(found)}", path.stem.replace("_", " "), read(path)))
        return {key: StoredImage(key, name, img) for key, name, img in found}

    def new_session(self) -> str:
        """A fresh session token; sessions idle for an hour without a page are dropped."""
        now = time.time()
        with self.lock:
            for old in [s for s, seen in self.last_seen.items() if now - seen > 3600]:
                self.drop_session(old)
            token = secrets.token_urlsafe(16)
            self.sessions[token] = OrderedDict()
            self.last_seen[token] = now
        return token

    def session(self, token: Any) -> OrderedDict[str, StoredImage]:
        """The images of a live session; a user error otherwise."""
        images = self.sessions.get(token) if isinstance(token, str) else None
        if images is None:
            raise StylekitError("unknown or expired session: reload the page")
        self.last_seen[token] = time.time()
        return images

    def drop_session(self, token: str) -> None:
        """Forget a session's images and cancel and forget its jobs."""
        self.sessions.pop(token, None)
        self.last_seen.pop(token, None)
        self.queue.close_session(token)

    def image(self, token: str, image_id: Any) -> StoredImage:
        """An example, or one of the session's uploads."""
        found = None
        if isinstance(image_id, str):
            found = self.examples.get(image_id) or self.session(token).get(image_id)
        if found is None:
            raise StylekitError("that image is no longer here: upload it again")
        return found


# An upload over the limit is still read (and dropped, chunk by chunk) for up to this many bytes beyond the
# limit before the 413 goes out: a client that sends its whole body before reading the answer (urllib does)
# would otherwise have the connection reset under it and never see the message. A body larger still is
# answered at once and the connection closed with the rest unread.
DISCARD_LIMIT = 64 * 1024 * 1024


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(config: ServerConfig) -> Starlette:
    """The web app; its :class:`State` is ``app.state.stylekit`` and its queue stops with the app."""
    state = State(config)
    static = resources.files("stylekit.web") / "static"
    limit = int(config.max_upload_mb * 1024 * 1024)

    async def index(request: Request) -> Response:
        return HTMLResponse((static / "index.html").read_text("utf-8"))

    async def api_config(request: Request) -> Response:
        return JSONResponse({
            "methods": [m.describe() for m in state.methods.values()],
            "examples": [e.describe() for e in state.examples.values()],
            "limits": {"max_upload_mb": config.max_upload_mb, "max_pixels": config.max_pixels,
                       "max_side": config.max_side},
            "queue": state.queue.counts()})

    async def new_session(request: Request) -> Response:
        return JSONResponse({"session": state.new_session()})

    async def upload(request: Request) -> Response:
        name = _label(request.query_params.get("name", "image"))
        try:
            images = state.session(request.query_params.get("session"))
        except StylekitError as exc:
            return _error(str(exc), 403)
        declared = request.headers.get("content-length")
        too_big = f"{name} is larger than this server's upload limit of {config.max_upload_mb:g} MB " \
                  "(--max-upload-mb): upload a smaller file"
        if declared and declared.isdigit() and int(declared) > limit + DISCARD_LIMIT:
            return _error(too_big, 413)  # too much to read through: answer and close with the body unread
        body = bytearray()
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + DISCARD_LIMIT:
                return _error(too_big, 413)
            if received <= limit:
                body += chunk
            else:
                body.clear()  # over the limit: read the rest through, keeping nothing, then answer
        if received > limit:
            return _error(too_big, 413)
        try:
            img = await asyncio.to_thread(decode_upload, bytes(body), name, config.max_pixels)
        except StylekitError as exc:
            return _error(str(exc), 415)
        stored = StoredImage(secrets.token_urlsafe(12), name, img)
        with state.lock:
            images[stored.id] = stored
            while len(images) > config.max_images:
                images.popitem(last=False)
        return JSONResponse(stored.describe())

    async def example_image(request: Request) -> Response:
        found = state.examples.get(request.path_params["key"])
        if found is None:
            return _error("no such example", 404)
        thumb = found.image.copy()
        thumb.thumbnail((256, 256))
        buf = io.BytesIO()
        thumb.save(buf, "JPEG", quality=85)
        return Response(buf.getvalue(), media_type="image/jpeg")

    def make_job(body: dict[str, Any]) -> Job:
        token = body.get("session")
        state.session(token)
        method: Method | None = state.methods.get(body.get("method"))  # type: ignore[arg-type]
        if method is None:
            raise StylekitError(f"unknown method {body.get('method')!r}: choose one of {', '.join(state.methods)}")
        form = body.get("options") or {}
        if not isinstance(form, dict):
            raise StylekitError("options must be an object of name: value")
        style_ids = body.get("styles") or []
        if not isinstance(style_ids, list):
            raise StylekitError("styles must be a list of image ids")
        style_ids = style_ids[: 1 if method.styles == "one" else None]
        fixed = server_settings(method.options, config.weights_dir, config.device)
        options = method.parse(form, fixed, n_styles=len(style_ids) or 1)
        check_limits(options, config.max_side, namer(method.options, "web"))
        content = state.image(token, body.get("content")) if method.needs_content else None
        if method.styles != "none" and not style_ids:
            raise StylekitError(f"{method.title} needs a style image: add one")
        styles = [state.image(token, i).image for i in style_ids]
        if method.name == "fast" and options.content_size is None:  # as uploaded, within the server's limit
            options.content_size = min(max(content.image.size), config.max_side)  # type: ignore[union-attr]
        source = content.image if content is not None else None

        def run(ctx: Any) -> Any:
            return method.run(source, styles, options, ctx, config.preview_every)

        return Job(token, method.name, method.lane, run)  # type: ignore[arg-type]

    async def submit(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error("send the job as a JSON object")
        if not isinstance(body, dict):
            return _error("send the job as a JSON object")
        try:
            job = state.queue.submit(make_job(body))
        except StylekitError as exc:
            return _error(str(exc), 503 if isinstance(exc, QueueFull) else 400)
        return JSONResponse(state.queue.describe(job))

    def with_job(handler: Callable[[Job], Response]) -> Callable[[Request], Any]:
        """An endpoint for one of the caller's jobs (by id and session); 404 when there is none."""
        async def endpoint(request: Request) -> Response:
            job = state.queue.get(request.path_params["job"], request.query_params.get("session"))
            if job is None:
                return _error("no such job (it was cancelled with its page, or expired)", 404)
            return handler(job)
        return endpoint

    def job_status(job: Job) -> Response:
        return JSONResponse(state.queue.describe(job))

    def job_cancel(job: Job) -> Response:
        state.queue.cancel(job)
        return job_status(job)

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

    async def session_socket(ws: WebSocket) -> None:
        token = ws.path_params["session"]
        await ws.accept()
        if token not in state.sessions:
            await ws.close(code=4404, reason="unknown session: reload the page")
            return

        async def pump() -> None:
            seen = -1
            while True:
                if state.queue.version != seen:
                    seen = state.queue.version
                    await ws.send_json({"jobs": state.queue.session_jobs(token), "queue": state.queue.counts()})
                await asyncio.sleep(0.1)

        task = asyncio.create_task(pump())
        try:
            while True:
                await ws.receive_text()  # the page only pings; a close ends the loop
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()
            with state.lock:
                state.drop_session(token)

    routes = [
        Route("/", index),
        Route("/api/config", api_config),
        Route("/api/session", new_session, methods=["POST"]),
        Route("/api/images", upload, methods=["POST"]),
        Route("/api/examples/{key}.jpg", example_image),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/jobs/{job}", with_job(job_status)),
        Route("/api/jobs/{job}/cancel", with_job(job_cancel), methods=["POST"]),
        Route("/api/jobs/{job}/preview.jpg", with_job(job_preview)),
        Route("/api/jobs/{job}/result.png", with_job(job_result)),
        WebSocketRoute("/api/session/{session}/ws", session_socket),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(state.queue.shutdown)

    app = Starlette(routes=routes, lifespan=lifespan)
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
