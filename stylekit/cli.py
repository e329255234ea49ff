"""Command line: ``stylekit transfer``, ``stylekit demo``, ``stylekit layers``. Renders progress and errors."""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import StylekitError
from .optim import Callback, Progress

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show "(default: X)" only where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage dump) and exit with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"weights must be finite and >= 0, got {text!r}")
    return values


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 0, got {text!r}")
    return values


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _number(kind: type, low: float, strict: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}, got {text}")
        return value
    return parse


def add_transfer_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``transfer`` and ``demo`` (defaults from :class:`TransferOptions`)."""
    from .methods.transfer import TransferOptions
    d = TransferOptions()
    g = p.add_argument_group("size and schedule")
    g.add_argument("--size", type=_number(int, 16), default=d.size, help="long side of the output in pixels")
    g.add_argument("--steps", type=_ints, default=",".join(map(str, d.steps)),
                   help="optimisation steps per scale, coarse to fine, comma-separated (one number: every scale)")
    g.add_argument("--min-size", type=_number(int, 16), default=d.min_size,
                   help="long side of the coarsest scale; scales grow by about sqrt(2) up to --size")
    g.add_argument("--single-scale", action="store_true", help="optimise at --size only (no coarse-to-fine)")
    g.add_argument("--no-early-stopping", action="store_true",
                   help="run every step even when the loss has stopped improving")
    g = p.add_argument_group("losses")
    g.add_argument("--content-weight", type=_number(float, 0), default=d.content_weight, help="content loss weight")
    g.add_argument("--style-weight", type=_number(float, 0), default=d.style_weight, help="style loss weight")
    g.add_argument("--tv-weight", type=_number(float, 0), default=d.tv_weight, help="total-variation weight")
    g.add_argument("--content-layers", type=_names, default=",".join(d.content_layers),
                   help="content layers, comma-separated (see 'stylekit layers')")
    g.add_argument("--content-layer-weights", type=_floats, default=None,
                   help="one weight per content layer (default: equal, summing to 1)")
    g.add_argument("--style-layers", type=_names, default=",".join(d.style_layers),
                   help="style layers, comma-separated")
    g.add_argument("--style-layer-weights", type=_floats, default=None,
                   help="one weight per style layer (default: equal, summing to 1)")
    g.add_argument("--style-blend-weights", type=_floats, default=None,
                   help="one weight per style image (default: equal)")
    g.add_argument("--style-scale", type=_number(float, 0, strict=True), default=d.style_scale,
                   help="style image size relative to the content at each scale")
    g.add_argument("--preserve-color", choices=("none", "luminance", "histogram"), default=d.preserve_color,
                   help="keep the content's colours: luminance-only transfer, or match the output's colour "
                        "statistics to the content's")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=("lbfgs", "adam", "sgd"), default=d.optimizer, help="optimizer")
    g.add_argument("--lr", type=_number(float, 0, strict=True), default=None,
                   help="learning rate (default: 1 for lbfgs, 0.02 for adam, 0.05 for sgd)")
    g.add_argument("--init", default=d.init, help="start image: content, noise, style, or an image file")
    g.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same output")
    g = p.add_argument_group("network")
    g.add_argument("--backbone", choices=("vgg19", "vgg16", "scratch"), default=d.backbone,
                   help="feature extractor (vgg19: original Caffe weights, bundled)")
    g.add_argument("--weights", default=None,
                   help="torchvision weight file for vgg16/vgg19 (vgg16-397923af.pth, vgg19-dcbb9e9d.pth)")
    g.add_argument("--pooling", choices=("max", "avg"), default=d.pooling, help="pooling in the backbone")
    g.add_argument("--device", default=d.device, help="cpu, cuda, cuda:N or auto")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp, .tif, .bmp)")
    g.add_argument("--save-every", type=_number(int, 0), default=0,
                   help="write the current image every N steps (0: never)")
    g.add_argument("--intermediates", default=None,
                   help="folder for --save-every images (default: next to the output)")
    g.add_argument("--history", default=None, help="write the per-step loss history to this JSON file")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def build_parser() -> argparse.ArgumentParser:
    """The ``stylekit`` argument parser."""
    fmt = HelpFormatter
    parser = OneLineParser(prog="stylekit", description="Neural style transfer on frozen CNN features.")
    parser.add_argument("--version", action="version", version=f"stylekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    p = sub.add_parser("transfer", formatter_class=fmt, help="Gatys et al. style transfer",
                       description="Repaint CONTENT in the style of one or more STYLE images.")
    p.add_argument("content", metavar="CONTENT", help="content image")
    p.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    add_transfer_options(p)
    p = sub.add_parser("demo", formatter_class=fmt, help="transfer on the built-in example images",
                       description="Style transfer of a built-in photo (Grace Hopper, public domain, shipped "
                                   "with matplotlib) with a built-in swirling painting.")
    add_transfer_options(p)
    p.set_defaults(output="stylized.png")
    for action in p._actions:
        if action.dest == "output":
            action.required = False
    p = sub.add_parser("layers", formatter_class=fmt, help="list a backbone's layer names")
    p.add_argument("--backbone", choices=("vgg19", "vgg16", "scratch"), default="vgg19")
    p.add_argument("--weights", default=None, help="torchvision weight file for vgg16")
    return parser


class ProgressBar(Callback):
    """A tqdm bar on stderr: step, scale, image size and loss."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        self.enabled = enabled

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"scale {scale + 1} {size[1]}x{size[0]}")

    def on_step(self, progress: Progress) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=progress.total_steps, unit="step", file=sys.stderr, dynamic_ncols=True,
                            desc=f"scale {progress.scale + 1} {progress.size[1]}x{progress.size[0]}")
        self.bar.update(progress.step - self.bar.n)
        self.bar.set_postfix(loss=f"{progress.loss:.4g}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"stylekit: note: {message}", file=sys.stderr)


def _run_transfer(args: argparse.Namespace, content: object, styles: Sequence[object]) -> int:
    from .io import check_output_path, save_image
    from .methods.transfer import TransferOptions, run_transfer
    from .optim import SaveEvery

    output = check_output_path(args.output)
    history_path = Path(args.history).expanduser() if args.history else None
    if history_path is not None and not history_path.parent.is_dir():
        raise StylekitError(f"folder {history_path.parent} for --history does not exist")
    options = TransferOptions(
        size=args.size, steps=args.steps if len(args.steps) > 1 else args.steps[0],
        min_size=None if args.single_scale else args.min_size,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        content_layers=args.content_layers, content_layer_weights=args.content_layer_weights,
        style_layers=args.style_layers, style_layer_weights=args.style_layer_weights,
        style_blend_weights=args.style_blend_weights, style_scale=args.style_scale,
        optimizer=args.optimizer, lr=args.lr, init=args.init, pooling=args.pooling, backbone=args.backbone,
        weights=args.weights, preserve_color=args.preserve_color, early_stopping=not args.no_early_stopping,
        seed=args.seed, device=args.device)
    options.validate()
    callbacks: list[Callback] = []
    bar = ProgressBar(enabled=not args.quiet and sys.stderr.isatty())
    callbacks.append(bar)
    if args.save_every:
        folder = Path(args.intermediates).expanduser() if args.intermediates else output.parent
        if not folder.is_dir():
            raise StylekitError(f"folder {folder} for --intermediates does not exist: create it first")
        pattern = folder / f"{output.stem}_{{step:05d}}{output.suffix}"
        callbacks.append(SaveEvery(args.save_every, str(pattern), lambda img, path: save_image(img, path)))
    try:
        result = run_transfer(content, styles, options, callbacks)
    finally:
        bar.close()
    save_image(result.image, output)
    if history_path is not None:
        history_path.write_text(json.dumps(result.history, indent=1))
    if result.interrupted:
        print(f"stylekit: interrupted: wrote the best image so far to {output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stylekit`` command; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (already printed on one line)
        return int(exc.code or 0)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_warning, warnings.showwarning = warnings.showwarning, _show_warning
    try:
        if args.command == "layers":
            from .backbones import load_backbone
            print("\n".join(load_backbone(args.backbone, weights=args.weights).layer_names))
            return 0
        if args.command == "demo":
            from .io.examples import example_content, example_style
            return _run_transfer(args, example_content(), [example_style()])
        return _run_transfer(args, args.content, args.styles)
    except StylekitError as exc:
        print(f"stylekit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("stylekit: interrupted before the optimisation started; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        warnings.showwarning = previous_warning


if __name__ == "__main__":
    sys.exit(main())
