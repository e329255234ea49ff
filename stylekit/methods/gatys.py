"""Gatys et al. style transfer: content + Gram style + total variation, optimised coarse to fine."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .. import color
from ..backbones import FeatureExtractor
from ..devices import resolve_precision
from ..errors import StylekitError, StylekitWarning
from ..io import MIN_SIDE, ImageLike, LoadedImage, checked_hw, fit_long_side, load_image, resize, to_pil
from ..io.geometry import resize_wrapped
from ..objectives import ContentLoss, Objective, TotalVariation, layer_weights, style_terms, total
from ..objectives.tiled import tiled_features, tiled_loss
from ..optim import Callback, EarlyStopping, optimize
from ..optim.loop import LossFn
from ..optim.space import PixelSpace
from ..options import ObjectiveOptions, TransferOptions, keyword_options, make_options, validate
from ..options.presets import recipe_note
from ..options.registry import start_painter
from ..planning import Reference, RunPlan, estimate_peak_bytes, preflight, run_plan
from .common import load_masks, noise_image, objective_loss, pixel_space, run_context, stall_warning
from .result import MethodResult, Output


def content_terms(opts: ObjectiveOptions, features: Mapping[str, torch.Tensor],
                  normalize_gradients: bool = False) -> list[Objective]:
    """The weighted content terms of ``opts`` with the content's ``features`` (at ``opts.content_layers``) as
    targets."""
    weights = layer_weights(opts.content_layers, opts.content_layer_weights)
    return [ContentLoss(layer, features[layer], opts.relative, opts.content_reduction,
                        opts.content_weight * w if normalize_gradients else None) * (opts.content_weight * w)
            for layer, w in zip(opts.content_layers, weights)]


def objective_style_terms(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                          opts: ObjectiveOptions, size: int | tuple[int, int], tile: int | None = None,
                          normalize_gradients: bool = False, generator: torch.Generator | None = None,
                          masks: Sequence[torch.Tensor] | None = None) -> list[Objective]:
    """The weighted style terms of ``opts`` with targets from the blended ``styles`` at ``size``, each style over
    its region of ``masks`` (at the image's size) when given."""
    weights = [opts.style_weight * w for w in layer_weights(opts.style_layers, opts.style_layer_weights)]
    return style_terms(backbone, styles, blend, opts.style_layers, weights, size, tile, opts.style_loss,
                       normalize=opts.gram_normalize, relative=opts.relative, reduction=opts.style_reduction,
                       factor=opts.style_factor, normalize_gradients=normalize_gradients, generator=generator,
                       masks=masks)


class _ObjectiveBuilder:
    """Builds the objective of one transfer (content, blended style and TV terms with their targets) at each
    scale: the inputs and options it needs are held here, the targets are computed per scale."""

    def __init__(self, backbone: FeatureExtractor, content: torch.Tensor, styles: list[torch.Tensor],
                 opts: TransferOptions, tiles: dict[tuple[int, int], int | None], space: PixelSpace,
                 extra: Objective | None = None, generator: torch.Generator | None = None,
                 masks: Sequence[torch.Tensor] = ()) -> None:
        self.backbone, self.content, self.styles, self.opts, self.tiles = backbone, content, styles, opts, tiles
        self.space, self.extra, self.generator, self.masks = space, extra, generator, list(masks)
        self.dtype = resolve_precision(opts.precision, content.device)
        blend = list(opts.style_blend_weights or [1.0] * len(styles))
        if sum(blend) <= 0:
            raise StylekitError("style blend weights sum to 0: give at least one positive weight")
        self.blend = [b / sum(blend) for b in blend]

    @torch.no_grad()
    def objective(self, size: tuple[int, int]) -> Objective:
        """Content, blended style and TV terms with targets at ``size``, in the options' loss conventions."""
        opts, bb, tile = self.opts, self.backbone, self.tiles.get(size)
        parts: list[Objective] = []
        if opts.content_layers and opts.content_weight > 0:
            content = resize(self.content, size)
            feats = ({layer: tiled_features(bb, content, layer, tile) for layer in opts.content_layers} if tile
                     else bb(content, opts.content_layers, wrap=opts.tileable))
            parts += content_terms(opts, feats, opts.normalize_gradients)
        if opts.style_layers and opts.style_weight > 0:
            style_size = size if opts.style_resize == "content" else max(MIN_SIDE, round(max(size) * opts.style_scale))
            masks = [resize(m, size) for m in self.masks]  # each style's region at this scale
            parts += objective_style_terms(bb, self.styles, self.blend, opts, style_size, tile,
                                           opts.normalize_gradients, self.generator, masks)
        if opts.tv_weight > 0:
            parts.append(TotalVariation(opts.tv_beta, opts.tv_kind, opts.tv_reduction, self.space, opts.tileable)
                         * opts.tv_weight)
        if self.extra is not None:
            parts.append(self.extra)
        if not parts:
            raise StylekitError("every loss weight is 0: nothing to optimise")
        return total(parts)

    def build_loss(self, size: tuple[int, int]) -> LossFn:
        """The loss function at one scale (targets computed here, once), tiled where memory requires."""
        tile = self.tiles.get(size)
        objective = self.objective(size)
        if tile:
            return tiled_loss(self.backbone, objective, tile, self.dtype)
        return objective_loss(self.backbone, objective, dtype=self.dtype, wrap=self.opts.tileable)


def transfer_objective(content: torch.Tensor, styles: Sequence[torch.Tensor], options: TransferOptions,
                       backbone: FeatureExtractor, size: tuple[int, int] | None = None) -> Objective:
    """The objective a transfer with ``options`` minimises at ``size`` (default: the content's), with its targets
    computed from ``content`` and ``styles`` ((1, 3, H, W) tensors in [0, 1]); call it as
    ``objective(image, backbone(image, sorted(objective.layers)))``."""
    opts = validate(options)
    hw = size or tuple(content.shape[-2:])
    builder = _ObjectiveBuilder(backbone, content, list(styles), opts, {}, pixel_space(opts.pixel_space, backbone),
                                masks=load_masks(opts.masks, len(styles), hw, content.device))
    return builder.objective(hw)


def _initial_image(opts: TransferOptions, content: torch.Tensor, styles: list[torch.Tensor],
                   generator: torch.Generator) -> torch.Tensor:
    hw = tuple(content.shape[-2:])
    if opts.init == "content":
        return content.clone()
    if opts.init == "noise":
        return noise_image(opts.noise, content, generator)
    if opts.init == "style":
        return resize(styles[0], hw)
    painter = start_painter(opts.init)  # a fast model's painting of the content: the optimisation refines it
    if painter is not None:
        return painter(content, styles, opts)
    return resize(load_image(opts.init).rgb.to(content), hw)


def transfer_tiles(backbone: FeatureExtractor, opts: TransferOptions, plan: RunPlan, device: torch.device,
                   references: Sequence[Reference] = ()) -> dict[tuple[int, int], int | None]:
    """The memory pre-flight of a transfer's ``plan``: for each scale, None (whole) or its tile size. ``opts.tile``
    N forces N-px tiles, 0 forbids tiling, None tiles the scales that do not fit whole (never with normalised
    gradients or an rms content distance, which need the whole image)."""
    untileable = opts.normalize_gradients or opts.content_reduction == "rms" or opts.tileable
    return preflight(backbone, device, [*opts.content_layers, *opts.style_layers], plan.scales,
                     optimizer=opts.optimizer, min_size=opts.min_size, steps=opts.per_scale(),
                     content_layers=opts.content_layers, references=references,
                     tile=0 if untileable and not opts.tile else opts.tile, exact=not isinstance(opts.size, int),
                     history=opts.lbfgs_history)


def run_transfer(content: ImageLike, styles: ImageLike | Sequence[ImageLike],
                 options: TransferOptions | None = None, callbacks: Sequence[Callback] = (),
                 backbone: FeatureExtractor | None = None, init_image: torch.Tensor | None = None,
                 extra: Objective | None = None) -> MethodResult:
    """Run a transfer and return the image with its loss history (see :func:`transfer`).

    ``init_image`` ((1, 3, H, W) in [0, 1]) overrides ``options.init``; ``extra`` is added to the objective at
    every scale (video uses both for its temporal term and warped initialisation).
    """
    opts = validate(options or TransferOptions())
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise StylekitError("give at least one style image")
    if opts.style_blend_weights is not None and len(opts.style_blend_weights) != len(style_list):
        raise StylekitError(f"{len(opts.style_blend_weights)} style blend weights for {len(style_list)} style "
                            "images: give one weight per style image")
    content_img: LoadedImage = load_image(content, "content")
    style_imgs = [load_image(s, f"style {i + 1}").rgb for i, s in enumerate(style_list)]
    final_hw = checked_hw(*content_img.rgb.shape[-2:], opts.size, "the content image")
    masks = load_masks(opts.masks, len(style_list), final_hw)
    layers = [*opts.content_layers, *opts.style_layers]
    ctx = run_context(opts, layers, backbone)
    backbone, device = ctx.backbone, ctx.device
    masks = [m.to(device) for m in masks]
    style_long = max(MIN_SIDE, round(max(final_hw) * opts.style_scale))
    for i, style in enumerate(style_imgs):
        checked_hw(*style.shape[-2:], style_long, f"style image {i + 1}")
    plan = run_plan(opts, tuple(content_img.rgb.shape[-2:]))
    references = [Reference(final_hw if opts.style_resize == "content" else tuple(s.shape[-2:]),
                            opts.style_scale, "style_scale") for s in style_imgs
                  if opts.style_layers and opts.style_weight > 0]
    tiles = transfer_tiles(backbone, opts, plan, device, references)  # before any work: what cannot fit fails now

    full_content = content_img.rgb.to(device)
    content_t = resize(full_content, final_hw)
    style_ts = [s.to(device) for s in style_imgs]
    palette = None if opts.color_image is None else load_image(opts.color_image, "colour image").rgb.to(device)
    if opts.preserve_color == "luminance":
        style_ts = [color.match_luminance(s, content_t) for s in style_ts]
        content_t = color.match_luminance(content_t, content_t)
    elif opts.preserve_color == "histogram":
        style_ts = [color.match_color(s, content_t if palette is None else palette).clamp(0, 1) for s in style_ts]

    space = pixel_space(opts.pixel_space, backbone)
    init = (_initial_image(opts, content_t, style_ts, ctx.generator) if init_image is None
            else resize(init_image.to(content_t), final_hw))
    builder = _ObjectiveBuilder(backbone, content_t, style_ts, opts, tiles, space, extra, ctx.generator, masks)
    stopping = [EarlyStopping()] if opts.early_stopping else []
    recipe = recipe_note(opts, TransferOptions())  # a tutorial's numbers without its formulas: said at once
    if recipe:
        warnings.warn(recipe, StylekitWarning, stacklevel=2)
    result = optimize(init, builder.build_loss, plan.scales, opts.optimizer, opts.lr, [*stopping, *callbacks],
                      carry=resize_wrapped if opts.tileable else resize, settings=opts, space=space,
                      clamp=opts.clamp)
    if not recipe and result.history and opts.init != "content":  # or seen in the first step's terms (from the
        # content, its term starts at 0 and says nothing)
        recipe = recipe_note(opts, TransferOptions(), {k: float(v) for k, v in result.history[0].items()
                                                       if isinstance(v, (int, float))})
        if recipe:
            warnings.warn(recipe, StylekitWarning, stacklevel=2)
    stalled = stall_warning(resize(init, tuple(result.image.shape[-2:])), result, opts.optimizer, opts.lr, space)
    if stalled:
        warnings.warn(stalled, StylekitWarning, stacklevel=2)

    out = color.recolor(resize(result.image, final_hw), resize(full_content, final_hw), opts.preserve_color, palette)
    return MethodResult(to_pil(out, content_img.alpha), result.history, result.interrupted,
                        [w for w in (recipe, stalled) if w])


@keyword_options(TransferOptions)
def transfer(content: ImageLike, styles: ImageLike | Sequence[ImageLike], *,
             callbacks: Sequence[Callback] = (), return_history: bool = False,
             **options: Any) -> Output:
    """Stylise ``content`` with one or more ``styles`` (paths, PIL images or tensors in [0, 1]).

    Keyword options are the fields of :class:`TransferOptions` (``size``, ``steps``, ``style_weight``,
    ``preserve_color`` ...); ``preset="tf-eager"`` (see :data:`stylekit.options.PRESETS`) starts from a recipe's
    settings, which the other keywords override. A run that leaves the image unchanged, or never lowers its loss,
    warns (:class:`stylekit.errors.StylekitWarning`) naming the likely cause. Returns a PIL image, or
    ``(image, history)`` with ``return_history=True``; history is one dict per step with the total loss and every
    term.

    Examples:
        >>> import numpy as np, stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> style = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
        >>> img = stylekit.transfer(photo, style, size=32, steps=2, backbone="scratch")
        >>> img.size
        (32, 24)
    """
    result = run_transfer(content, styles, make_options(TransferOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image


def job(content: ImageLike, styles: Sequence[ImageLike], options: TransferOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """One transfer, as every face runs it (see :mod:`stylekit.options.registry`)."""
    return run_transfer(content, styles, options, callbacks)


SETUP_STEPS, GROWTH = 1.0, 0.5  # fitted to Good and Best at 256-1024 px (benchmarks/page_estimates.py)


def work(options: TransferOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixel-steps of a transfer on a content of ``content_hw`` (None: a square of the output size), weighted
    as its time grows (:meth:`~stylekit.planning.RunPlan.effort`)."""
    return run_plan(options, content_hw).effort(SETUP_STEPS, GROWTH)


def worker_peak(options: TransferOptions, hw: tuple[int, int], styles: Sequence[tuple[int, int]]) -> int:
    """Peak memory (bytes) of a transfer of a content of (h, w) px with style images of ``styles`` (h, w): the
    optimisation's own estimate at the output size of its plan, untiled."""
    from ..backbones import architecture

    final = run_plan(options, hw).output
    references = [final if options.style_resize == "content" else
                  fit_long_side(*s, max(MIN_SIDE, round(max(final) * options.style_scale))) for s in styles]
    net = architecture(options.backbone, options.pooling)
    return estimate_peak_bytes(net, [*options.content_layers, *options.style_layers], final, options.optimizer,
                               content_layers=options.content_layers,
                               references=references if options.style_layers and options.style_weight else (),
                               history=options.lbfgs_history)
