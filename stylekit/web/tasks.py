"""The web UI's methods: which options class each takes (its form is generated from that class's field
metadata, see :func:`stylekit.options.form_fields`) and the glue that runs a submitted form through the Python
API as a queued job. No method logic lives here."""
from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .. import provenance
from ..io import image_bytes, to_pil
from ..optim import Callback, ItemProgress, Progress, StopRun
from ..options import ScheduleOptions, form_fields, parse_form, registry, specs
from ..options.schema import OptionError, changed_flags
from ..planning import run_plan
from .jobs import JobContext, JobOutput

SERVER_PATHS = ("weights_dir", "models_dir")  # server settings a download does not tell


@dataclass(frozen=True)
class Method:
    """A method as the page offers it (from :mod:`stylekit.options.registry`): its lane, the images it takes,
    its options class, and its job run through the Python API."""

    spec: registry.Method

    def __getattr__(self, name: str) -> Any:  # name, title, lane, options, needs_content, styles, ...
        return getattr(self.spec, name)

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"name": self.name, "title": self.title, "known_as": self.known_as, "lane": self.lane,
                "needs_content": self.needs_content,
                "styles": self.styles, "scans_every_picture": self.scans_every_picture, "repaints": self.repaints,
                "fields": form_fields(self.options)}

    def parse(self, form: dict[str, Any], fixed: dict[str, Any], n_styles: int | None = None) -> Any:
        """The options of a submitted form (absent fields keep their defaults) with the server's ``fixed``
        settings; messages name the page's labels."""
        context = {"n_styles": n_styles} if "builtin" in {f.name for f, _ in specs(self.options)} else {}
        return parse_form(self.options, form, fixed, **context)

    def run(self, content: Any, styles: list[Any], options: Any, ctx: JobContext, preview_every: int,
            images: Sequence[tuple[str, bytes]] = ()) -> JobOutput:
        """The method's job with progress, previews and cancellation; its image as PNG, remembering how it was
        made (the equivalent command line, every option, the seed, ``images`` by name and checksum)."""
        names = [name for name, _ in images]
        shown = dataclasses.replace(options, **{f: None for f in SERVER_PATHS if hasattr(options, f)})
        line = [self.name, *names, *changed_flags(shown)]  # the server's own folders are not the user's business
        with provenance.recording(self.name, line, inputs=images, cwd="(the web page)", public=True):
            result = self.spec.code(self.spec.job)(content, styles, options, [JobReporter(ctx, preview_every)])
            provenance.note_options(shown)
            data = image_bytes(result.image, ".png")
        return JobOutput(data, "image/png", result.image.size, result.interrupted, tuple(result.warnings))


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


class JobReporter(Callback):
    """Progress, a JPEG preview every ``every`` steps, and cancellation, for a running job: steps of an
    optimisation, items of a scan (images looked at), stages (loading a model)."""

    def __init__(self, ctx: JobContext, every: int) -> None:
        self.ctx, self.every = ctx, max(1, every)

    def on_stage(self, stage: str) -> None:
        self.ctx.report(stage=stage)  # (a stage is no place to stop: nothing there catches it)

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        if self.ctx.cancelled:
            raise StopRun
        self.ctx.report(stage="optimising")

    def on_step(self, progress: Progress) -> None:
        preview = None
        if progress.step % self.every == 0 or progress.step == 1:
            buf = io.BytesIO()
            to_pil(progress.image).save(buf, "JPEG", quality=85)
            preview = buf.getvalue()
        self.ctx.report(preview, step=progress.step, total=progress.total_steps, loss=progress.loss,
                        scale=progress.scale + 1, scales=progress.num_scales,
                        size=f"{progress.size[1]}x{progress.size[0]}")
        if self.ctx.cancelled:
            raise StopRun

    def on_item(self, progress: ItemProgress) -> None:
        self.ctx.report(step=progress.done, total=progress.total, stage=f"looking at {progress.item}")
        if self.ctx.cancelled:
            raise KeyboardInterrupt  # a scan keeps what it has seen


def methods_by_name() -> dict[str, Method]:
    """The page's methods by name: every registered method with a title."""
    return {m.name: Method(m) for m in registry.METHODS.values() if m.title}


def server_settings(options: type, weights_dir: str | None, device: str, models_dir: str | None = None) \
        -> dict[str, Any]:
    """The settings a server fixes for every job of a method: its device and, where the method takes them, its
    weights and trained models' folders."""
    names = {f.name for f, _ in specs(options)}
    folders = {"weights_dir": weights_dir, "models_dir": models_dir}
    return {"device": device, **{k: v for k, v in folders.items() if k in names}}


def total_steps(options: Any, content_hw: tuple[int, int] | None = None) -> int:
    """The optimisation steps a job's options ask for in all (every scale or octave; 0 for methods that do not
    optimise), on a content of ``content_hw`` (None: a square of the size's long side)."""
    if isinstance(options, ScheduleOptions):
        return run_plan(options, content_hw).steps
    return getattr(options, "steps", 0) * getattr(options, "octaves", 1)


def check_limits(options: Any, max_side: int, max_steps: int, label: Callable[[str], str]) -> None:
    """Refuse sizes (every size-kind option) and step counts above the server's limits."""
    for f, spec in specs(options):
        value = getattr(options, f.name)
        if spec.kind != "size" or value is None:
            continue
        sides: Sequence[int] = value if isinstance(value, tuple) else (value,)
        if max(sides) > max_side:
            raise OptionError(f"{label(f.name)} {max(sides)} px is above this server's limit of {max_side} px: "
                              "choose a smaller size", f.name)
    steps = total_steps(options)
    if steps > max_steps:
        raise OptionError(f"this job asks for {steps} optimisation steps in all, above this server's limit of "
                          f"{max_steps} per job: lower {label('steps')}", "steps")
