"""The web server's endpoints: the page, its JSON API and each session's WebSocket.

They are module-level functions that find the app's :class:`~.sessions.State` on ``app.state.stylekit``;
:data:`ROUTES` lists them.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import json
import secrets
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import StylekitError, render
from ..feedforward.weights import WeightsMissing
from ..methods.common import check_network
from ..options import BACKBONES, BUILTIN_NAMES, FAST_MODELS, N_BUILTIN, namer
from ..options.schema import CHOICE_WORDS, OptionError, as_typed, specs, web_label
from .estimate import say_seconds
from .estimate import work as estimate_work
from .guards import MB, Refused, json_error, read_body
from .jobs import FAILED, Job, QueueFull
from .sessions import VIEW_SIDES, Busy, State, StoredImage, UnknownSession, measure_upload, thumbnail, upload_label
from .previews import catalogue, preview
from .tasks import Method, check_limits, server_settings
from .words import plain

JOB_LIMIT = 64 * 1024  # bytes of JSON a job may take; the page sends a few hundred
STATIC = resources.files("stylekit.web") / "static"


GONE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Result expired - stylekit</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>This result has expired</h1><p>{message}</p><p><a href="/">Back to stylekit</a> to make it again.</p></body></html>
"""


def in_page_words(message: str, options: type) -> str:
    """A message from the engine in the page's words: each option it names (by field) by its label."""
    return render(message, namer(options, "web"))


QUALITY_NAMES = {"fast": "Quick", "draft": "Good", "high": "Best"}  # the page's choices, by what they run


def card_title(method: Any, options: Any, content: Any, styles: Sequence[Any]) -> str:
    """A result card's plain title: what the person chose, the style and the size, e.g. "Quick — The Starry
    Night — 512 px" (an Advanced schedule is "Custom")."""
    if method.name == "fast":
        kind = "Quick"
    elif method.name == "transfer":
        kind = "Custom" if options.steps is not None else QUALITY_NAMES.get(options.quality, "Custom")
    else:
        kind = method.title
    if method.scans_every_picture:
        style = ""
    elif styles:
        style = " + ".join(s.name for s in styles)
    elif getattr(options, "builtin", None):
        model = getattr(options, "model", None)
        own = model not in FAST_MODELS  # a trained model's styles: its name and row
        names = [f"{model} {i}" if own else BUILTIN_NAMES[i] for i, _ in options.builtin]
        style = " + ".join(names)
        style = style[:1].upper() + style[1:]
    else:
        style = ""
    size = getattr(options, "size", None) or getattr(options, "content_size", None)
    if isinstance(size, tuple):
        side = f"{size[1]}×{size[0]} px"
    elif isinstance(size, int):
        side = f"{size} px"
    elif content is not None:
        side = f"{max(content.width, content.height)} px"
    else:
        side = ""
    return " — ".join(part for part in (kind, style, side) if part)


def settings_shown(options: Any) -> list[list[str]]:
    """The page's settings of a job that differ from their defaults (and its size, model and a quality its title
    does not name), as [label, value] pairs for its card, choices in the page's words."""
    defaults = type(options)()
    shown = []
    for f, spec in specs(options):
        value = as_typed(getattr(options, f.name), spec.kind)
        if spec.web is None or value is None:
            continue
        if f.name == "quality" and value in QUALITY_NAMES:
            continue  # the card's title says it: Good, Best
        if value != as_typed(getattr(defaults, f.name), spec.kind) or f.name in ("quality", "size", "model"):
            text = "yes" if value is True else "no" if value is False else \
                f"{value:g}" if isinstance(value, float) else CHOICE_WORDS.get(f.name, {}).get(str(value), str(value))
            shown.append([web_label(f), text])
    return shown



def state_of(connection: HTTPConnection) -> State:
    """The app's shared state, for a request or a WebSocket."""
    return connection.app.state.stylekit


async def index(request: Request) -> Response:
    return HTMLResponse((STATIC / "index.html").read_text("utf-8"))


async def api_config(request: Request) -> Response:
    from ..backbones import layer_names

    state = state_of(request)
    config = state.config
    trained = state.trained_models()
    models = [*FAST_MODELS, *(t["name"] for t in trained)]
    methods = [m.describe() for m in state.methods.values()]
    for described in methods:  # the models this server's folder holds
        for field in described["fields"]:
            if described["name"] == "fast" and field["name"] == "model":
                field["choices"] = models
    return JSONResponse({
        "methods": methods,
        "examples": [e.describe() for e in state.examples.values()],
        "builtin_styles": catalogue(),
        "trained": trained,
        "layers": {name: layer_names(name) for name in BACKBONES},
        "keep_minutes": config.keep_minutes, "keep_days": config.keep_days, "keep_results": state.queue.keep_finished,
        "limits": {"max_upload_mb": config.max_upload_mb, "max_pixels": config.max_pixels,
                   "max_side": config.max_side},
        "queue": state.queue.counts()})


async def new_session(request: Request) -> Response:
    state = state_of(request)
    try:
        body = json.loads(await read_body(request, JOB_LIMIT, "send only a session token", state.held,
                                          state.config.body_timeout, state.config.body_deadline) or b"{}")
    except (Refused, ValueError, RecursionError):
        body = {}
    resume = body.get("resume") if isinstance(body, dict) else None
    try:
        token, resumed = state.new_session(resume)
    except Busy as exc:
        return json_error(str(exc), 503)
    images = [image.describe() for image in state.sessions[token].images.values()] if resumed else []
    return JSONResponse({"session": token, "resumed": resumed, "expired": bool(resume) and not resumed,
                         "images": images})


async def upload(request: Request) -> Response:
    state = state_of(request)
    config = state.config
    name = upload_label(request.query_params.get("name", "image"))
    token = request.query_params.get("session")
    try:
        state.session(token)
    except UnknownSession as exc:
        return json_error(str(exc), 403)
    too_big = f"{name} is larger than this server's upload limit of {config.max_upload_mb:g} MB: " \
              "upload a smaller file"
    try:
        data = await read_body(request, int(config.max_upload_mb * MB), too_big, state.held, config.body_timeout,
                               config.body_deadline)
        loop = asyncio.get_running_loop()
        width, height = await loop.run_in_executor(state.decoders, measure_upload, data, name, config.max_pixels)
        stored = StoredImage(secrets.token_urlsafe(12), name, data, width, height)
        state.keep_upload(token, stored)  # type: ignore[arg-type]
    except Refused as exc:
        return exc.response()
    except Busy as exc:
        return json_error(str(exc), 503)
    except UnknownSession as exc:
        return json_error(str(exc), 403)
    except StylekitError as exc:
        return json_error(str(exc), 415)
    return JSONResponse(stored.describe())


async def image_view(request: Request) -> Response:
    """An example or upload as a JPEG at most ``side`` px long (256 or 1024), for thumbnails and views."""
    state = state_of(request)
    try:
        found = state.image(request.query_params.get("session"), request.path_params["image"])
    except StylekitError as exc:
        return json_error(str(exc), 404)
    side = VIEW_SIDES[-1] if request.query_params.get("side") == str(VIEW_SIDES[-1]) else VIEW_SIDES[0]
    data = found.views.get(side)
    if data is None:
        try:
            data = await asyncio.get_running_loop().run_in_executor(state.decoders,
                                                                    lambda: thumbnail(found.open(), side))
        except StylekitError as exc:  # removed meanwhile
            return json_error(str(exc), 404)
        state.keep_view(request.query_params.get("session"), found, side, data)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


async def builtin_image(request: Request) -> Response:
    index = request.path_params["index"]
    if not 0 <= index < N_BUILTIN:
        return json_error(f"built-in styles are numbered 0 to {N_BUILTIN - 1}", 404)
    return Response(preview(index), media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


async def trained_image(request: Request) -> Response:
    state = state_of(request)
    name, index = request.path_params["name"], request.path_params["index"]
    try:
        data = await asyncio.get_running_loop().run_in_executor(state.decoders, state.trained_thumbnail, name, index)
    except StylekitError as exc:
        return json_error(str(exc), 404)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=60"})


def make_job(state: State, body: dict[str, Any]) -> Job:
    """A job from a submitted body (not queued); user errors name the page's fields and images. A body with
    ``"estimate": true`` only asks how long the job would take, so missing images are not errors."""
    config = state.config
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
    fixed = server_settings(method.options, config.weights_dir, config.device, config.models_dir)
    label = namer(method.options, "web")
    model = str(form.get("model") or "").strip() if method.name == "fast" else ""
    styles_of = {t["name"]: len(t["styles"]) for t in state.trained_models()} if model else {}
    trained = list(styles_of)
    if model:  # a shipped model, or a usable one of this server's models folder, by name (never a path)
        if model not in (*FAST_MODELS, *trained):
            raise OptionError(f"{label('model')} must be one of {', '.join([*FAST_MODELS, *trained])}, got "
                              f"{model[:40]!r}", "model")
        form, fixed = {k: v for k, v in form.items() if k != "model"}, {**fixed, "model": model}
    builtin = model in trained or (method.name == "fast" and str(form.get("builtin") or "").strip() != "")
    options = method.parse(form, fixed, n_styles=len(style_ids) if builtin else len(style_ids) or 1)
    if model in styles_of and any(index >= styles_of[model] for index, _ in options.builtin or ()):
        raise OptionError(f"{label('builtin')}: the model {model} has {styles_of[model]} style"
                          f"{'s' if styles_of[model] > 1 else ''} (0-{styles_of[model] - 1})", "builtin")
    check_limits(options, config.max_side, config.max_steps, label)
    try:  # what the run would refuse, refused before an estimate or a job exists
        check_network(options)
    except StylekitError as exc:
        raise OptionError(in_page_words(exc.template, method.options), exc.field) from None
    if method.needs_content and not body.get("content") and not asking:
        raise OptionError("this needs a photo: pick an example or upload one", "content")
    content = state.image(token, body["content"]) if method.needs_content and body.get("content") else None
    if method.styles != "none" and not style_ids and not builtin and not asking:
        raise OptionError("this needs a style: pick a painting or upload one" +
                          (", or pick a built-in style or one of your models" if method.name == "fast" else ""),
                          "style")
    styles = [state.image(token, i) for i in style_ids]
    if method.scans_every_picture:  # every picture the page has: the gallery's and the session's uploads
        styles = [*state.examples.values(), *state.session(token).images.values()]
    if method.name == "fast" and options.content_size is None and content is not None \
            and max(content.width, content.height) > config.max_side:  # else as uploaded
        options.content_size = config.max_side
    hw = (content.height, content.width) if content is not None else None
    work = estimate_work(method.name, options, hw, len(styles))

    def run(ctx: Any) -> Any:  # decoded here, in the worker, and only while the job runs (one at a time: pool)
        source = content.open() if content is not None else None
        scan = method.scans_every_picture
        images = [(style.name, style.open) for style in styles] if scan else [s.open() for s in styles]
        made = [(image.name, image.read()) for image in ([content] if content is not None else []) +
                ([] if scan else styles)]  # the download remembers them by name and checksum
        try:
            output = method.run(source, images, options, ctx, config.preview_every, made)
        except WeightsMissing:  # its message is for whoever installed stylekit: paths and URLs
            raise StylekitError("this style model is not installed on this server: choose another model, "
                                "or ask whoever runs the server to reinstall stylekit") from None
        except StylekitError as exc:
            raise StylekitError(in_page_words(exc.template, method.options), exc.field) from None
        output.warnings = tuple(in_page_words(warning, method.options) for warning in output.warnings)
        return output

    inputs = {"title": method.title, "card": card_title(method, options, content, styles),
              "content": content.describe() if content else None,
              "styles": [] if method.scans_every_picture else [style.describe() for style in styles],
              "settings": settings_shown(options),
              "preview": body.get("preview") is True}  # the live mix's redraws: not a card of the results
    network = str(getattr(options, "model", None) or getattr(options, "backbone", ""))
    seconds = state.estimator.seconds(method.name, work, network)
    limit = config.max_job_seconds
    if limit and seconds > limit:  # refused now rather than stopped (or, on the quick lane, run over) later
        raise OptionError(f"this job would take {say_seconds(seconds)} here, above this server's limit of "
                          f"{limit:g} s per job: choose a smaller size or a quicker setting", "size")
    request = {key: value for key, value in body.items() if key != "estimate"}
    uses = tuple(image.id for image in [content, *styles] if image is not None and image.kind == "upload")
    return Job(token, method.name, method.lane, run, inputs=inputs, work=work,  # type: ignore[arg-type]
               network=network, estimate=seconds, request=request, uses=uses)


def resume_waiting(state: State) -> None:
    """Queue again the jobs that were waiting when the server stopped (``state.waiting``), each checked as when it
    was sent; one that can no longer run fails with the reason on its card."""
    for kept in state.waiting:
        try:
            if not isinstance(kept.request, dict):
                raise StylekitError("its settings were not kept")
            job = make_job(state, kept.request)
            job.id, job.created = kept.id, kept.created
            state.queue.submit(job)
        except StylekitError as exc:
            kept.state, kept.finished = FAILED, time.time()
            kept.error = f"this job could not start again after the server restarted: {exc}"
            state.queue.restore(kept)
            state.store.kept(kept)
    state.waiting = []


def job_error(exc: StylekitError, status: int = 400) -> Response:
    """The answer to a job the server will not take; an option's problem names its field for the page."""
    response = json_error(str(exc), status)
    if isinstance(exc, OptionError) and exc.field:
        response = JSONResponse({"error": plain(exc), "field": exc.field}, status_code=status)
    return response


async def read_job(request: Request) -> dict[str, Any] | Response:
    """A job's JSON body, or the answer refusing it."""
    state = state_of(request)
    try:
        raw = await read_body(request, JOB_LIMIT, f"a job is at most {JOB_LIMIT // 1024} kB of JSON: send "
                              "its settings, not its images", state.held, state.config.body_timeout,
                              state.config.body_deadline)
    except Refused as exc:
        return exc.response()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python recurses
        body = None
    if not isinstance(body, dict):
        return json_error("send the job as a JSON object")
    return body


async def submit(request: Request) -> Response:
    body = await read_job(request)
    if isinstance(body, Response):
        return body
    state = state_of(request)
    try:
        job = state.queue.submit(make_job(state, body))
    except UnknownSession as exc:
        return json_error(str(exc), 403)
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
        job = make_job(state_of(request), body)
    except UnknownSession as exc:
        return json_error(str(exc), 403)
    except StylekitError as exc:
        return job_error(exc)
    return JSONResponse({"seconds": job.estimate, "text": say_seconds(job.estimate or 0.0)})


def with_job(handler: Callable[[State, Job], Response], gone: Callable[[Request], Response] | None = None) \
        -> Callable[[Request], Any]:
    """An endpoint for one of the caller's jobs (by id and session); 404 (or ``gone``) when there is none."""
    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        token = request.query_params.get("session")
        job = state.queue.owned(request.path_params["job"], token)
        if job is None:
            if gone is not None:
                return gone(request)
            return json_error("this job is no longer kept (removed, or past this server's time or space for "
                              "results)", 404)
        with contextlib.suppress(StylekitError):
            state.session(token)  # asking about a job keeps its session alive
        return handler(state, job)
    return endpoint


def job_status(state: State, job: Job) -> Response:
    return JSONResponse(state.queue.describe(job))


def job_cancel(state: State, job: Job) -> Response:
    state.queue.cancel(job)
    return job_status(state, job)


def job_remove(state: State, job: Job) -> Response:
    state.queue.remove(job)
    return JSONResponse({"removed": job.id})


def job_preview(state: State, job: Job) -> Response:
    if job.preview is None:
        return json_error("no preview yet", 404)
    return Response(job.preview, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def job_result(state: State, job: Job) -> Response:
    if job.output is None:
        return json_error("this job has no result yet", 404)
    try:
        data = job.output.read()
    except StylekitError:  # removed as this was asked
        return json_error(gone_message(state), 410)
    headers = {"Content-Disposition": f'attachment; filename="stylekit-{job.method}-{job.id[:8]}.png"',
               "Cache-Control": "no-store"}
    return Response(data, media_type=job.output.media_type, headers=headers)


def gone_message(state: State) -> str:
    """Why a result is no longer here, in the page's words."""
    return (f"This result is no longer kept. This server keeps each result for {state.config.keep_days:g} days "
            "(the oldest go first when its space runs out) and forgets the ones that were removed.")


def result_gone(request: Request) -> Response:
    """A download link whose result is no longer kept: a page that says so (410) for a browser, JSON else."""
    message = gone_message(state_of(request))
    if "text/html" not in request.headers.get("accept", ""):
        return json_error(message, 410)
    return HTMLResponse(GONE_PAGE.format(message=html.escape(plain(message))), status_code=410)


async def session_socket(ws: WebSocket) -> None:
    """A page's live connection: its session's jobs and the queue, pushed as they change. A session, and one
    client address, may hold only so many (``max_pages``, ``max_client_pages``); one silent for ``page_idle``
    seconds is closed (the page pings and reconnects), so idle connections do not keep sessions from being
    replaced."""
    state = state_of(ws)
    config = state.config
    token = ws.path_params["session"]
    client = ws.client.host if ws.client else ""
    await ws.accept()
    with state.lock:
        found = state.sessions.get(token)
        refused = None
        if found is None:
            refused = (4404, "this page's session has expired")
        elif found.pages >= config.max_pages:
            refused = (4429, f"this session has {found.pages} pages open, as many as it may: close one")
        elif state.sockets.get(client, 0) >= config.max_client_pages:
            refused = (4429, "too many pages are open from this address: close some")
        else:
            found.pages += 1
            state.sockets[client] = state.sockets.get(client, 0) + 1
    if refused is not None:
        await ws.close(code=refused[0], reason=plain(refused[1]))
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
        while True:  # the page only pings
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=config.page_idle)
            except asyncio.TimeoutError:
                with contextlib.suppress(RuntimeError, OSError):
                    await ws.close(code=4408, reason="the page was silent too long")
                break
            if message["type"] == "websocket.disconnect":
                break
    finally:
        task.cancel()
        with state.lock:
            found.pages -= 1
            found.last_seen = time.time()
            state.sockets[client] -= 1
            if not state.sockets[client]:
                del state.sockets[client]


ROUTES: list[BaseRoute] = [
    Route("/", index),
    Route("/api/config", api_config),
    Route("/api/session", new_session, methods=["POST"]),
    Route("/api/images/{image}.jpg", image_view),
    Route("/api/images", upload, methods=["POST"]),
    Route("/api/builtin/{index:int}.jpg", builtin_image),
    Route("/api/trained/{name}/{index:int}.jpg", trained_image),
    Route("/api/jobs", submit, methods=["POST"]),
    Route("/api/estimate", estimate, methods=["POST"]),
    Route("/api/jobs/{job}", with_job(job_status)),
    Route("/api/jobs/{job}/cancel", with_job(job_cancel), methods=["POST"]),
    Route("/api/jobs/{job}/preview.jpg", with_job(job_preview)),
    Route("/api/jobs/{job}/remove", with_job(job_remove), methods=["POST"]),
    Route("/api/jobs/{job}/result.png", with_job(job_result, result_gone)),
    WebSocketRoute("/api/session/{session}/ws", session_socket),
]
