"""The web UI's methods: which options class each takes (its form is generated from that class's field
metadata, see :func:`stylekit.options.form_fields`) and the glue that runs a submitted form through the Python
API as a queued job. No method logic lives here."""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from ..io import to_pil
from ..errors import StylekitError
from ..optim import Callback, ItemProgress, Progress, StopRun
from ..options import (DeconvOptions, DreamOptions, FastOptions, FeaturesOptions, InvertOptions, ScheduleOptions,
                       TextureOptions, TopImagesOptions, TransferOptions, VisualizeOptions, form_fields, parse_form,
                       specs)
from ..options.schema import OptionError
from ..planning import run_plan
from .jobs import JobContext, JobOutput

OPTIMISE, QUICK = "optimise", "quick"
Runner = Callable[[Any, list[Any], Any, JobContext, int], JobOutput]


@dataclass(frozen=True)
class Method:
    """A method the page offers: its lane, which images it takes, its options class, and how to run it."""

    name: str
    title: str
    lane: str
    needs_content: bool
    styles: str  # "none", "one" or "many"
    options: type
    run: Runner
    pool: bool = False  # looks through every picture the page has (its uploads and the gallery), given as styles

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"name": self.name, "title": self.title, "lane": self.lane, "needs_content": self.needs_content,
                "styles": self.styles, "pool": self.pool, "fields": form_fields(self.options)}

    def parse(self, form: dict[str, Any], fixed: dict[str, Any], n_styles: int | None = None) -> Any:
        """The options of a submitted form (absent fields keep their defaults) with the server's ``fixed``
        settings; messages name the page's labels."""
        context = {"n_styles": n_styles} if self.options is FastOptions else {}
        return parse_form(self.options, form, fixed, **context)


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _output(image: Image.Image, interrupted: bool = False, warnings: Sequence[str] = ()) -> JobOutput:
    return JobOutput(encode_png(image), "image/png", image.size, interrupted, tuple(warnings))


class JobReporter(Callback):
    """Progress, a JPEG preview every ``every`` steps, and cancellation, for a running optimisation."""

    def __init__(self, ctx: JobContext, every: int) -> None:
        self.ctx, self.every = ctx, max(1, every)

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


def _run_transfer(content: Any, styles: list[Any], options: TransferOptions, ctx: JobContext,
                  preview_every: int) -> JobOutput:
    from ..methods.gatys import run_transfer

    result = run_transfer(content, styles, options, [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted, result.warnings)


def _run_texture(content: Any, styles: list[Any], options: TextureOptions, ctx: JobContext,
                 preview_every: int) -> JobOutput:
    from ..methods.texture_synthesis import run_texture

    result = run_texture(styles[0], options, [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_dream(content: Any, styles: list[Any], options: DreamOptions, ctx: JobContext,
               preview_every: int) -> JobOutput:
    from ..methods.deepdream import run_dream

    result = run_dream(content, options, [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_invert(content: Any, styles: list[Any], options: InvertOptions, ctx: JobContext,
                preview_every: int) -> JobOutput:
    from ..methods.inversion import run_invert

    result = run_invert(content, options, [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_fast(content: Any, styles: list[Any], options: FastOptions, ctx: JobContext,
              preview_every: int) -> JobOutput:
    from ..feedforward import FastStylizer

    ctx.report(stage="loading the model")
    stylizer = FastStylizer(styles, options)
    ctx.report(stage="stylising")
    return _output(stylizer.stylize_image(content))


def _run_deconv(content: Any, styles: list[Any], options: DeconvOptions, ctx: JobContext,
                preview_every: int) -> JobOutput:
    from ..methods.deconv import run_deconv

    return _output(run_deconv(content, options).sheet)


class ItemReporter(Callback):
    """Progress over items (images scanned), and cancellation between them."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    def on_item(self, progress: ItemProgress) -> None:
        self.ctx.report(step=progress.done, total=progress.total, stage=f"looking at {progress.item}")
        if self.ctx.cancelled:
            raise KeyboardInterrupt  # the scan keeps what it has seen


def _run_top_images(content: Any, styles: list[Any], options: TopImagesOptions, ctx: JobContext,
                    preview_every: int) -> JobOutput:
    from ..methods.deconv import run_top_images

    result = run_top_images(styles, options, [ItemReporter(ctx)])
    if result.sheet is None:
        raise StylekitError("none of the pictures could be read")
    return _output(result.sheet, result.interrupted)


def _run_visualize(content: Any, styles: list[Any], options: VisualizeOptions, ctx: JobContext,
                   preview_every: int) -> JobOutput:
    from ..methods.visualize import run_visualize

    result = run_visualize(options, [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_features(content: Any, styles: list[Any], options: FeaturesOptions, ctx: JobContext,
                  preview_every: int) -> JobOutput:
    from ..methods.feature_maps import feature_figures, run_features

    figure = feature_figures(run_features(content, options), options.color_scale, cmap=options.cmap)[0]
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=100)
    image = Image.open(buf)
    return JobOutput(buf.getvalue(), "image/png", image.size)


METHODS = (
    Method("transfer", "Style transfer (Gatys)", OPTIMISE, True, "many", TransferOptions, _run_transfer),
    Method("fast", "Fast style transfer", QUICK, True, "many", FastOptions, _run_fast),
    Method("texture", "Texture synthesis", OPTIMISE, False, "one", TextureOptions, _run_texture),
    Method("dream", "DeepDream", OPTIMISE, True, "none", DreamOptions, _run_dream),
    Method("invert", "Feature inversion", OPTIMISE, True, "none", InvertOptions, _run_invert),
    Method("features", "Feature maps", QUICK, True, "none", FeaturesOptions, _run_features),
    Method("deconv", "Deconvnet projections", QUICK, True, "none", DeconvOptions, _run_deconv),
    Method("top-images", "Top activations over my pictures", OPTIMISE, False, "none", TopImagesOptions,
           _run_top_images, pool=True),
    Method("visualize", "What a channel looks for", OPTIMISE, False, "none", VisualizeOptions, _run_visualize),
)


def methods_by_name() -> dict[str, Method]:
    """The page's methods by name."""
    return {m.name: m for m in METHODS}


def server_settings(options: type, weights_dir: str | None, device: str) -> dict[str, Any]:
    """The settings a server fixes for every job of a method: its device and, where the method takes one,
    its weights folder."""
    names = {f.name for f, _ in specs(options)}
    return {"device": device, **({"weights_dir": weights_dir} if "weights_dir" in names else {})}


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
