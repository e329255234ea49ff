"""jcjohnson/neural-style's command line on stylekit: its single-dash flags, defaults and meanings, translated to
the transfer's options over the ``neural-style`` preset, so ``th neural_style.lua ARGS`` becomes
``stylekit neural-style ARGS``."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import StylekitError
from .options import RecordOptions, TransferOptions, make_options

PRESET = "neural-style"
LBFGS_CORRECTIONS = 100  # optim.lbfgs's nCorrection when -lbfgs_num_correction is 0


def _floats(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers, got {text!r}") from None


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, "
                                             f"got {text!r}") from None
    return parse


# neural_style.lua's options: (flag, default, type, help); type None is a flag without a value.
FLAGS: tuple[tuple[str, Any, Callable[[str], Any] | None, str], ...] = (
    ("-style_image", None, str, "style image(s), comma-separated (default: stylekit's built-in example painting)"),
    ("-style_blend_weights", None, _floats, "one weight per style image (default: equal)"),
    ("-content_image", None, str, "content image (default: stylekit's built-in example photo)"),
    ("-image_size", 512, _number(int), "maximum side of the output"),
    ("-gpu", "0", str, "zero-indexed GPU; -1 for the CPU (without a CUDA GPU the CPU is used, with a note)"),
    ("-content_weight", 5.0, _number(float), "content weight"),
    ("-style_weight", 100.0, _number(float), "style weight (per layer)"),
    ("-tv_weight", 1e-3, _number(float), "total-variation weight"),
    ("-num_iterations", 1000, _number(int), "iterations"),
    ("-normalize_gradients", False, None, "L1-normalise each content and style term's gradient"),
    ("-init", "random", str, "random (0.001*randn in the preprocessed space) or image"),
    ("-init_image", None, str, "start image for -init image (default: the content)"),
    ("-optimizer", "lbfgs", str, "lbfgs or adam"),
    ("-learning_rate", 10.0, _number(float), "adam's learning rate (L-BFGS steps by 1, as neural-style's does)"),
    ("-lbfgs_num_correction", 0, _number(int), "L-BFGS history; 0 is optim.lbfgs's default, 100"),
    ("-print_iter", 50, _number(int), "print the losses every N iterations; 0: never"),
    ("-save_iter", 100, _number(int), "write OUTPUT_N.png every N iterations but the last, whose image is OUTPUT "
     "(as neural_style.lua); 0: never"),
    ("-output_image", "out.png", str, "output image"),
    ("-style_scale", 1.0, _number(float), "style image size relative to -image_size"),
    ("-original_colors", 0, _number(int), "1: keep the content's colours (luminance-only transfer)"),
    ("-pooling", "max", str, "max or avg"),
    ("-seed", -1, _number(int), "random seed; -1: a random one"),
    ("-content_layers", "relu4_2", _names, "content layers, comma-separated"),
    ("-style_layers", "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", _names, "style layers, comma-separated"),
)
# Flags naming Torch internals: accepted, noted, ignored.
IGNORED: tuple[tuple[str, Callable[[str], Any] | None, str], ...] = (
    ("-proto_file", str, "stylekit's VGG19 is built in"),
    ("-model_file", str, "stylekit uses its own copy of the original Caffe VGG19 weights"),
    ("-backend", str, "stylekit runs on PyTorch"),
    ("-cudnn_autotune", None, "PyTorch picks its kernels itself"),
    ("-multigpu_strategy", str, "stylekit runs on one device"),
)
# For messages: the neural-style flag of each option it sets.
SPELLING = {"style_blend_weights": "-style_blend_weights", "size": "-image_size", "device": "-gpu",
            "content_weight": "-content_weight", "style_weight": "-style_weight", "tv_weight": "-tv_weight",
            "steps": "-num_iterations", "init": "-init_image", "optimizer": "-optimizer", "lr": "-learning_rate",
            "lbfgs_history": "-lbfgs_num_correction", "save_every": "-save_iter", "output": "-output_image",
            "style_scale": "-style_scale", "pooling": "-pooling", "seed": "-seed",
            "content_layers": "-content_layers", "style_layers": "-style_layers"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """neural_style.lua's flags (with its defaults) and the ignored Torch-only ones."""
    for flag, default, kind, help_text in FLAGS:
        if kind is None:
            parser.add_argument(flag, dest=flag[1:], action="store_true", help=help_text)
        else:
            parser.add_argument(flag, dest=flag[1:], default=default, type=kind, metavar=flag[1:].upper(),
                                help=help_text)
    ignored = parser.add_argument_group("ignored (Torch internals; a note is printed)")
    for flag, kind, why in IGNORED:
        if kind is None:
            ignored.add_argument(flag, dest=flag[1:], action="store_true", help=why)
        else:
            ignored.add_argument(flag, dest=flag[1:], type=kind, metavar=flag[1:].upper(), help=why)


@dataclass
class Translation:
    """A neural-style command line as stylekit's: the images, the transfer and output options, how often to print
    the losses, and notes about flags that mean nothing here."""

    content: str | None
    styles: list[str] | None
    options: TransferOptions
    output: RecordOptions
    print_iter: int
    notes: list[str] = field(default_factory=list)


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise StylekitError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _device(gpu: str, cuda_available: bool, notes: list[str]) -> str:
    try:
        ids = [int(part) for part in gpu.split(",")]
    except ValueError:
        raise StylekitError(f"-gpu must be a GPU index such as 0, or -1 for the CPU, got {gpu!r}") from None
    if ids[0] < 0:
        return "cpu"
    if len(ids) > 1:
        notes.append(f"-gpu {gpu}: stylekit runs on one device, GPU {ids[0]}")
    if not cuda_available:
        notes.append(f"-gpu {ids[0]}: no CUDA GPU here, running on the CPU (-gpu -1 says so)")
        return "cpu"
    return f"cuda:{ids[0]}"


def flag(field: str) -> str:
    """The neural-style flag that sets a stylekit option field (``size`` -> ``-image_size``)."""
    return SPELLING.get(field, "-" + field)


def translate(args: argparse.Namespace, cuda_available: bool) -> Translation:
    """The stylekit run a parsed neural-style command line means (see :data:`FLAGS`); ``cuda_available`` decides
    where ``-gpu N`` runs."""
    notes = [f"-{flag[1:]} is a Torch setting with no meaning here ({why}): ignored"
             for flag, _, why in IGNORED if getattr(args, flag[1:]) not in (None, False)]
    init = _choice("-init", args.init, ("random", "image"))
    optimizer = _choice("-optimizer", args.optimizer, ("lbfgs", "adam"))
    if args.init_image is not None and init != "image":
        notes.append("-init_image is used with -init image only (as in neural-style): ignored")
    values: dict[str, Any] = {
        "preset": PRESET, "size": args.image_size, "device": _device(args.gpu, cuda_available, notes),
        "content_weight": args.content_weight, "style_weight": args.style_weight, "tv_weight": args.tv_weight,
        "steps": args.num_iterations, "normalize_gradients": args.normalize_gradients,
        "init": ("noise" if init == "random" else args.init_image or "content"), "optimizer": optimizer,
        "lr": args.learning_rate if optimizer == "adam" else 1.0,
        "lbfgs_history": args.lbfgs_num_correction or LBFGS_CORRECTIONS, "style_scale": args.style_scale,
        "preserve_color": "luminance" if args.original_colors == 1 else "none",
        "pooling": _choice("-pooling", args.pooling, ("max", "avg")),
        "seed": None if args.seed < 0 else args.seed, "content_layers": args.content_layers,
        "style_layers": args.style_layers, "style_blend_weights": args.style_blend_weights,
    }
    if args.original_colors not in (0, 1):
        raise StylekitError(f"-original_colors must be 0 or 1, got {args.original_colors}")
    if args.print_iter < 0 or args.save_iter < 0:
        raise StylekitError("-print_iter and -save_iter must be 0 (never) or a positive number of iterations")
    options = make_options(TransferOptions, values, flag)
    output = make_options(RecordOptions, {"output": args.output_image, "save_every": args.save_iter,
                                          "save_name": "{stem}_{step}", "save_final": False, "quiet": True},
                          flag)
    styles = _names(args.style_image) if args.style_image is not None else None
    if styles == []:
        raise StylekitError("-style_image names no image: give one or more, comma-separated")
    return Translation(args.content_image, styles, options, output, args.print_iter, notes)


class LossPrinter:
    """neural-style's progress lines every ``every`` iterations: each content and style loss, then the total."""

    def __init__(self, every: int, total: int, write: Callable[[str], None]) -> None:
        self.every, self.total, self.write = every, total, write

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        """Nothing to say when the (single) scale starts."""

    def on_item(self, progress: Any) -> None:
        """A transfer has no items."""

    def on_step(self, progress: Any) -> None:
        """Print at every ``every``-th iteration and the last."""
        if not self.every or (progress.step % self.every and progress.step != self.total):
            return
        lines = [f"Iteration {progress.step} / {self.total}"]
        for kind, label in (("content:", "Content"), ("style:", "Style")):
            values = [v for k, v in progress.terms.items() if k.startswith(kind)]
            lines += [f"  {label} {i} loss: {v:f}" for i, v in enumerate(values, start=1)]
        lines.append(f"  Total loss: {progress.loss:f}")
        self.write("\n".join(lines))
