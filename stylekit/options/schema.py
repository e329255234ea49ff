"""The option schema: each option is a dataclass field whose metadata says how to parse, check, show and name it.

From that one declaration come the command line (:func:`add_arguments`, :func:`options_from`), the web form
(:func:`form_fields`, :func:`parse_form`) and validation (:func:`validate`). Values are parsed by one function
per kind of value (:data:`KINDS`), whoever typed them: a CLI argument, a form field or a Python string.
Nothing here imports torch, so ``stylekit --help`` stays fast.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..provenance import note_options
from ..errors import StylekitError

SEED_MAX = 2**63 - 1  # torch.Generator.manual_seed takes at most 64 bits; keep to the signed range
MAX_SIDE = 65536  # sides above this are absurd for any backbone

FieldNamer = Callable[[str], str]  # a field name -> the name one face shows it by (CLI flag, web label, Python name)


class LiveChoices(Sequence):
    """Choices read each time they are used, from ``names()`` (a registry that grows after import)."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self.names = names

    def __getitem__(self, index: Any) -> Any:
        return tuple(self.names())[index]

    def __len__(self) -> int:
        return len(self.names())


class OptionError(StylekitError):
    """A bad option value; the message already names the option the way the user typed it. ``field``: the
    option's field name when one option alone is at fault (a page shows the message beside it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ValueProblem(ValueError):
    """A value that does not parse or is out of range; the message says why, without the option's name."""


@dataclass(frozen=True)
class Spec:
    """Everything about one option besides its name, type and default (which the dataclass field has).

    ``kind`` picks the parser (see :data:`KINDS`); ``low``/``high`` bound numbers (``above``: strictly greater
    than); ``choices`` for kind ``choice``; ``optional``: None (an empty form field) is allowed; ``web``: the
    page group it shows in (None: not on the page); ``cli``: offered on the command line; ``group``: its
    ``--help`` section; ``flag``: the CLI spelling (default ``--field-name``); ``short``: e.g. ``-o``;
    ``label``: plain words for the page and messages there (default: the name with spaces);
    ``aliases``: extra CLI flags that set a constant, as ``(flag, value, help)``; ``required``: the CLI must get it;
    ``expose``: for a nested options dataclass, which of its fields this command offers; for the page:
    ``tip``, plain-language help (default ``help``, which may name CLI flags), ``slider``, the (low, high,
    step) of a slider where a range makes sense (``log``: the slider moves in ratios, for weights spanning
    decades), and ``layers``: the value is layer names of the chosen backbone, offered as choices.
    """

    kind: str
    help: str
    low: float | None = None
    high: float | None = None
    above: float | None = None
    choices: Sequence[str] = ()
    optional: bool = False
    web: str | None = None
    cli: bool = True
    group: str = "options"
    flag: str | None = None
    short: str | None = None
    label: str | None = None
    aliases: tuple[tuple[str, Any, str], ...] = ()
    required: bool = False
    metavar: str | None = None
    expose: tuple[str, ...] = ()
    tip: str | None = None
    slider: tuple[float, float, float] | None = None
    log: bool = False
    layers: bool = False


def option(default: Any, help: str, kind: str, **spec: Any) -> Any:
    """A dataclass field carrying its :class:`Spec` (``default`` may be a zero-argument factory for
    ``kind="nested"``)."""
    meta = {"option": Spec(kind, help, **spec)}
    if kind == "nested":
        return dataclasses.field(default_factory=default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def spec_of(field: dataclasses.Field) -> Spec | None:
    """The field's :class:`Spec`, or None for a plain field."""
    return field.metadata.get("option")


def specs(cls: type) -> Iterator[tuple[dataclasses.Field, Spec]]:
    """The option fields of an options dataclass (or instance), in declaration order."""
    for f in dataclasses.fields(cls):
        spec = spec_of(f)
        if spec is not None:
            yield f, spec


# ---- one parser and one check per kind of value -------------------------------------------------------------

def _whole(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueProblem(f"must be a whole number, got {text!r}") from None


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueProblem(f"must be a number, got {text!r}") from None
    return value


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "on", "yes"):
        return True
    if lowered in ("0", "false", "off", "no", ""):
        return False
    raise ValueProblem(f"must be yes or no, got {text!r}")


def _size(text: str) -> int | tuple[int, int]:
    """``512`` (a long side, or a square where the method makes squares) or ``WIDTHxHEIGHT`` as (height, width)."""
    parts = text.strip().lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueProblem(f"must be a number of pixels such as 512, or WIDTHxHEIGHT such as 512x384, got {text!r}") \
            from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return (values[1], values[0])
    raise ValueProblem(f"must be N or WIDTHxHEIGHT, got {text!r}")


def _indices(text: str) -> list[int]:
    """``3,17,40`` or ranges such as ``0-15`` (both ends included), mixed: ``0-3,8``."""
    out: list[int] = []
    for part in _split(text):
        first, dash, last = part.partition("-")
        if not dash:
            out.append(_whole(part))
            continue
        low, high = _whole(first), _whole(last)
        if high < low or high - low > 100_000:
            raise ValueProblem(f"must be numbers or ranges such as 0-15 (low to high), got {part!r}")
        out.extend(range(low, high + 1))
    return out


def _mix(text: str) -> tuple[tuple[int, float], ...]:
    """``7`` or ``3:0.5,12:0.5``: numbered items, each with an optional weight (default 1)."""
    pairs = []
    for part in _split(text):
        index, _, weight = part.partition(":")
        pairs.append((_whole(index), _number(weight) if weight.strip() else 1.0))
    return tuple(pairs)


def _check_mix(value: Any, spec: Spec) -> tuple[tuple[int, float], ...]:
    """A mix given as an int, a {index: weight} mapping or (index, weight) pairs, as checked pairs."""
    items = value.items() if isinstance(value, Mapping) else [value] if isinstance(value, int) else value
    parts = {"numbers": Spec("int", "", low=spec.low, high=spec.high), "weights": Spec("float", "", low=0)}

    def checked(value: Any, part: str) -> Any:
        try:
            return _check_number(value, parts[part], part == "numbers")
        except ValueProblem as exc:
            raise ValueProblem(f"{part} {exc}") from None

    pairs = []
    for item in items:
        i, w = (item, 1.0) if isinstance(item, int) else item
        pairs.append((checked(i, "numbers"), checked(w, "weights")))
    if not pairs or sum(w for _, w in pairs) <= 0:
        raise ValueProblem("needs at least one item with a weight above 0, e.g. 7 or 3:0.5,12:0.5")
    return tuple(pairs)


PARSERS: dict[str, Callable[[str], Any]] = {
    "mix": _mix, "int": _whole, "float": _number, "bool": _bool, "choice": str.strip, "text": str.strip,
    "path": str.strip, "image": str.strip, "ints": lambda t: [_whole(p) for p in _split(t)],
    "indices": _indices,
    "floats": lambda t: [_number(p) for p in _split(t)], "names": _split, "size": _size, "images": _split,
}
KINDS = tuple(PARSERS)


def _fmt(value: float) -> str:
    """A number as a message shows it: whole numbers in full (a 400-digit one shortened), others as %g."""
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 24 else f"{text[:8]}... ({len(text)} digits)"
    return str(int(value)) if value.is_integer() and abs(value) < 1e7 else f"{value:g}"


def _bounds(spec: Spec) -> str:
    if spec.above is not None:
        text = f"> {_fmt(spec.above)}"
        return text + (f" and <= {_fmt(spec.high)}" if spec.high is not None else "")
    if spec.low is not None and spec.high is not None:
        return f"between {_fmt(spec.low)} and {_fmt(spec.high)}"
    if spec.low is not None:
        return f">= {_fmt(spec.low)}"
    return f"<= {_fmt(spec.high)}"


def _check_number(value: Any, spec: Spec, whole: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(f"must be a {'whole number' if whole else 'number'}, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond any float
        finite = False
    if not finite:
        raise ValueProblem(f"must be a finite number, got {_fmt(value)}" if not whole else
                           f"must be {_bounds(spec)}, got {_fmt(value)}")
    if whole and not float(value).is_integer():
        raise ValueProblem(f"must be a whole number, got {value!r}")
    value = int(value) if whole else float(value)
    if ((spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high)
            or (spec.above is not None and value <= spec.above)):
        raise ValueProblem(f"must be {_bounds(spec)}, got {_fmt(value)}")
    return value


def check_value(value: Any, spec: Spec) -> Any:
    """``value`` (a string is parsed first) checked against ``spec``; the normalised value, or :class:`ValueProblem`."""
    if isinstance(value, str) and spec.kind not in ("text", "path", "choice", "image"):
        value = PARSERS[spec.kind](value)
        if spec.kind in ("ints", "indices", "floats", "names", "images") and not value and not spec.optional:
            raise ValueProblem("must not be empty")
        value = None if spec.kind == "mix" and not value else value
    if value is None:
        if spec.optional or spec.kind == "nested":
            return None
        raise ValueProblem("needs a value")
    kind = spec.kind
    if kind in ("int", "float"):
        return _check_number(value, spec, kind == "int")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueProblem(f"must be True or False, got {value!r}")
        return value
    if kind == "choice":
        if value not in spec.choices:
            raise ValueProblem(f"must be one of {', '.join(spec.choices)}, got {value!r}")
        return value
    if kind in ("text", "path"):
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise ValueProblem(f"must be a non-empty text, got {value!r}")
        return value
    if kind == "images":  # files by name, or images themselves (PIL, arrays, tensors) from Python
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items or any(isinstance(v, (str, os.PathLike)) and not str(v).strip() for v in items):
            raise ValueProblem(f"must be image files, comma-separated, got {value!r}")
        return tuple(v.strip() if isinstance(v, str) else v for v in items)
    if kind in ("ints", "indices", "floats", "names"):
        items = list(value) if isinstance(value, (list, tuple, range)) else [value]
        if kind == "names":
            if any(not isinstance(v, str) or not v.strip() for v in items):
                raise ValueProblem(f"must be names, got {value!r}")
            return tuple(v.strip() for v in items)
        whole = kind in ("ints", "indices")
        element = Spec("int" if whole else "float", "", low=spec.low, high=spec.high, above=spec.above)
        return tuple(_check_number(v, element, whole) for v in items)
    if kind == "mix":
        try:
            return _check_mix(value, spec)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ValueProblem):
                raise
            raise ValueProblem(f"must be a number such as 7 or a mix such as 3:0.5,12:0.5, got {value!r}") from None
    if kind == "size":
        sides = list(value) if isinstance(value, (tuple, list)) else [value]
        if len(sides) not in (1, 2):
            raise ValueProblem(f"must be N or (height, width), got {value!r}")
        element = Spec("int", "", low=spec.low if spec.low is not None else 16,
                       high=spec.high if spec.high is not None else MAX_SIDE)
        try:
            checked = [_check_number(v, element, True) for v in sides]
        except ValueProblem as exc:
            raise ValueProblem(f"sides {exc}" if len(sides) == 2 else str(exc)) from None
        return checked[0] if len(checked) == 1 else (checked[0], checked[1])
    return value  # image: a path, PIL image or tensor, checked when it is loaded


# ---- names as each front end spells them ---------------------------------------------------------------------

def cli_flag(field: dataclasses.Field) -> str:
    """The option's CLI spelling, e.g. ``--style-weight``."""
    spec = spec_of(field)
    return (spec.flag if spec and spec.flag else None) or "--" + field.name.replace("_", "-")


def changed_flags(options: Any) -> list[str]:
    """The command-line flags that give ``options`` from the defaults: one per field that differs (nested options
    by their exposed fields), as a user would type them."""
    out: list[str] = []
    for f, spec, default in _fields_for_cli(type(options)()):
        value = getattr(options, f.name, default)
        if value == default:
            continue
        if spec.kind == "bool":
            out.append(cli_flag(f) if value else "--no-" + cli_flag(f)[2:])
        else:
            typed = as_typed(value, spec.kind)
            out += [cli_flag(f), "" if typed is None else str(typed)]
    return out


def web_label(field: dataclasses.Field) -> str:
    """The option's label on the page, e.g. ``style weight``."""
    spec = spec_of(field)
    return (spec.label if spec and spec.label else None) or field.name.replace("_", " ")


def namer(cls: type, style: str | FieldNamer) -> FieldNamer:
    """A function from field name to the name the user knows: ``cli`` flags, ``web`` labels, ``python`` names, or
    ``style`` itself when it is such a function (a front end with its own spellings)."""
    if callable(style):
        return style
    if style == "python":
        return lambda name: name
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for f, spec in specs(cls):
        if spec.kind == "nested":
            inner = f.default_factory()  # type: ignore[misc]
            by_name.update({g.name: g for g in dataclasses.fields(inner) if g.name in spec.expose})
    spell = cli_flag if style == "cli" else web_label
    return lambda name: spell(by_name[name]) if name in by_name else name.replace("_", "-" if style == "cli" else " ")


# ---- validation ---------------------------------------------------------------------------------------------

def validate(options: Any, style: str | FieldNamer = "python", **context: Any) -> Any:
    """Check and normalise every option field of ``options`` in place (strings are parsed), then run the
    class's own cross-field ``check(name, **context)``; raise :class:`OptionError` naming the option in
    ``style``. ``context`` carries what a check needs beyond the options (e.g. ``n_styles``)."""
    name = namer(type(options), style)
    for f, spec in specs(options):
        value = getattr(options, f.name)
        if spec.kind == "nested":
            validate(value, style)
            continue
        try:
            setattr(options, f.name, check_value(value, spec))
        except ValueProblem as exc:
            raise OptionError(f"{name(f.name)} {exc}", f.name) from None
    check = getattr(options, "check", None)
    if check is not None:
        check(name, **context)
    return options


def with_preset(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` over the values of the preset they name (``values["preset"]``, for a class with a ``preset``
    field), limited to ``cls``'s fields: a preset's settings are defaults every given value overrides."""
    names = {f.name for f in dataclasses.fields(cls)}
    name = values.get("preset")
    if name is None or "preset" not in names:
        return dict(values)
    from .presets import preset_values

    try:
        return {**preset_values(name, names), **values}
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def make_options(cls: type, values: Mapping[str, Any], style: str | FieldNamer = "python") -> Any:
    """Build and validate an options dataclass from keyword values (over a named ``preset``'s), naming unknown
    ones."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
    return validate(cls(**with_preset(cls, values)), style)


def keyword_options(*classes: type, skip: Sequence[str] = ()) -> Callable[[Any], Any]:
    """Decorate a public function that takes ``**options``: its docstring gains every keyword with its default
    and meaning, from the option dataclasses (so ``help(stylekit.transfer)`` lists them); ``skip``: fields the
    function takes as its own arguments."""
    def decorate(fn: Any) -> Any:
        lines = ["", "Keyword options (name=default: meaning):"]
        seen = set(skip)
        for cls in classes:
            defaults = cls()
            for f, spec in specs(cls):
                if f.name in seen:
                    continue
                seen.add(f.name)
                value = getattr(defaults, f.name)
                shown = f"{type(value).__name__}(...)" if spec.kind == "nested" else repr(value)
                lines.append(f"    {f.name}={shown}: {spec.help}")
        doc = inspect.cleandoc(fn.__doc__ or "")
        fn.__doc__ = doc + "\n" + "\n".join(lines) + "\n"
        return fn
    return decorate


# ---- the command line ---------------------------------------------------------------------------------------

def _arg_type(spec: Spec) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if spec.optional and text.strip().lower() in ("", "none"):
            return None
        try:
            return check_value(text, spec)
        except ValueProblem as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def as_typed(value: Any, kind: str) -> Any:
    """A default as a user would type it (``512x384``, ``relu1_1,relu2_1``)."""
    if value is None:
        return None
    if kind == "size" and isinstance(value, tuple):
        return f"{value[1]}x{value[0]}"
    if kind in ("ints", "indices", "floats", "names", "images") and isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if kind == "mix" and isinstance(value, (list, tuple)):
        return ",".join(str(i) if w == 1 else f"{i}:{w:g}" for i, w in value)
    return value


def _fields_for_cli(defaults: Any, only: Sequence[str] = ()) -> Iterator[tuple[dataclasses.Field, Spec, Any]]:
    for f, spec in specs(defaults):
        if only and f.name not in only:
            continue
        if spec.kind == "nested":
            yield from _fields_for_cli(getattr(defaults, f.name), spec.expose)
        elif spec.cli:
            yield f, spec, getattr(defaults, f.name)


def cli_flags(*classes: type) -> Callable[[str], str]:
    """Field name to the command-line flag that sets it in a command built from ``classes`` (``style_scale`` ->
    ``--style-scale``); a field none of them has is spelled the same way."""
    flags = {f.name: cli_flag(f) for cls in classes for f, _, _ in _fields_for_cli(cls())}
    return lambda name: flags.get(name) or "--" + name.replace("_", "-")


def _off_help(flag: str, text: str) -> str:
    """The help of a ``--no-X`` switch: what giving it does first, then what happens without it (the help of an
    option that is on by default says "(--no-X: what it does)" or "; --no-X: what it does")."""
    found = re.search(rf"\(?;? ?{re.escape(flag)}: ([^)]*)\)?", text)
    if found is None:
        return f"turn this off; by default: {text}"
    usual = (text[:found.start()] + text[found.end():]).strip(" ;")
    return f"{found.group(1)}; by default: {usual}"


def add_arguments(parser: argparse.ArgumentParser, cls: type, defaults: Mapping[str, Any] | None = None) -> None:
    """Add every CLI option of ``cls`` (nested options' exposed fields too) to ``parser``, grouped by
    ``Spec.group``; ``defaults`` overrides some defaults for this command."""
    groups: dict[str, Any] = {g.title: g for g in parser._action_groups}  # reuse groups of earlier classes
    for f, spec, default in _fields_for_cli(cls()):
        default = (defaults or {}).get(f.name, default)
        group = groups.get(spec.group) or groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        flags = [cli_flag(f)] + ([spec.short] if spec.short else [])
        if spec.kind == "bool":
            if default:
                off = "--no-" + cli_flag(f)[2:]
                group.add_argument(off, dest=f.name, action="store_false", help=_off_help(off, spec.help))
            else:
                group.add_argument(*flags, dest=f.name, action="store_true", help=spec.help)
        else:
            kwargs: dict[str, Any] = {"dest": f.name, "help": spec.help, "type": _arg_type(spec),
                                      "metavar": spec.metavar}
            if spec.kind == "choice":
                kwargs["choices"] = spec.choices
                kwargs["type"] = str
                kwargs["metavar"] = spec.metavar or "{" + ",".join(spec.choices) + "}"
            if spec.required and default is None:
                kwargs["required"] = True
            else:
                kwargs["default"] = as_typed(default, spec.kind)
            group.add_argument(*flags, **kwargs)
        for alias, value, help_text in spec.aliases:
            group.add_argument(alias, dest=f.name, action="store_const", const=value, help=help_text)


def options_from(args: argparse.Namespace, cls: type, **context: Any) -> Any:
    """An options dataclass built from parsed CLI arguments (nested options from their exposed fields),
    validated with messages that name the CLI flags (``context`` as for :func:`validate`)."""
    def build(defaults: Any, only: Sequence[str] = ()) -> Any:
        values: dict[str, Any] = {}
        for f, spec in specs(defaults):
            if spec.kind == "nested":
                values[f.name] = build(getattr(defaults, f.name), spec.expose)
            elif (not only or f.name in only) and spec.cli and hasattr(args, f.name):
                values[f.name] = getattr(args, f.name)
        return dataclasses.replace(defaults, **values)

    options = validate(build(cls()), "cli", **context)
    note_options(options)
    return options


# ---- the web form -------------------------------------------------------------------------------------------

# The page's words for the technical choices a novice meets in Advanced: what each does, its name after it.
CHOICE_WORDS: dict[str, dict[str, str]] = {
    "backbone": {"vgg19": "the usual (VGG19)", "vgg16": "a smaller network (VGG16)",
                 "scratch": "untrained, for quick tests (scratch)"},
    "pooling": {"max": "sharper details (max)", "avg": "softer, smoother (average)"},
    "style_loss": {"gram": "the classic look (Gram)", "w2": "closer colours and textures (W2)",
                   "sliced": "closest textures (sliced)", "meanstd": "a looser match (mean/std)"},
    "optimizer": {"lbfgs": "fast and steady (L-BFGS)", "adam": "gradual (Adam)", "sgd": "simple steps (SGD)"},
    "preserve_color": {"none": "the painting's colours", "luminance": "the photo's colours (luminance)",
                       "histogram": "the photo's colour balance (histogram)"},
    "quality": {"draft": "quick preview (draft)", "normal": "good (normal)", "high": "best, slower (high)"},
    "model": {"magenta": "painterly (Magenta)", "microast": "keeps detail (MicroAST)",
              "wct": "bold, strongest style (WCT)"},
    "init": {"content": "the photo", "noise": "random noise", "style": "the painting",
             "fast": "a quick painting of the photo (fast)"},
}


def form_fields(cls: type) -> list[dict[str, Any]]:
    """The page's form controls for ``cls``: every field with a ``web`` group, with its label, help text,
    kind, default (as typed), choices and bounds."""
    defaults = cls()
    out = []
    for f, spec in specs(cls):
        if spec.web is None:
            continue
        out.append({"name": f.name, "kind": spec.kind, "label": web_label(f), "help": spec.tip or spec.help,
                    "group": spec.web, "default": as_typed(getattr(defaults, f.name), spec.kind),
                    "choices": list(spec.choices), "optional": spec.optional,
                    "choice_words": {c: CHOICE_WORDS.get(f.name, {}).get(str(c), str(c)) for c in spec.choices},
                    "min": spec.low if spec.low is not None else spec.above, "max": spec.high,
                    "slider": list(spec.slider) if spec.slider else None, "log": spec.log, "layers": spec.layers})
    return out


def parse_form(cls: type, form: Mapping[str, Any], fixed: Mapping[str, Any] | None = None, **context: Any) -> Any:
    """An options dataclass from a submitted form (absent fields keep their defaults; an empty optional field
    means None) plus the server's ``fixed`` settings, validated with messages that name the page's labels."""
    shown = {f.name: f for f, spec in specs(cls) if spec.web is not None}
    unknown = sorted(set(form) - set(shown))
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, raw in form.items():
        spec = spec_of(shown[key])
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if not spec.optional:
                raise OptionError(f"{web_label(shown[key])} needs a value", key)
            values[key] = None
        elif spec.choices and raw not in spec.choices:  # the page offers only these (a text option's others
            # are files on this machine, which the page never names)
            raise OptionError(f"{web_label(shown[key])} must be one of {', '.join(spec.choices)}, got {raw!r}", key)
        elif spec.kind == "bool" and isinstance(raw, str):
            try:
                values[key] = _bool(raw)
            except ValueProblem as exc:
                raise OptionError(f"{web_label(shown[key])} {exc}", key) from None
        else:
            values[key] = raw if not isinstance(raw, (int, float)) or spec.kind in ("int", "float", "bool") \
                else str(raw)
    return validate(cls(**values, **(fixed or {})), "web", **context)
