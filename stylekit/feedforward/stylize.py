"""Fast (feed-forward) arbitrary style transfer: one pass of MicroAST or the WCT cascade per image."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from .. import color
from ..devices import resolve_device
from ..errors import StylekitError
from ..io import WRITABLE, ImageLike, content_files, load_image, resize_to, save_image, to_pil
from ..optim.callbacks import Callback, ItemProgress
from ..options import FastOptions, make_options, validate
from .microast import MicroAST, StyleCode
from .wct import WCT, ColorTransform
from .weights import resolve


def _pad_to(image: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    return F.pad(image, (0, -w % multiple, 0, -h % multiple), mode="replicate")


class FastStylizer:
    """A loaded model with its styles encoded once; call it on content tensors (1, 3, H, W) in [0, 1].

    With colour preservation the styles depend on each content image and are re-encoded per call.
    """

    def __init__(self, styles: Sequence[ImageLike], options: FastOptions | None = None) -> None:
        opts = validate(options or FastOptions(), n_styles=len(styles))
        self.opts = opts
        self.device = resolve_device(opts.device)
        blend = list(opts.style_blend_weights or [1.0] * len(styles))
        self.blend = [b / sum(blend) for b in blend]
        self.styles = [resize_to(load_image(s, f"style {i + 1}").rgb, opts.style_size).to(self.device)
                       for i, s in enumerate(styles)]
        files = resolve(opts.model, opts.weights_dir)
        with torch.random.fork_rng(devices=[]):  # layers draw initial weights (overwritten below) from torch's
            net = MicroAST() if opts.model == "microast" else WCT()  # global RNG: leave its state as it was
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
        return to_pil(self(resize_to(loaded.rgb, self.opts.content_size)), loaded.alpha)


def fast(content: ImageLike, styles: ImageLike | Sequence[ImageLike], **options: Any) -> Image.Image:
    """Stylise ``content`` in one forward pass. Keyword options are the fields of :class:`FastOptions`
    (``model``, ``alpha``, ``style_blend_weights``, ``preserve_color``, ``content_size``, ...)."""
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    return FastStylizer(style_list, make_options(FastOptions, options)).stylize_image(content)


def fast_batch(folder: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output_dir: str | os.PathLike,
               suffix: str = ".png", callbacks: Sequence[Callback] = (), **options: Any) -> list[Path]:
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
    return stylize_files(stylizer, files, out_dir, suffix, callbacks)


def stylize_files(stylizer: FastStylizer, files: Sequence[Path], out_dir: Path, suffix: str = ".png",
                  callbacks: Sequence[Callback] = ()) -> list[Path]:
    """Stylise each file into ``out_dir`` as ``<name>_stylized<suffix>``; callbacks hear ``on_item`` after
    each one (its result is the written path)."""
    written = []
    for path in files:
        written.append(save_image(stylizer.stylize_image(path), out_dir / f"{path.stem}_stylized{suffix}"))
        for cb in callbacks:
            cb.on_item(ItemProgress(len(written), len(files), path.name, written[-1]))
    return written
