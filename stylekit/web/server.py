"""The HTTP side of ``stylekit serve``: a Starlette app over the job queue and the Python API.

Each page holds a session (a random token, which the browser keeps) and a WebSocket on which it hears about its
jobs; uploads are raw request bodies, kept compressed in memory (:mod:`.sessions`). What a client can hold is
bounded: request bodies in size and time, uploads by one server-wide budget, sessions in number, and jobs in steps
and run time. The endpoints are in :mod:`.routes`, the checks every request passes first in :mod:`.guards`; this
module builds the app and serves it.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.staticfiles import StaticFiles

from ..errors import StylekitError
from ..options import ServerConfig
from .guards import HostCheck
from .routes import ROUTES, STATIC, resume_waiting
from .sessions import State

EXPIRE_EVERY = 15.0  # seconds between sweeps for sessions past their time


def http_protocol(header_timeout: float) -> type:
    """uvicorn's h11 protocol with a deadline on each request's headers: a connection that has not sent a whole
    request head ``header_timeout`` seconds after it opened (or after its last response) is closed, so clients
    trickling bytes hold nothing (uvicorn has no such deadline; its keep-alive timer restarts with every byte)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self.deadline = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _expired(self) -> None:
            if self.conn.their_state == h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state != h11.IDLE:  # the head is in: the body has its own deadlines
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline


def uvicorn_config(app: Starlette, config: ServerConfig, **settings: object) -> object:
    """The uvicorn settings every way of serving uses."""
    import uvicorn

    return uvicorn.Config(app, log_level="warning", ws="websockets-sansio",
                          http=http_protocol(config.header_timeout), **settings)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """While the app runs, forget expired sessions every ``EXPIRE_EVERY`` seconds; then stop its queue."""
    state: State = app.state.stylekit

    async def sweep() -> None:
        while True:
            await asyncio.sleep(EXPIRE_EVERY)
            state.expire()

    sweeper = asyncio.create_task(sweep())
    yield
    sweeper.cancel()
    await asyncio.to_thread(state.close)


def create_app(config: ServerConfig) -> Starlette:
    """The web app; its :class:`State` is ``app.state.stylekit`` (with what its store kept, and the jobs that
    were waiting queued again) and it is closed with the app."""
    state = State(config)
    try:
        resume_waiting(state)
    except BaseException:
        state.close()
        raise
    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    middleware=[Middleware(HostCheck, host=config.host, allowed=config.allowed_hosts)])
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
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
    """Run the app in a thread (for tests and scripts): ``with BackgroundServer(config) as s: s.url``. Its store
    is ``config.data_dir``, or a temporary folder removed when it stops."""

    def __init__(self, config: ServerConfig) -> None:
        import uvicorn

        self.scratch = None  # without a --data-dir, a store of its own that goes with it
        if config.data_dir is None:
            self.scratch = tempfile.TemporaryDirectory(prefix="stylekit-server-")
            config = dataclasses.replace(config, data_dir=self.scratch.name)
        self.app = create_app(config)
        self.sock = bind(config.host, config.port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(uvicorn_config(self.app, config, lifespan="on"))
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
        self.state.close()
        if self.scratch is not None:
            self.scratch.cleanup()


def url_of(sock: socket.socket) -> str:
    """The http URL a listening socket answers on."""
    host, port = sock.getsockname()[:2]
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def serve(config: ServerConfig, started: Callable[[str], None] | None = None) -> int:
    """Serve until Ctrl-C (the CLI's ``stylekit serve``); ``started(url)`` is called once listening. The number of
    results its store keeps when it stops."""
    import uvicorn

    app = create_app(config)
    try:
        sock = bind(config.host, config.port)
    except BaseException:
        app.state.stylekit.close()
        raise
    if started is not None:
        started(url_of(sock))
    try:
        uvicorn.Server(uvicorn_config(app, config)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the Ctrl-C again once it has shut down
        pass
    finally:
        sock.close()
        kept = app.state.stylekit.close()
    return kept
