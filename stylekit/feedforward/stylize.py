"""Fast (feed-forward) style transfer: one pass of Magenta's network, MicroAST or the WCT cascade per image, or of
the 26-style network with its built-in styles, each through the :class:`~.model.FastModel` interface."""
from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from .. import color
from ..devices import available_memory, resolve_device, resolve_precision
from .. import provenance
from ..errors import OutOfMemoryEstimate, StylekitError
from ..io import (MIN_SIDE, WRITABLE, ImageLike, LoadedImage, batch_outputs, check_distinct, check_writable_folder,
                  checked_hw, content_files, load_image, load_mask, resize_to, save_image, target_hw, to_pil)
from ..optim.callbacks import Callback, ItemProgress
from ..options import FastOptions, keyword_options, make_options, validate
from .guided import guided_upsample
from ..objectives.targets import unclaimed
from .model import FastModel, StyleContext, pad_to, region_weights
from .shared import MODELS, model_key, shared_codes, shared_model, styles_key
from .tiles import TILE
from .weights import resolve

# Peak memory of one image on top of the loaded model, fitted to measured peak RSS (docs/benchmarks.md, "Fast
# models on large images"): a fixed part, and each model's bytes per padded pixel whole and in tiles
# (FastModel.peak_bytes_per_pixel; plus, in tiles, the whole figure for one padded tile).
PEAK_FIXED = 256 * 2**20
MAX_HALO = 160  # the widest halo a tile is read with (WCT's level 5)
TILE_ABOVE = 2048 * 2048  # padded pixels above which images are tiled anyway: less memory, no slower (measured)


def _layout(model: str, padded: tuple[int, int], tile: int | None, fits_whole: bool) -> tuple[int | None, int, int]:
    """(tile size or None for whole, fixed bytes, bytes per padded pixel) of one image of ``padded`` (h, w) px:
    whole when it has at most :data:`TILE_ABOVE` pixels and ``fits_whole``, else in tiles, unless ``tile`` says
    otherwise (0: never; N: N-px tiles); models that cannot tile (the Magenta and 26-style networks) always run
    whole."""
    h, w = padded
    whole, tiled = MODELS[model].peak_bytes_per_pixel
    if tiled is None or tile == 0 or tile is None and h * w <= TILE_ABOVE and fits_whole:
        return None, PEAK_FIXED, whole
    tile = tile or TILE
    side = tile + 2 * MAX_HALO  # one padded tile's activations, at the whole image's rate
    return tile, PEAK_FIXED + whole * min(h, side) * min(w, side), tiled


def model_name(options: FastOptions) -> str:
    """The network ``options`` run (see :data:`~.shared.MODELS`): a trained model file, the 26-style network for
    built-in styles, else the model named."""
    if options.trained is not None:
        return "trained"
    return "multistyle26" if options.builtin is not None else options.model


def model_files(options: FastOptions) -> dict[str, str]:
    """The weight files of the network ``options`` run."""
    trained = options.trained
    files = {"model": str(trained)} if trained is not None else resolve(model_name(options), options.weights_dir)
    for key, path in files.items():  # an output remembers the network that made it
        provenance.note_model(f"{model_name(options)}:{key}", path)
    return files


def image_peak_bytes(options: FastOptions, hw: tuple[int, int]) -> int:
    """Estimated peak memory (bytes) of stylising one (h, w) image with ``options``' model, on top of the
    process and the loaded model (a few MB): what :meth:`FastStylizer.plan` needs where memory is plentiful."""
    model = model_name(options)
    _, fixed, per_pixel = _layout(model, hw, None, True)
    return fixed + per_pixel * hw[0] * hw[1]


class FastStylizer:
    """A loaded model (the process's shared network: :func:`~.shared.shared_model`) with its styles encoded once;
    call it on content tensors (1, 3, H, W) in [0, 1].

    With colour preservation the styles depend on each content image and are re-encoded per call. Large
    images (more than :data:`TILE_ABOVE` pixels, or too large to fit whole in the free memory) are processed
    in tiles of :data:`~stylekit.feedforward.tiles.TILE` px read with halos, which gives the same result up to
    float rounding (see :mod:`.tiles`); ``tile`` N always tiles in N-px tiles, 0 never does. Each image's
    memory is checked before it is stylised (:meth:`plan`).
    """

    def __init__(self, styles: Sequence[ImageLike], options: FastOptions | None = None,
                 tile: int | None = None) -> None:
        opts = validate(options or FastOptions(), n_styles=len(styles))
        self.opts = opts
        self.tile = tile
        self.device = resolve_device(opts.device)
        precision = resolve_precision(opts.precision, self.device)
        self.bf16 = precision == torch.bfloat16
        blend = list(opts.style_blend_weights or [1.0] * len(styles))
        self.blend = [b / sum(blend) for b in blend]
        self.model = model_name(opts)
        self.styles = [self._style(load_image(s, f"style image {i + 1}"), opts.style_side,
                                   MODELS[self.model].min_style)
                       for i, s in enumerate(styles)]  # the user's images first, then the model's files
        files = model_files(opts)
        self.net = shared_model(self.model, files, self.device, precision)
        masks = [load_mask(m, f"mask {i + 1}") for i, m in enumerate(opts.masks or ())]
        if opts.mask is not None:
            masks = [load_mask(opts.mask)]
        self.mask = masks[0] if masks and self.model == "wct" else None  # wct places its two styles itself
        self.masks = [] if self.model == "wct" else masks  # the others mix their codes per pixel
        if self.masks and type(self.net).stylize_regions is FastModel.stylize_regions:
            raise StylekitError(f"the {self.model} model cannot place styles by `masks`: use magenta, microast or "
                                "the built-in styles")
        self.palette = None if opts.color_image is None else load_image(opts.color_image, "colour image").rgb
        recolored = opts.preserve_color != "none" and bool(self.styles)  # (built-in styles have no images)
        self._codes = None
        if not recolored:  # encoded once per process for these styles (the net and the settings they depend on)
            key = (model_key(self.model, files, self.device, precision),
                   styles_key(self.styles, self.blend, opts.builtin, opts.levels, self.tile), len(self.masks))
            self._codes = shared_codes(key, lambda: self._encode(self.styles))

    def _precision(self) -> torch.autocast:
        """bfloat16 autocast around the network when the precision says so (a no-op context otherwise)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def _style(self, style: LoadedImage, size: int | tuple[int, int] | None, shortest: int) -> torch.Tensor:
        """A style image at ``size``, brought up to the model's ``shortest`` side if it is below it (with a note)."""
        hw = target_hw(*style.rgb.shape[-2:], size)
        need = max(MIN_SIDE, shortest)
        if min(hw) < need:
            grown = target_hw(*hw, -(-max(hw) * need // min(hw)))
            warnings.warn(f"{style.name} would be {hw[1]}x{hw[0]} px; the {self.opts.model} model needs at least "
                          f"{need} px per side: using {grown[1]}x{grown[0]}", stacklevel=3)
            hw = grown
        return resize_to(style.rgb, hw).to(self.device)

    def plan(self, size: tuple[int, int], what: str = "content", option: str = "content_size") -> int | None:
        """The tile size an (h, w) image is stylised in (None: whole): whole when it has at most
        :data:`TILE_ABOVE` pixels and its estimated peak fits in the free memory, else in tiles (unless the
        stylizer's ``tile`` says otherwise; models whose norms see the whole image, such as the Magenta and
        26-style networks, always run whole). Raises :class:`OutOfMemoryEstimate` naming the largest
        ``option`` that fits when it cannot fit."""
        h, w = (-(-side // self.net.multiple) * self.net.multiple for side in size)
        free = available_memory(self.device)
        fits_whole = PEAK_FIXED + self.net.peak_bytes_per_pixel[0] * h * w <= free
        tile, fixed, per_pixel = _layout(self.model, (h, w), 0 if self.masks else self.tile, fits_whole)
        need = fixed + per_pixel * h * w
        if need <= free:
            return tile
        scale = math.sqrt(max(0.0, free - fixed) / per_pixel / (size[0] * size[1]))
        fits = math.floor(max(size) * scale) - self.net.multiple  # room for the padding
        advice = f"use `{option}` {fits} or less" if fits >= MIN_SIDE else "free some memory"
        raise OutOfMemoryEstimate(f"a {size[1]}x{size[0]} {what} needs about {need / 2**30:.1f} GiB but "
                                  f"{free / 2**30:.1f} GiB is free on {self.device}: {advice}")

    def _fit_style(self, style: torch.Tensor, index: int) -> tuple[torch.Tensor, int | None]:
        """Style image ``index`` as the model encodes it, and the tile size (None: whole) :meth:`plan` gives it
        (tiles need sides that are whole multiples: padded then)."""
        tile = self.plan(tuple(style.shape[-2:]), f"style image {index + 1}", "style_size")
        return (style, None) if tile is None else (pad_to(style, self.net.multiple), tile)

    def _encode(self, styles: list[torch.Tensor]) -> Any:
        """What the model needs of the styles (its code: a style vector, feature statistics ...), blended, in the
        run's precision; with masks, one code per region (each masked style's own, then the others' blend)."""
        with self._precision():
            if not self.masks:
                return self.net.encode(styles, StyleContext(self.blend, self.opts, self.device, self._fit_style))
            if styles:
                each = [self.net.encode([style], StyleContext([1.0], self.opts, self.device,
                                                              lambda s, _, i=i: self._fit_style(s, i)))
                        for i, style in enumerate(styles)]
                weights = self.blend
            else:  # built-in or trained styles: one per --builtin entry
                entries = self.opts.builtin or [(0, 1.0)]
                each = [self.net.encode([], StyleContext([1.0], dataclasses.replace(self.opts, builtin=[(index, 1.0)]),
                                                         self.device, self._fit_style)) for index, _ in entries]
                weights = [w for _, w in entries]
            if len(self.masks) > len(each):
                raise StylekitError(f"{len(self.masks)} `masks` for {len(each)} style{'s' if len(each) > 1 else ''}: "
                                    "give at most one mask per style, in the same order", "masks")
            n, rest = len(self.masks), weights[len(self.masks):]
            codes = each[:n]
            if rest:
                codes.append(self.net.blend(each[n:], [w / (sum(rest) or 1) for w in rest]))
            return codes

    def _stylize(self, x: torch.Tensor, codes: Any, tile: int | None, hw: tuple[int, int]) -> torch.Tensor:
        """The model on content ``x`` of size ``hw`` padded, with ``codes`` (from :meth:`_encode`), alpha applied;
        the mask, if any, resized to the content and padded as it is; with masks, each code in its region."""
        if self.masks:
            masks = [pad_to(F.interpolate(m, size=hw, mode="bilinear"), self.net.multiple,
                            self.net.min_content).to(self.device) for m in self.masks]
            out = self.net.stylize_regions(x, codes, region_weights(masks, len(codes)), self.opts.alpha)
            if len(codes) > len(masks):
                return out
            rest = unclaimed(masks)  # every style masked: the rest stays the photo
            return out * (1 - rest) + x.to(out.dtype) * rest
        mask = None if self.mask is None else F.interpolate(self.mask, size=hw, mode="bilinear")
        mask = None if mask is None else pad_to(mask, self.net.multiple, self.net.min_content).to(self.device)
        return self.net.stylize(x, codes, self.opts.alpha, mask, tile)

    def painted_hw(self, hw: tuple[int, int]) -> tuple[int, int]:
        """The size the network paints an (h, w) content at: smaller by ``stroke_scale`` (at least the model's
        smallest side)."""
        scale = self.opts.stroke_scale
        if scale <= 1:
            return hw
        least = max(MIN_SIDE, self.net.min_content)
        return tuple(max(least, round(side / scale)) for side in hw)  # type: ignore[return-value]

    @torch.no_grad()
    def __call__(self, content: torch.Tensor) -> torch.Tensor:
        """The stylised content, same size as given (content_size is applied by the caller); with a
        ``stroke_scale`` above 1, painted smaller and brought back by :func:`.guided.guided_upsample`."""
        hw = tuple(content.shape[-2:])
        painted = self.painted_hw(hw)  # type: ignore[arg-type]
        if painted == hw:
            return self._paint(content)
        small = self._paint(resize_to(content, painted))
        return guided_upsample(small, content.to(small.device)).clamp(0, 1)

    def _paint(self, content: torch.Tensor) -> torch.Tensor:
        """The network on the content at its own size, with the colour options."""
        tile = self.plan(tuple(content.shape[-2:]))
        x = content.to(self.device)
        codes, original = self._codes, x
        if self.opts.preserve_color == "luminance":
            x = color.match_luminance(x, x)
            if codes is None:
                codes = self._encode([color.match_luminance(s, original) for s in self.styles])
        palette = None if self.palette is None else self.palette.to(x.device)
        if self.opts.preserve_color == "histogram" and codes is None:
            source = x if palette is None else palette
            codes = self._encode([color.match_color(s, source).clamp(0, 1) for s in self.styles])
        h, w = x.shape[-2:]
        padded = pad_to(x, self.net.multiple, self.net.min_content).contiguous(memory_format=torch.channels_last)
        with self._precision():
            out = self._stylize(padded, codes, tile, (h, w))[..., :h, :w].float().contiguous()
        return color.recolor(out, original, self.opts.preserve_color, palette)

    def stylize_image(self, content: ImageLike) -> Image.Image:
        """Load, resize to ``content_size``, stylise; the content's alpha channel is kept."""
        loaded = load_image(content, "content")
        self.plan(self.painted_hw(checked_hw(*loaded.rgb.shape[-2:], self.opts.content_size,
                                             "the content image")))  # fail at once
        return to_pil(self(resize_to(loaded.rgb, self.opts.content_size)), loaded.alpha)


def painted_start(content: torch.Tensor, styles: Sequence[torch.Tensor], options: Any) -> torch.Tensor:
    """Magenta's one-pass painting of ``content`` with ``styles`` (blended by the options'
    ``style_blend_weights``): the start image of an optimisation's ``--init fast``."""
    painter = FastStylizer([s.cpu() for s in styles], FastOptions(
        model="magenta", style_blend_weights=options.style_blend_weights, device=str(content.device)))
    return painter(content).to(content)


@keyword_options(FastOptions)
def fast(content: ImageLike, styles: ImageLike | Sequence[ImageLike], **options: Any) -> Image.Image:
    """Stylise ``content`` in one forward pass. Keyword options are the fields of :class:`FastOptions`
    (``model``, ``alpha``, ``style_blend_weights``, ``preserve_color``, ``content_size``, ...)."""
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    return FastStylizer(style_list, make_options(FastOptions, options)).stylize_image(content)


@keyword_options(FastOptions)
def fast_batch(folder: str | os.PathLike, styles: ImageLike | Sequence[ImageLike], output_dir: str | os.PathLike,
               suffix: str = ".png", callbacks: Sequence[Callback] = (), overwrite: bool = False,
               **options: Any) -> list[Path]:
    """Stylise every image of ``folder`` into ``output_dir`` (names from :func:`stylekit.io.batch_outputs`,
    which never collide); the model is loaded and the styles encoded once. Images whose output exists are
    skipped unless ``overwrite``. Returns the paths written."""
    out_dir = check_writable_folder(output_dir, "the output folder")
    if suffix.lower() not in WRITABLE:
        raise StylekitError(f"cannot write {suffix} files: use one of {', '.join(sorted(WRITABLE))}")
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    plan = batch_outputs(content_files(folder), out_dir, suffix)
    check_distinct([(out, "output") for out in plan.values()], style_list)
    todo = {source: out for source, out in plan.items() if overwrite or not out.exists()}
    stylizer = FastStylizer(style_list, make_options(FastOptions, options))
    return stylize_files(stylizer, todo, callbacks)


def stylize_files(stylizer: FastStylizer, plan: Mapping[Path, Path], callbacks: Sequence[Callback] = ()) \
        -> list[Path]:
    """Stylise each input file of ``plan`` into its output path; callbacks hear ``on_item`` after each one
    (its result is the written path)."""
    written = []
    for source, out in plan.items():
        written.append(save_image(stylizer.stylize_image(source), out))
        for cb in callbacks:
            cb.on_item(ItemProgress(len(written), len(plan), source.name, written[-1]))
    return written
