"""Fast (feed-forward) arbitrary style transfer: one pass of MicroAST or the WCT cascade per image."""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from .. import color
from ..devices import resolve_device
from ..errors import StylekitError
from ..io import ImageLike, load_image, save_image, to_pil
from ..io.images import WRITABLE
from ..methods.common import fit_long_side, make_options
from .microast import MicroAST, StyleCode
from .wct import WCT, ColorTransform
from .weights import resolve

MODELS = ("microast", "wct")


@dataclass
class FastOptions:
    """Settings of a fast stylisation (the CLI's defaults)."""

    model: str = "microast"  # microast or wct
    alpha: float = 1.0  # style strength: 0 keeps the content, 1 is full style
    style_blend_weights: list[float] | None = None  # one per style; interpolates between styles
    preserve_color: str = "none"  # none, luminance, histogram (as transfer)
    content_size: int | None = None  # long side of the content (None: as given)
    style_size: int | None = 512  # long side of each style image (None: as given)
    levels: int = 5  # wct only: cascade depth (5: relu5_1 down to relu1_1)
    mask: ImageLike | None = None  # wct only: bright = style 1, dark = style 2
    weights_dir: str | None = None  # folder with microast/ and cd-wct16x/ (else $STYLEKIT_WEIGHTS_DIR, cache)
    device: str = "cpu"

    def validate(self, n_styles: int) -> None:
        """Raise a one-line user error for an inconsistent setting."""
        if self.model not in MODELS:
            raise StylekitError(f"unknown fast model {self.model!r}: choose one of {', '.join(MODELS)}")
        if not (math.isfinite(self.alpha) and 0 <= self.alpha <= 1):
            raise StylekitError(f"alpha must be between 0 and 1, got {self.alpha}")
        if n_styles < 1:
            raise StylekitError("give at least one style image")
        if self.style_blend_weights is not None:
            if len(self.style_blend_weights) != n_styles:
                raise StylekitError(f"{len(self.style_blend_weights)} style blend weights for {n_styles} style "
                                    "images: give one weight per style image")
            if any(not math.isfinite(w) or w < 0 for w in self.style_blend_weights) or \
                    sum(self.style_blend_weights) <= 0:
                raise StylekitError("style blend weights must be finite, >= 0 and not all 0")
        if self.preserve_color not in color.PRESERVE_COLOR:
            raise StylekitError(f"unknown colour preservation {self.preserve_color!r}: "
                                f"choose one of {', '.join(color.PRESERVE_COLOR)}")
        for name in ("content_size", "style_size"):
            value = getattr(self, name)
            if value is not None and not 16 <= value <= 16384:
                raise StylekitError(f"{name.replace('_', '-')} must be between 16 and 16384, got {value}")
        if not 1 <= self.levels <= 5:
            raise StylekitError(f"levels must be between 1 and 5, got {self.levels}")
        if self.levels != 5 and self.model != "wct":
            raise StylekitError("levels applies to the wct model only: add --model wct")
        if self.mask is not None and (self.model != "wct" or n_styles != 2):
            raise StylekitError("a mask needs --model wct and exactly two style images (bright: first, dark: second)")


def _resize_long(image: torch.Tensor, long_side: int | None) -> torch.Tensor:
    if long_side is None or max(image.shape[-2:]) == long_side:
        return image
    hw = fit_long_side(*image.shape[-2:], long_side)
    return F.interpolate(image, size=hw, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def _pad_to(image: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    return F.pad(image, (0, -w % multiple, 0, -h % multiple), mode="replicate")


class FastStylizer:
    """A loaded model with its styles encoded once; call it on content tensors (1, 3, H, W) in [0, 1].

    With colour preservation the styles depend on each content image and are re-encoded per call.
    """

    def __init__(self, styles: Sequence[ImageLike], options: FastOptions | None = None) -> None:
        opts = options or FastOptions()
        opts.validate(len(styles))
        self.opts = opts
        self.device = resolve_device(opts.device)
        blend = list(opts.style_blend_weights or [1.0] * len(styles))
        self.blend = [b / sum(blend) for b in blend]
        self.styles = [_resize_long(load_image(s, f"style {i + 1}").rgb, opts.style_size).to(self.device)
                       for i, s in enumerate(styles)]
        files = resolve(opts.model, opts.weights_dir)
        net = MicroAST() if opts.model == "microast" else WCT()
        self.net = net.load_files(files).to(self.device).to(memory_format=torch.channels_last)
        self.mask = None if opts.mask is None else load_image(opts.mask, "mask").rgb.mean(1, keepdim=True)
        self._codes = None if opts.preserve_color != "none" else self._encode(self.styles)

    def _encode(self, styles: list[torch.Tensor]) -> StyleCode | list[list[ColorTransform]]:
        if isinstance(self.net, MicroAST):
            return StyleCode.blend([self.net.encode_style(s) for s in styles], self.blend)
        return [self.net.encode_style(s, self.opts.levels) for s in styles]

    @torch.no_grad()
    def __call__(self, content: torch.Tensor) -> torch.Tensor:
        """The stylised content, same size as given (content_size is applied by the caller)."""
        x = content.to(self.device)
        codes, original = self._codes, x
        if self.opts.preserve_color == "luminance":
            codes = self._encode([color.match_luminance(s, x) for s in self.styles])
            x = color.match_luminance(x, x)
        elif self.opts.preserve_color == "histogram":
            codes = self._encode([color.match_color(s, x).clamp(0, 1) for s in self.styles])
        h, w = x.shape[-2:]
        padded = _pad_to(x, self.net.multiple).contiguous(memory_format=torch.channels_last)
        if isinstance(self.net, MicroAST):
            out = self.net.stylize(padded, codes, self.opts.alpha)
        else:
            mask = None if self.mask is None else F.interpolate(self.mask, size=(h, w), mode="bilinear")
            mask = None if mask is None else _pad_to(mask, self.net.multiple).to(self.device)
            out = self.net.stylize(padded, codes, self.blend, self.opts.alpha, mask)
        out = out[..., :h, :w].contiguous()
        if self.opts.preserve_color == "luminance":
            out = color.combine_luminance(out, original)
        elif self.opts.preserve_color == "histogram":
            out = color.match_color(out, original).clamp(0, 1)
        return out

    def stylize_image(self, content: ImageLike) -> Image.Image:
        """Load, resize to ``content_size``, stylise; the content's alpha channel is kept."""
        loaded = load_image(content, "content")
        return to_pil(self(_resize_long(loaded.rgb, self.opts.content_size)), loaded.alpha)


def fast(content: ImageLike, styles: ImageLike | Sequence[ImageLike], **options: Any) -> Image.Image:
    """Stylise ``content`` in one forward pass. Keyword options are the fields of :class:`FastOptions`
    (``model``, ``alpha``, ``style_blend_weights``, ``preserve_color``, ``content_size``, ...)."""
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    return FastStylizer(style_list, make_options(FastOptions, options)).stylize_image(content)


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


def content_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder, sorted by name (an error if there are none)."""
    files = sorted(p for p in Path(folder).expanduser().iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise StylekitError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {folder}")
    return files


def fast_batch(folder: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output_dir: str | os.PathLike,
               suffix: str = ".png", progress: Callable[[int, int, Path], None] | None = None,
               **options: Any) -> list[Path]:
    """Stylise every image of ``folder`` into ``output_dir`` as ``<name>_stylized<suffix>``; the model is
    loaded and the styles encoded once. Outputs that already exist are written again."""
    out_dir = Path(output_dir).expanduser()
    if not out_dir.is_dir():
        raise StylekitError(f"output folder {out_dir} does not exist: create it first")
    if suffix.lower() not in WRITABLE:
        raise StylekitError(f"cannot write {suffix} files: use one of {', '.join(sorted(WRITABLE))}")
    files = content_files(folder)
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    stylizer = FastStylizer(style_list, make_options(FastOptions, options))
    return stylize_files(stylizer, files, out_dir, suffix, progress)


def stylize_files(stylizer: FastStylizer, files: Sequence[Path], out_dir: Path, suffix: str = ".png",
                  progress: Callable[[int, int, Path], None] | None = None) -> list[Path]:
    """Stylise each file into ``out_dir`` as ``<name>_stylized<suffix>``; ``progress(done, total, path)``
    after each one."""
    written = []
    for i, path in enumerate(files):
        written.append(save_image(stylizer.stylize_image(path), out_dir / f"{path.stem}_stylized{suffix}"))
        if progress is not None:
            progress(i + 1, len(files), path)
    return written
