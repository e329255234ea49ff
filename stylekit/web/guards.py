"""What the web server checks before it does any work for a request.

Requests naming a host the server does not serve are refused (DNS rebinding), and so are WebSockets and POSTs
from foreign pages. Request bodies are bounded: they time out when they stall, are refused past a size limit,
and count against one server-wide budget of upload memory while they arrive.
"""
from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .words import plain

MB = 1024 * 1024
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

# An upload over the limit is still read (and dropped, chunk by chunk) for up to this many bytes beyond the
# limit before the 413 goes out: a client that sends its whole body before reading the answer (urllib does)
# would otherwise have the connection reset under it and never see the message. A body larger still is
# answered at once and the connection closed with the rest unread.
DISCARD_LIMIT = 64 * 1024 * 1024


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


def json_error(message: str, status: int = 400) -> JSONResponse:
    """The one-line JSON answer to a request the server will not do: ``{"error": message}``, in plain words."""
    return JSONResponse({"error": plain(message)}, status_code=status)


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
            # not the page's words: the page never loads under a host it is refused for, and whoever started
            # the server is told the flag that lets it answer
            await JSONResponse({"error": problem}, status_code=status)(scope, receive, send)


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

    def full(self) -> str:
        """The message for an upload the budget has no room for."""
        return f"this server already holds {self.used / MB:.1f} MB of uploads, as much as it may: try again later"


class Refused(Exception):
    """A request body the server will not take: the answer's status and one-line message."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.close = status, close

    def response(self) -> JSONResponse:
        """The answer; ``close``: the rest of the body will never come, so the connection is closed."""
        response = json_error(str(self), self.status)
        if self.close:
            response.headers["Connection"] = "close"
        return response


async def read_body(request: Request, limit: int, too_big: str, budget: ByteBudget, timeout: float,
                    total: float | None = None) -> bytes:
    """A request body of at most ``limit`` bytes, counted against ``budget`` while it arrives. Raises
    :class:`Refused`: 413 (``too_big``) when larger, 408 when it stalls for ``timeout`` seconds or takes more than
    ``total`` seconds in all (a client trickling it), 503 when the budget is spent, 400 when the client went
    away."""
    end = None if total is None else time.monotonic() + total
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + DISCARD_LIMIT:
        raise Refused(413, too_big)  # too much to read through: answer and close with the body unread
    body = bytearray()
    received = 0
    try:
        while True:
            left = timeout if end is None else min(timeout, end - time.monotonic())
            try:
                if left <= 0:
                    raise asyncio.TimeoutError
                message = await asyncio.wait_for(request.receive(), left)
            except asyncio.TimeoutError:
                why = (f"took more than {total:g} s in all" if end is not None and time.monotonic() >= end
                       else f"stopped arriving for {timeout:g} s")
                raise Refused(408, f"the request body {why}: send it again", close=True) from None
            if message["type"] == "http.disconnect":
                raise Refused(400, "the request was cut off before its end")
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit + DISCARD_LIMIT:
                raise Refused(413, too_big)
            if received <= limit:
                if not budget.take(len(chunk)):
                    raise Refused(503, budget.full())
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
