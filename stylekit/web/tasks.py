"""The web UI's methods: form fields (defaults read from the option dataclasses the CLI uses too) and the
glue that runs a submitted form through the Python API as a queued job. No method logic lives here."""
from __future__ import annotations

import inspect
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from PIL import Image

from ..backbones import BACKBONES
from ..color import PRESERVE_COLOR
from ..errors import StylekitError
from ..io import to_pil
from ..optim import OPTIMIZER_CHOICES, Callback, Progress, StopRun
from .jobs import JobContext, JobOutput

OPTIMISE, QUICK = "optimise", "quick"


@dataclass(frozen=True)
class Field:
    """One form control. ``kind``: int, float, text, ints, floats, names, choice, bool, size (WxH)."""

    name: str
    kind: str
    label: str
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # an empty value means None

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"name": self.name, "kind": self.kind, "label": self.label, "help": self.help,
                "default": _shown(self.kind, self.default), "choices": list(self.choices), "optional": self.optional}

    def parse(self, raw: Any) -> Any:
        """The typed value of a submitted form value; a :class:`StylekitError` names the field otherwise."""
        if self.kind == "bool":
            return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "on", "yes")
        text = "" if raw is None else str(raw).strip()
        if not text:
            if self.optional:
                return None
            raise StylekitError(f"{self.label}: a value is required")
        try:
            if self.kind == "choice":
                if text not in self.choices:
                    raise ValueError(f"choose one of {', '.join(self.choices)}")
                return text
            if self.kind == "text":
                return text
            if self.kind == "names":
                return [t.strip() for t in text.split(",") if t.strip()]
            if self.kind == "size":
                width, height = (int(v) for v in text.lower().split("x"))
                return (height, width)
            if self.kind in ("ints", "floats"):
                kind = int if self.kind == "ints" else float
                values = [kind(t) for t in text.split(",") if t.strip()]
                if not values or any(not math.isfinite(v) or v < 0 for v in values):
                    raise ValueError("give comma-separated numbers >= 0")
                return values
            value = int(text) if self.kind == "int" else float(text)
            if not math.isfinite(value):
                raise ValueError("give a finite number")
            return value
        except ValueError as exc:
            reason = str(exc) if self.kind in ("choice", "ints", "floats") or "finite" in str(exc) else \
                {"size": "give WIDTHxHEIGHT, e.g. 512x512", "int": "give a whole number"}.get(self.kind,
                                                                                              "give a number")
            raise StylekitError(f"{self.label}: {text!r} is not valid ({reason})") from None


def _shown(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == "size":
        return f"{value[1]}x{value[0]}"
    if kind in ("ints", "floats", "names"):
        return ",".join(map(str, value if isinstance(value, (list, tuple)) else [value]))
    return value


def _arg_default(fn: Callable[..., Any], name: str) -> Any:
    return inspect.signature(fn).parameters[name].default


def _defaults(cls: type) -> dict[str, Any]:
    obj = cls()
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(frozen=True)
class Method:
    """A method the page offers: its lane, which images it takes, its fields, and how to run it."""

    name: str
    title: str
    lane: str
    needs_content: bool
    styles: str  # "none", "one" or "many"
    fields: tuple[Field, ...]
    run: Callable[[Any, list[Any], dict[str, Any], JobContext, int], JobOutput]

    def describe(self) -> dict[str, Any]:
        """JSON for the page."""
        return {"name": self.name, "title": self.title, "lane": self.lane, "needs_content": self.needs_content,
                "styles": self.styles, "fields": [f.describe() for f in self.fields]}

    def parse(self, form: dict[str, Any]) -> dict[str, Any]:
        """Typed option values from a submitted form (absent fields take their defaults)."""
        known = {f.name: f for f in self.fields}
        unknown = sorted(set(form) - set(known))
        if unknown:
            raise StylekitError(f"unknown option(s) for {self.name}: {', '.join(unknown)}")
        return {f.name: f.parse(form[f.name]) if f.name in form else f.default for f in self.fields}


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _output(image: Image.Image, interrupted: bool = False) -> JobOutput:
    return JobOutput(encode_png(image), "image/png", image.size, interrupted)


class JobReporter(Callback):
    """Progress, a JPEG preview every ``every`` steps, and cancellation, for a running optimisation."""

    def __init__(self, ctx: JobContext, every: int) -> None:
        self.ctx, self.every = ctx, max(1, every)

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        if self.ctx.cancelled:
            raise StopRun

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


def _run_transfer(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
                  preview_every: int) -> JobOutput:
    from ..methods.transfer import TransferOptions, run_transfer

    result = run_transfer(content, styles, TransferOptions(**values), [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_texture(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
                 preview_every: int) -> JobOutput:
    from ..methods.texture import TextureOptions, run_texture

    result = run_texture(styles[0], TextureOptions(**values), [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_dream(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
               preview_every: int) -> JobOutput:
    from ..methods.dream import DreamOptions, run_dream

    result = run_dream(content, DreamOptions(**values), [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_invert(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
                preview_every: int) -> JobOutput:
    from ..methods.invert import InvertOptions, run_invert

    layer = values.pop("layer")
    result = run_invert(content, layer, InvertOptions(**values), [JobReporter(ctx, preview_every)])
    return _output(result.image, result.interrupted)


def _run_fast(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
              preview_every: int) -> JobOutput:
    from ..fast import FastOptions, FastStylizer

    return _output(FastStylizer(styles, FastOptions(**values)).stylize_image(content))


def _run_features(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
                  preview_every: int) -> JobOutput:
    from ..methods.features import feature_figures, features

    color_scale = values.pop("color_scale")
    figure = feature_figures(features(content, **values), color_scale)[0]
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=100)
    image = Image.open(buf)
    return JobOutput(buf.getvalue(), "image/png", image.size)


def _common(defaults: dict[str, Any], seed: bool = True) -> tuple[Field, ...]:
    out = (Field("backbone", "choice", "backbone", "feature network (scratch: small random-weight CNN)",
                 defaults["backbone"], BACKBONES),
           Field("pooling", "choice", "pooling", "pooling layers of the network", defaults["pooling"], ("max", "avg")))
    return out + ((Field("seed", "int", "seed", "random seed; the same seed gives the same output",
                         defaults["seed"], optional=True),) if seed else ())


def _schedule(d: dict[str, Any]) -> tuple[Field, Field]:
    return (Field("steps", "ints", "steps", "steps per scale, coarse to fine, comma-separated", d["steps"]),
            Field("min_size", "int", "coarsest size", "long side of the first scale (empty: single scale)",
                  d["min_size"], optional=True))


def _tv(d: dict[str, Any]) -> Field:
    return Field("tv_weight", "float", "smoothness (TV) weight", "total-variation weight", d["tv_weight"])


def _optimizer(d: dict[str, Any]) -> Field:
    return Field("optimizer", "choice", "optimizer", "optimisation algorithm", d["optimizer"], OPTIMIZER_CHOICES)


def _early_stopping(d: dict[str, Any]) -> Field:
    return Field("early_stopping", "bool", "early stopping", "end a scale when the loss stops improving",
                 d["early_stopping"])


def build_methods(weights_dir: str | None = None, device: str = "cpu") -> dict[str, Method]:
    """The page's methods, with the CLI's defaults; ``weights_dir`` is where the fast models' files are."""
    from ..fast.stylize import MODELS, FastOptions
    from ..methods.dream import DreamOptions
    from ..methods.features import COLOR_SCALES, ORDERS, feature_figures
    from ..methods.features import features as features_fn
    from ..methods.invert import InvertOptions, run_invert
    from ..methods.texture import TextureOptions
    from ..methods.transfer import TransferOptions

    t = _defaults(TransferOptions)
    transfer = (
        Field("size", "int", "size", "long side of the output in pixels", t["size"]),
        *_schedule(t),
        Field("style_weight", "float", "style weight", "weight of the Gram style loss", t["style_weight"]),
        Field("content_weight", "float", "content weight", "weight of the content loss", t["content_weight"]),
        _tv(t),
        Field("style_scale", "float", "style scale", "style size relative to the content", t["style_scale"]),
        Field("style_blend_weights", "floats", "style blend weights", "one per style image (empty: equal)",
              t["style_blend_weights"], optional=True),
        Field("init", "choice", "start from", "initial image", t["init"], ("content", "noise", "style")),
        _optimizer(t),
        Field("preserve_color", "choice", "preserve colour", "keep the content's colours", t["preserve_color"],
              PRESERVE_COLOR),
        _early_stopping(t),
    ) + _common(t)
    f = _defaults(FastOptions)
    fast = (
        Field("model", "choice", "model", "MicroAST (fastest) or the WCT cascade", f["model"], MODELS),
        Field("alpha", "float", "style strength", "0 keeps the content, 1 is full style", f["alpha"]),
        Field("style_blend_weights", "floats", "style blend weights", "one per style image (empty: equal)",
              f["style_blend_weights"], optional=True),
        Field("preserve_color", "choice", "preserve colour", "keep the content's colours", f["preserve_color"],
              PRESERVE_COLOR),
        Field("content_size", "int", "content size", "long side of the content (empty: as uploaded)",
              f["content_size"], optional=True),
        Field("style_size", "int", "style size", "long side of each style image (empty: as uploaded)",
              f["style_size"], optional=True),
        Field("levels", "int", "WCT levels", "WCT only: cascade depth, 1-5", f["levels"]),
    )
    x = _defaults(TextureOptions)
    texture = (
        Field("size", "size", "size", "output WIDTHxHEIGHT in pixels", x["size"]),
        *_schedule(x),
        _tv(x),
        _optimizer(x),
        _early_stopping(x),
    ) + _common(x)
    d = _defaults(DreamOptions)
    dream = (
        Field("layer", "text", "layer", "layer whose activation is amplified, e.g. relu4_2", d["layer"]),
        Field("channels", "ints", "channels", "only these channels of the layer (empty: all)", d["channels"],
              optional=True),
        Field("size", "int", "size", "long side of the output in pixels", d["size"]),
        Field("octaves", "int", "octaves", "number of octaves", d["octaves"]),
        Field("octave_scale", "float", "octave scale", "size ratio between octaves", d["octave_scale"]),
        Field("steps", "int", "steps per octave", "ascent steps per octave", d["steps"]),
        Field("lr", "float", "step size", "normalised step: pixels move about this much per step", d["lr"]),
        Field("jitter", "int", "jitter", "random shift in pixels before each step", d["jitter"]),
    ) + _common(d)
    v = _defaults(InvertOptions)
    invert = (
        Field("layer", "text", "layer", "layer whose features are inverted, e.g. relu4_2",
              _arg_default(run_invert, "layer")),
        Field("size", "int", "size", "long side of the image in pixels", v["size"]),
        Field("steps", "int", "steps", "optimisation steps", v["steps"]),
        Field("tv_weight", "float", "TV weight", "weight of the total-variation regulariser", v["tv_weight"]),
        Field("beta", "float", "TV exponent", "exponent of the total variation", v["beta"]),
        _optimizer(v),
    ) + _common(v)
    a = {name: _arg_default(fn, name) for fn, names in ((features_fn, ("layers", "channels", "order", "size")),
                                                         (feature_figures, ("color_scale",))) for name in names}
    features = (
        Field("layers", "names", "layers", "comma-separated layer names", a["layers"]),
        Field("channels", "int", "channels", "channels shown per layer", a["channels"]),
        Field("order", "choice", "order", "which channels: the first or the most active", a["order"], ORDERS),
        Field("size", "int", "size", "long side the image is analysed at", a["size"]),
        Field("color_scale", "choice", "colour scale", "one scale per layer or per map", a["color_scale"],
              COLOR_SCALES),
    ) + _common(t, seed=False)

    def fixed(run: Callable[..., JobOutput], **settings: Any) -> Callable[..., JobOutput]:
        """``run`` with the server's own settings (device, weights folder) added to the form's values."""
        def wrapped(content: Any, styles: list[Any], values: dict[str, Any], ctx: JobContext,
                    every: int) -> JobOutput:
            return run(content, styles, {**values, "device": device, **settings}, ctx, every)
        return wrapped

    methods = [
        Method("transfer", "Style transfer (Gatys)", OPTIMISE, True, "many", transfer, fixed(_run_transfer)),
        Method("fast", "Fast style transfer", QUICK, True, "many", fast, fixed(_run_fast, weights_dir=weights_dir)),
        Method("texture", "Texture synthesis", OPTIMISE, False, "one", texture, fixed(_run_texture)),
        Method("dream", "DeepDream", OPTIMISE, True, "none", dream, fixed(_run_dream)),
        Method("invert", "Feature inversion", OPTIMISE, True, "none", invert, fixed(_run_invert)),
        Method("features", "Feature maps", QUICK, True, "none", features, fixed(_run_features)),
    ]
    return {m.name: m for m in methods}


SIZE_FIELDS = ("size", "content_size", "style_size")


def check_limits(values: dict[str, Any], max_side: int) -> None:
    """Refuse output sizes above the server's limit."""
    for name in SIZE_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        sides: Sequence[int] = value if isinstance(value, tuple) else (value,)
        if max(sides) > max_side:
            raise StylekitError(f"{name.replace('_', ' ')} {max(sides)} px is above this server's limit of "
                                f"{max_side} px (stylekit serve --max-side)")
        if min(sides) < 16:
            raise StylekitError(f"{name.replace('_', ' ')} must be at least 16 px")
