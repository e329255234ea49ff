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
from typing import Any

from . import __version__
from .backbones import BACKBONES
from .color import PRESERVE_COLOR
from .errors import StylekitError
from .optim import OPTIMIZER_CHOICES, Callback, Progress

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


def _size_pair(text: str) -> tuple[int, int]:
    """``512`` or ``WxH`` to (height, width)."""
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WIDTHxHEIGHT, got {text!r}") from None
    if len(parts) not in (1, 2) or min(parts) < 16 or max(parts) > 65536:
        raise argparse.ArgumentTypeError(f"sides must be between 16 and 65536 pixels, got {text!r}")
    return (parts[-1], parts[0])


def add_network_options(p: argparse.ArgumentParser) -> None:
    """Backbone, weights, pooling, device."""
    g = p.add_argument_group("network")
    g.add_argument("--backbone", choices=BACKBONES, default="vgg19",
                   help="feature extractor (vgg19: original Caffe weights, bundled)")
    g.add_argument("--weights", default=None,
                   help="torchvision weight file for vgg16/vgg19 (vgg16-397923af.pth, vgg19-dcbb9e9d.pth)")
    g.add_argument("--pooling", choices=("max", "avg"), default="max", help="pooling in the backbone")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")


def add_output_options(p: argparse.ArgumentParser, what: str = "output image (.png, .jpg, .webp, .tif, .bmp)",
                       required: bool = True) -> None:
    """Output path, seed, intermediates, history, quiet."""
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=required, help=what)
    g.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same output")
    g.add_argument("--save-every", type=_number(int, 0), default=0,
                   help="write the current image every N steps (0: never)")
    g.add_argument("--intermediates", default=None,
                   help="folder for --save-every images (default: next to the output)")
    g.add_argument("--history", default=None, help="write the per-step loss history to this JSON file")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def add_optimizer_options(g: argparse._ArgumentGroup, default: str = "lbfgs") -> None:
    """Optimizer and learning rate."""
    g.add_argument("--optimizer", choices=OPTIMIZER_CHOICES, default=default, help="optimizer")
    g.add_argument("--lr", type=_number(float, 0, strict=True), default=None,
                   help="learning rate (default: 1 for lbfgs, 0.02 for adam, 0.05 for sgd)")


def add_schedule_options(g: argparse._ArgumentGroup, steps: Sequence[int], min_size: int | None) -> None:
    """Steps per scale, coarsest size, single scale, early stopping."""
    g.add_argument("--steps", type=_ints, default=",".join(map(str, steps)),
                   help="optimisation steps per scale, coarse to fine, comma-separated (one number: every scale)")
    g.add_argument("--min-size", type=_number(int, 16), default=min_size,
                   help="long side of the coarsest scale; scales grow by about sqrt(2) up to the output size")
    g.add_argument("--single-scale", action="store_true", help="optimise at the output size only")
    g.add_argument("--no-early-stopping", action="store_true",
                   help="run every step even when the loss has stopped improving")


def add_transfer_options(p: argparse.ArgumentParser) -> None:
    """Options of ``transfer`` and ``demo`` (defaults from :class:`TransferOptions`)."""
    from .methods.transfer import TransferOptions
    d = TransferOptions()
    g = p.add_argument_group("size and schedule")
    g.add_argument("--size", type=_number(int, 16), default=d.size, help="long side of the output in pixels")
    add_schedule_options(g, d.steps, d.min_size)
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
    g.add_argument("--preserve-color", choices=PRESERVE_COLOR, default=d.preserve_color,
                   help="keep the content's colours: luminance-only transfer, or match the output's colour "
                        "statistics to the content's")
    g = p.add_argument_group("optimisation")
    add_optimizer_options(g)
    g.add_argument("--init", default=d.init, help="start image: content, noise, style, or an image file")
    g.add_argument("--tile", type=_number(int, 0), default=None,
                   help="compute each step in tiles of N px (same result, less memory); default: only when a "
                        "scale would not fit in memory whole; 0: never")
    add_network_options(p)
    add_output_options(p)


def add_texture_options(p: argparse.ArgumentParser) -> None:
    """Options of ``texture``."""
    from .methods.texture import TextureOptions
    d = TextureOptions()
    p.add_argument("source", metavar="STYLE", help="texture or painting to synthesise from")
    g = p.add_argument_group("size and schedule")
    g.add_argument("--size", type=_size_pair, default=f"{d.size[1]}x{d.size[0]}",
                   help="output size, WIDTHxHEIGHT or N for a square; may exceed the source")
    g.add_argument("--source-size", type=_number(int, 16), default=None,
                   help="long side the source is analysed at (default: its own, at most 512)")
    add_schedule_options(g, d.steps, d.min_size)
    g = p.add_argument_group("losses")
    g.add_argument("--style-layers", type=_names, default=",".join(d.style_layers), help="layers whose Gram "
                   "matrices are matched, comma-separated")
    g.add_argument("--style-layer-weights", type=_floats, default=None,
                   help="one weight per style layer (default: equal, summing to 1)")
    g.add_argument("--tv-weight", type=_number(float, 0), default=d.tv_weight, help="total-variation weight")
    add_optimizer_options(p.add_argument_group("optimisation"))
    add_network_options(p)
    add_output_options(p)


def add_invert_options(p: argparse.ArgumentParser) -> None:
    """Options of ``invert``."""
    from .methods.invert import InvertOptions
    d = InvertOptions()
    p.add_argument("image", metavar="IMAGE", help="image whose features are inverted")
    g = p.add_argument_group("inversion")
    g.add_argument("--layer", default="relu4_2", help="layer to reconstruct from")
    g.add_argument("--layers", type=_names, default=None,
                   help="comma-separated layers: one reconstruction per layer, written side by side")
    g.add_argument("--size", type=_number(int, 16), default=d.size, help="long side in pixels")
    g.add_argument("--steps", type=_number(int, 1), default=d.steps, help="optimisation steps")
    g.add_argument("--tv-weight", type=_number(float, 0), default=d.tv_weight, help="total-variation weight")
    g.add_argument("--beta", type=_number(float, 0, strict=True), default=d.beta,
                   help="total-variation exponent (2: smooth, 1: edge-preserving)")
    g.add_argument("--alpha", type=_number(float, 0, strict=True), default=d.alpha,
                   help="exponent of the alpha-norm bound on pixels")
    g.add_argument("--alpha-weight", type=_number(float, 0), default=d.alpha_weight,
                   help="weight of the alpha-norm bound")
    add_optimizer_options(g)
    add_network_options(p)
    add_output_options(p)


def add_dream_options(p: argparse.ArgumentParser) -> None:
    """Options of ``dream``."""
    from .methods.dream import DreamOptions
    d = DreamOptions()
    p.add_argument("image", metavar="IMAGE", help="image to dream on")
    g = p.add_argument_group("dream")
    g.add_argument("--layer", default=d.layer, help="layer whose activations are amplified")
    g.add_argument("--channels", type=_ints, default=None,
                   help="comma-separated channel indices of the layer (default: all)")
    g.add_argument("--guide", default=None, help="guide image: amplify the patterns it contains")
    g.add_argument("--size", type=_number(int, 16), default=d.size, help="long side of the output")
    g.add_argument("--octaves", type=_number(int, 1), default=d.octaves, help="number of octaves")
    g.add_argument("--octave-scale", type=_number(float, 1), default=d.octave_scale,
                   help="size ratio between octaves")
    g.add_argument("--steps", type=_number(int, 1), default=d.steps, help="ascent steps per octave")
    g.add_argument("--lr", type=_number(float, 0, strict=True), default=d.lr,
                   help="normalised step size (pixels move about this much per step)")
    g.add_argument("--jitter", type=_number(int, 0), default=d.jitter, help="random shift per step, pixels")
    g = p.add_argument_group("zoom loop")
    g.add_argument("--zoom-frames", type=_number(int, 0), default=0,
                   help="write an N-frame zoom-in loop (-o must be .gif or .mp4)")
    g.add_argument("--zoom", type=_number(float, 1), default=1.05, help="zoom factor per frame")
    g.add_argument("--frame-steps", type=_number(int, 1), default=5, help="ascent steps per zoom frame")
    g.add_argument("--fps", type=_number(int, 1), default=10, help="frames per second of the loop")
    add_network_options(p)
    add_output_options(p, "output image, or .gif/.mp4 with --zoom-frames")


def add_features_options(p: argparse.ArgumentParser) -> None:
    """Options of ``features``."""
    from .methods.features import COLOR_SCALES, ORDERS
    p.add_argument("image", metavar="IMAGE", help="image to look at")
    g = p.add_argument_group("feature maps")
    g.add_argument("--layers", type=_names, default="relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
                   help="comma-separated layers")
    g.add_argument("--channels", type=_number(int, 1), default=16, help="channels shown per layer")
    g.add_argument("--order", choices=ORDERS, default="index",
                   help="which channels: the first ones, or the highest by mean, max or std activation")
    g.add_argument("--color-scale", choices=COLOR_SCALES, default="shared",
                   help="one colour range per layer, or one per map")
    g.add_argument("--per-layer", action="store_true",
                   help="one figure per layer (OUTPUT_<layer>.png) instead of one sheet")
    g.add_argument("--size", type=_number(int, 16), default=256, help="long side the image is resized to")
    add_network_options(p)
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=True, help="figure file (.png, .jpg, .pdf, .svg)")
    g.add_argument("-q", "--quiet", action="store_true", help="no messages")


def add_model_options(g: argparse._ArgumentGroup, d: Any) -> None:
    """The fast model, its style strength and style size, and where its weights are (``fast`` and ``video``);
    defaults from ``d``, a :class:`stylekit.fast.FastOptions` or :class:`stylekit.video.VideoOptions`."""
    from .fast import MODELS, WEIGHTS_ENV
    g.add_argument("--model", choices=MODELS, default=d.model,
                   help="microast: tiny, fastest; wct: whitening-colouring cascade on a compressed VGG19")
    g.add_argument("--alpha", type=_number(float, 0), default=d.alpha,
                   help="style strength, 0 (content) to 1")
    g.add_argument("--style-size", type=_number(int, 16), default=d.style_size,
                   help="long side of each style image in pixels")
    g.add_argument("--weights-dir", default=None,
                   help=f"folder holding microast/ and cd-wct16x/ weight files (default: ${WEIGHTS_ENV}, then "
                        "the download cache)")


def add_fast_options(p: argparse.ArgumentParser) -> None:
    """Options of ``fast`` (defaults from :class:`stylekit.fast.FastOptions`)."""
    from .fast import FastOptions
    d = FastOptions()
    p.add_argument("content", metavar="CONTENT", help="content image, or a folder of images (batch mode)")
    p.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    g = p.add_argument_group("model")
    add_model_options(g, d)
    g.add_argument("--style-blend-weights", type=_floats, default=None,
                   help="one weight per style image, to interpolate between styles (default: equal)")
    g.add_argument("--preserve-color", choices=PRESERVE_COLOR, default=d.preserve_color,
                   help="keep the content's colours (as in transfer)")
    g.add_argument("--content-size", type=_number(int, 16), default=d.content_size,
                   help="long side of the content in pixels (default: as given)")
    g.add_argument("--levels", type=_number(int, 1), default=d.levels,
                   help="wct: cascade depth, 5 (relu5_1 to relu1_1, strongest) down to 1")
    g.add_argument("--mask", default=None,
                   help="wct, two styles: an image whose bright part gets the first style, dark part the second")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=True,
                   help="output image; in batch mode an existing folder (files named <name>_stylized.png)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def add_video_options(p: argparse.ArgumentParser) -> None:
    """Options of ``video`` (defaults from :class:`stylekit.video.VideoOptions`)."""
    from .video.flow import FLOW_METHODS
    from .video.stylize import DEFAULT_TEMPORAL, METHODS, VideoOptions
    d = VideoOptions()
    p.add_argument("input", metavar="INPUT", help="input video (anything FFmpeg reads: .mp4, .mov, .mkv, ...)")
    p.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    g = p.add_argument_group("method")
    g.add_argument("--method", choices=METHODS, default=d.method,
                   help="fast: feed-forward model per frame; gatys: optimisation per frame (slow)")
    g.add_argument("--temporal-weight", type=_number(float, 0), default=None,
                   help="temporal consistency; 0: independent frames. fast: share of the flow-warped previous "
                        f"frame blended in, 0-1 (default {DEFAULT_TEMPORAL['fast']}); gatys: weight of the "
                        f"temporal loss (default {DEFAULT_TEMPORAL['gatys']:g})")
    g.add_argument("--flow", choices=FLOW_METHODS, default=d.flow, help="optical flow (OpenCV)")
    g.add_argument("--size", type=_number(int, 16), default=None,
                   help="long side of the output frames (default: the input's for fast, 384 for gatys)")
    g.add_argument("--max-frames", type=_number(int, 1), default=None, help="stop after this many frames")
    g.add_argument("--preserve-color", choices=PRESERVE_COLOR, default=d.preserve_color,
                   help="keep the content's colours")
    add_model_options(p.add_argument_group("fast method"), d)
    g = p.add_argument_group("gatys method")
    g.add_argument("--steps", type=_ints, default=",".join(map(str, d.steps)),
                   help="L-BFGS steps per scale for the first frame")
    g.add_argument("--frame-steps", type=_number(int, 1), default=d.frame_steps,
                   help="steps for each later frame (starting from the warped previous one)")
    g.add_argument("--style-weight", type=_number(float, 0), default=d.style_weight, help="style loss weight")
    g.add_argument("--content-weight", type=_number(float, 0), default=d.content_weight, help="content loss weight")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv, .mov)")
    g.add_argument("--seed", type=int, default=None, help="random seed")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """Options of ``serve`` (defaults from :class:`stylekit.web.ServerConfig`)."""
    from .fast import WEIGHTS_ENV
    from .web.server import ServerConfig
    d = ServerConfig()
    g = p.add_argument_group("server")
    g.add_argument("--host", default=d.host,
                   help="address to listen on; the default accepts this machine only (0.0.0.0: every network)")
    g.add_argument("--port", type=_number(int, 0), default=d.port, help="port to listen on (0: any free port)")
    g.add_argument("--workers", type=_number(int, 1), default=d.workers, help="optimisation jobs run at once")
    g.add_argument("--quick-workers", type=_number(int, 1), default=d.quick_workers,
                   help="fast stylisations and feature maps run at once, beside the optimisations")
    g.add_argument("--preview-every", type=_number(int, 1), default=d.preview_every,
                   help="optimisation steps between preview images")
    g = p.add_argument_group("limits")
    g.add_argument("--max-upload-mb", type=_number(float, 0, strict=True), default=d.max_upload_mb,
                   help="largest accepted upload, in megabytes")
    g.add_argument("--max-pixels", type=_number(int, 1), default=d.max_pixels, help="largest accepted image, in pixels")
    g.add_argument("--max-side", type=_number(int, 16), default=d.max_side,
                   help="longest output side a job may ask for, in pixels")
    g.add_argument("--max-waiting", type=_number(int, 1), default=d.max_waiting, help="jobs waiting per queue")
    g = p.add_argument_group("models and examples")
    g.add_argument("--weights-dir", default=None,
                   help=f"folder with the fast models' weight files (default: ${WEIGHTS_ENV}, then the cache)")
    g.add_argument("--examples", default=None, help="folder of extra example images offered on the page")
    g.add_argument("--device", default=d.device, help="cpu, cuda, cuda:N or auto")


def build_parser() -> argparse.ArgumentParser:
    """The ``stylekit`` argument parser."""
    parser = OneLineParser(prog="stylekit", description="Neural style transfer on frozen CNN features.")
    parser.add_argument("--version", action="version", version=f"stylekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=HelpFormatter, help=summary, description=description)

    p = command("transfer", "Gatys et al. style transfer", "Repaint CONTENT in the style of one or more STYLE images.")
    p.add_argument("content", metavar="CONTENT", help="content image")
    p.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    add_transfer_options(p)
    p = command("demo", "transfer on the built-in example images",
                "Style transfer of a built-in photo (Grace Hopper, public domain, shipped with matplotlib) with a "
                "built-in swirling painting.")
    add_transfer_options(p)
    p.set_defaults(output="stylized.png")
    next(a for a in p._actions if a.dest == "output").required = False
    add_texture_options(command("texture", "texture synthesis from a style image",
                                "Synthesise a texture with the Gram statistics of STYLE (Gatys et al. 2015), "
                                "starting from noise, at any size."))
    add_invert_options(command("invert", "reconstruct an image from one layer's features",
                               "Feature inversion (Mahendran & Vedaldi 2015): from noise, recover an image whose "
                               "features at a layer match IMAGE's."))
    add_dream_options(command("dream", "DeepDream", "Amplify what a layer sees in IMAGE (DeepDream), with octaves, "
                              "jitter, an optional guide image and zoom loops."))
    add_features_options(command("features", "grids of feature maps",
                                 "Draw the activation maps of the chosen channels of each layer."))
    add_fast_options(command("fast", "fast feed-forward arbitrary style transfer",
                             "Stylise CONTENT (or every image in a folder) in one forward pass of a pretrained "
                             "arbitrary-style network (MicroAST or a WCT cascade)."))
    add_video_options(command("video", "stylise a video with temporal consistency",
                              "Stylise every frame of INPUT (frame rate and audio kept), warping the previous "
                              "stylised frame along the optical flow to avoid flicker. An interrupted job resumes "
                              "when run again with the same arguments."))
    add_serve_options(command("serve", "the web UI", "Serve the web UI: upload pictures, pick a method, watch the "
                              "image appear, download the result. Optimisations wait in a queue; fast jobs run "
                              "beside them."))
    p = command("layers", "list a backbone's layer names", "List the layer names of a backbone.")
    p.add_argument("--backbone", choices=BACKBONES, default="vgg19")
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


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"stylekit: note: {message}", file=sys.stderr)


def _callbacks(args: argparse.Namespace, output: Path, tag: str = "") -> tuple[ProgressBar, list[Callback]]:
    """The progress bar and, with --save-every, an intermediates writer (checked before any work)."""
    from .io import save_image
    from .optim import SaveEvery

    bar = ProgressBar(enabled=not args.quiet and sys.stderr.isatty())
    callbacks: list[Callback] = [bar]
    if args.save_every:
        folder = Path(args.intermediates).expanduser() if args.intermediates else output.parent
        if not folder.is_dir():
            raise StylekitError(f"folder {folder} for --intermediates does not exist: create it first")
        suffix = output.suffix if output.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") else ".png"
        pattern = folder / f"{output.stem}{tag}_{{step:05d}}{suffix}"
        callbacks.append(SaveEvery(args.save_every, str(pattern), lambda img, path: save_image(img, path)))
    return bar, callbacks


def _history_path(args: argparse.Namespace) -> Path | None:
    path = Path(args.history).expanduser() if getattr(args, "history", None) else None
    if path is not None and not path.parent.is_dir():
        raise StylekitError(f"folder {path.parent} for --history does not exist")
    return path


def _finish(args: argparse.Namespace, output: Path, interrupted: bool, history: list | None = None) -> int:
    history_path = _history_path(args)
    if history_path is not None:
        history_path.write_text(json.dumps(history or [], indent=1))
    if interrupted:
        print(f"stylekit: interrupted: wrote the best result so far to {output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _run_single(args: argparse.Namespace, run: Callable[[list[Callback]], object]) -> int:
    """Run one optimisation method with progress and intermediates; write its image atomically."""
    from .io import check_output_path, save_image

    output = check_output_path(args.output)
    _history_path(args)
    bar, callbacks = _callbacks(args, output)
    try:
        result = run(callbacks)
    finally:
        bar.close()
    save_image(result.image, output)
    return _finish(args, output, result.interrupted, result.history)


def _run_options(args: argparse.Namespace) -> dict[str, object]:
    """The settings every method shares (see :class:`stylekit.methods.common.RunOptions`)."""
    return {"pooling": args.pooling, "backbone": args.backbone, "weights": args.weights, "seed": args.seed,
            "device": args.device}


def _transfer(args: argparse.Namespace, content: object, styles: Sequence[object]) -> int:
    from .methods.transfer import TransferOptions, run_transfer

    options = TransferOptions(
        size=args.size, steps=args.steps if len(args.steps) > 1 else args.steps[0],
        min_size=None if args.single_scale else args.min_size,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        content_layers=args.content_layers, content_layer_weights=args.content_layer_weights,
        style_layers=args.style_layers, style_layer_weights=args.style_layer_weights,
        style_blend_weights=args.style_blend_weights, style_scale=args.style_scale,
        optimizer=args.optimizer, lr=args.lr, init=args.init, preserve_color=args.preserve_color,
        early_stopping=not args.no_early_stopping, tile=args.tile, **_run_options(args))
    options.validate()
    return _run_single(args, lambda callbacks: run_transfer(content, styles, options, callbacks))


def _texture(args: argparse.Namespace) -> int:
    from .methods.texture import TextureOptions, run_texture

    options = TextureOptions(
        size=args.size, source_size=args.source_size, steps=args.steps if len(args.steps) > 1 else args.steps[0],
        min_size=None if args.single_scale else args.min_size, style_layers=args.style_layers,
        style_layer_weights=args.style_layer_weights, tv_weight=args.tv_weight, optimizer=args.optimizer,
        lr=args.lr, early_stopping=not args.no_early_stopping, **_run_options(args))
    return _run_single(args, lambda callbacks: run_texture(args.source, options, callbacks))


def _invert(args: argparse.Namespace) -> int:
    from .io import check_output_path, load_image, save_image, to_pil
    from .methods.invert import InvertOptions, run_invert, sweep_sheet

    options = InvertOptions(size=args.size, steps=args.steps, tv_weight=args.tv_weight, beta=args.beta,
                            alpha=args.alpha, alpha_weight=args.alpha_weight, optimizer=args.optimizer, lr=args.lr,
                            **_run_options(args))
    if not args.layers:
        return _run_single(args, lambda callbacks: run_invert(args.image, args.layer, options, callbacks))
    output = check_output_path(args.output)
    _history_path(args)
    source = load_image(args.image)  # fail early on a bad image, before any layer runs
    results = []
    for layer in args.layers:
        bar, callbacks = _callbacks(args, output, f"_{layer}")
        try:
            results.append(run_invert(source.rgb, layer, options, callbacks))
        finally:
            bar.close()
        if results[-1].interrupted:
            break
    save_image(sweep_sheet(to_pil(source.rgb), results), output)
    history = [{"layer": r.layer, **h} for r in results for h in r.history]
    return _finish(args, output, results[-1].interrupted, history)


def _dream(args: argparse.Namespace) -> int:
    from .io.animation import check_animation_path, save_animation
    from .methods.dream import DreamOptions, dream_zoom, run_dream

    options = DreamOptions(layer=args.layer, channels=args.channels, size=args.size, octaves=args.octaves,
                           octave_scale=args.octave_scale, steps=args.steps, lr=args.lr, jitter=args.jitter,
                           guide=args.guide, **_run_options(args))
    if not args.zoom_frames:
        return _run_single(args, lambda callbacks: run_dream(args.image, options, callbacks))
    output = check_animation_path(args.output)
    _history_path(args)
    bar, callbacks = _callbacks(args, output)
    try:
        frames = dream_zoom(args.image, args.zoom_frames, args.zoom, args.frame_steps, options, callbacks)
    finally:
        bar.close()
    save_animation([f.image for f in frames], output, args.fps)
    history = [{"frame": i, **h} for i, f in enumerate(frames) for h in f.history]
    return _finish(args, output, frames[-1].interrupted, history)


def _features(args: argparse.Namespace) -> int:
    from .methods.features import feature_figures, features, save_figure

    output = Path(args.output).expanduser()
    if output.suffix.lower() not in (".png", ".jpg", ".jpeg", ".pdf", ".svg"):
        raise StylekitError(f"cannot write a figure to {output.name}: use .png, .jpg, .pdf or .svg")
    if not output.parent.is_dir():
        raise StylekitError(f"folder {output.parent} does not exist: create it or choose another output path")
    maps = features(args.image, args.layers, args.channels, args.order, args.size, args.backbone, args.pooling,
                    args.weights, args.device)
    figures = feature_figures(maps, args.color_scale, args.per_layer)
    if args.per_layer:
        paths = [save_figure(fig, output.with_name(f"{output.stem}_{layer}{output.suffix}"))
                 for fig, layer in zip(figures, maps)]
    else:
        paths = [save_figure(figures[0], output)]
    if not args.quiet:
        print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def _fast(args: argparse.Namespace) -> int:
    from .fast import FastOptions, FastStylizer
    from .fast.stylize import content_files, stylize_files
    from .io import check_output_path, save_image

    options = FastOptions(model=args.model, alpha=args.alpha, style_blend_weights=args.style_blend_weights,
                          preserve_color=args.preserve_color, content_size=args.content_size,
                          style_size=args.style_size, levels=args.levels, mask=args.mask,
                          weights_dir=args.weights_dir, device=args.device)
    if not Path(args.content).expanduser().is_dir():
        output = check_output_path(args.output)
        save_image(FastStylizer(args.styles, options).stylize_image(args.content), output)
        return _finish(args, output, False)
    out_dir = Path(args.output).expanduser()
    if not out_dir.is_dir():
        raise StylekitError(f"in batch mode -o must be an existing folder; {out_dir} is not one")
    files = content_files(args.content)
    stylizer = FastStylizer(args.styles, options)
    bar = _frame_bar(len(files), "image", args.quiet)
    done = 0

    def progress(count: int, total: int, path: Path) -> None:
        nonlocal done
        done = count
        bar.update(1)

    try:
        stylize_files(stylizer, files, out_dir, progress=progress)
    except KeyboardInterrupt:
        print(f"stylekit: interrupted: {done} of {len(files)} images written to {out_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if not args.quiet:
        print(f"wrote {done} images to {out_dir}", file=sys.stderr)
    return 0


def _video(args: argparse.Namespace) -> int:
    from .video.stylize import VideoOptions, run_video, work_dir

    options = VideoOptions(method=args.method, temporal_weight=args.temporal_weight, size=args.size, flow=args.flow,
                           max_frames=args.max_frames, model=args.model, alpha=args.alpha, style_size=args.style_size,
                           preserve_color=args.preserve_color, weights_dir=args.weights_dir,
                           steps=tuple(args.steps) if len(args.steps) > 1 else args.steps[0],
                           frame_steps=args.frame_steps, style_weight=args.style_weight,
                           content_weight=args.content_weight, seed=args.seed, device=args.device)
    bar = _frame_bar(0, "frame", args.quiet)
    frames = 0  # counted here: a disabled bar (quiet, or not a terminal) does not count

    def progress(done: int, total: int) -> None:
        nonlocal frames
        if total and bar.total != total:
            bar.total = total
        bar.update(done - frames)
        frames = done

    try:
        output = run_video(args.input, args.styles, args.output, options, progress)
    except KeyboardInterrupt:
        print(f"stylekit: interrupted after {frames} frames; finished frames are kept in "
              f"{work_dir(Path(args.output).expanduser())}: run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    return _finish(args, output, False)


def _frame_bar(total: int, unit: str, quiet: bool):
    """A tqdm bar counting images or frames (rate shown per second); disabled off a terminal."""
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, disable=quiet or not sys.stderr.isatty())


def _serve(args: argparse.Namespace) -> int:
    from .web.server import ServerConfig, is_loopback, serve

    config = ServerConfig(host=args.host, port=args.port, workers=args.workers, quick_workers=args.quick_workers,
                          max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels, max_side=args.max_side,
                          max_waiting=args.max_waiting, preview_every=args.preview_every,
                          weights_dir=args.weights_dir, device=args.device, examples_dir=args.examples)

    def started(url: str) -> None:
        reach = ("only this machine can connect (--host 0.0.0.0 to share it on your network)"
                 if is_loopback(config.host) else "WARNING: anyone who can reach this address can use it")
        print(f"stylekit serve: open {url} ; {reach}; Ctrl-C stops", file=sys.stderr)

    try:
        serve(config, started)
    except KeyboardInterrupt:
        pass
    print("stylekit serve: stopped", file=sys.stderr)
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
            return _transfer(args, example_content(), [example_style()])
        if args.command == "transfer":
            return _transfer(args, args.content, args.styles)
        return {"texture": _texture, "invert": _invert, "dream": _dream, "features": _features,
                "fast": _fast, "video": _video, "serve": _serve}[args.command](args)
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
