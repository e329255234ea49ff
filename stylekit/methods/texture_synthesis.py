"""Texture synthesis (Gatys, Ecker & Bethge, "Texture Synthesis Using Convolutional Neural Networks", 2015):
match a source's Gram matrices (or another style statistic) from noise, any output size, coarse to fine."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..devices import resolve_precision
from ..io import ImageLike, checked_hw, load_image, resize
from ..io.geometry import resize_wrapped
from ..objectives import Objective, TotalVariation, layer_weights, style_terms, total
from ..objectives.tiled import tiled_loss
from ..optim import Callback, EarlyStopping, optimize
from ..optim.loop import LossFn
from ..options import TextureOptions, keyword_options, make_options, validate
from ..planning import Reference, preflight, run_plan
from .common import load_masks, objective_loss, run_context
from .result import MethodResult, Output


def run_texture(source: ImageLike | Sequence[ImageLike], options: TextureOptions | None = None,
                callbacks: Sequence[Callback] = ()) -> MethodResult:
    """Synthesise a texture with the style statistics of ``source`` (``options.style_loss``), at ``options.size``;
    several sources are blended, or placed by ``options.masks`` (each over its own region)."""
    opts = validate(options or TextureOptions())
    plan = run_plan(opts)  # size N: a square
    size = plan.output
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    ctx = run_context(opts, opts.style_layers)
    net = ctx.backbone
    src_rgbs = [load_image(s, f"source {i + 1}" if len(sources) > 1 else "source").rgb.to(ctx.device)
                for i, s in enumerate(sources)]
    masks = [m.to(ctx.device) for m in load_masks(opts.masks, len(sources), size)]
    src_long = opts.source_size or min(max(max(s.shape[-2:]) for s in src_rgbs), 512)
    for src_rgb in src_rgbs:
        checked_hw(*src_rgb.shape[-2:], src_long, "the texture source")
    weights = layer_weights(opts.style_layers, opts.style_layer_weights)
    dtype = resolve_precision(opts.precision, ctx.device)
    final_long = max(size)
    source_refs = [Reference(tuple(s.shape[-2:]), src_long, "source_size", relative=False) for s in src_rgbs]
    tiles = preflight(net, ctx.device, opts.style_layers, plan.scales, optimizer=opts.optimizer, min_size=opts.min_size,
                      steps=opts.per_scale(), references=source_refs, tile=0 if opts.tileable else None,
                      exact=True)
    blend = [1.0 / len(src_rgbs)] * len(src_rgbs)

    def build(size: tuple[int, int]) -> LossFn:
        # At coarse scales the source shrinks with the output, so each scale sees the same texture scale.
        parts: list[Objective] = style_terms(net, src_rgbs, blend, opts.style_layers, weights,
                                             max(16, round(src_long * max(size) / final_long)), tiles[size],
                                             opts.style_loss, generator=ctx.generator,
                                             masks=[resize(m, size) for m in masks])
        if opts.tv_weight > 0:
            parts.append(TotalVariation(wrap=opts.tileable) * opts.tv_weight)
        if tiles[size]:
            return tiled_loss(net, total(parts), tiles[size], dtype)
        return objective_loss(net, total(parts), dtype=dtype, wrap=opts.tileable)

    init = torch.rand(1, 3, *plan.scales[0].size, generator=ctx.generator).to(ctx.device)
    extra = [EarlyStopping()] if opts.early_stopping else []
    result = optimize(init, build, plan.scales, opts.optimizer, opts.lr, [*extra, *callbacks],
                      carry=resize_wrapped if opts.tileable else resize)
    return MethodResult.from_optim(result, size)


@keyword_options(TextureOptions)
def texture(source: ImageLike | Sequence[ImageLike], *, callbacks: Sequence[Callback] = (),
            return_history: bool = False, **options: Any) -> Output:
    """Synthesise a texture with the style statistics of ``source`` (several: blended, or placed by ``masks``).

    Keyword options are the fields of :class:`TextureOptions`; returns a PIL image, or ``(image, history)`` with
    ``return_history=True``.

    Examples:
        >>> import numpy as np, stylekit
        >>> from PIL import Image
        >>> style = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
        >>> texture = stylekit.texture(style, size=(24, 40), steps=2, backbone="scratch")
        >>> texture.size  # size is (height, width): any shape, not the source's
        (40, 24)
    """
    result = run_texture(source, make_options(TextureOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image


def job(content: ImageLike | None, styles: Sequence[ImageLike], options: TextureOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """One texture from ``styles`` (blended, or placed by masks), as every face runs it."""
    return run_texture(list(styles), options, callbacks)


def work(options: TextureOptions, content_hw: tuple[int, int] | None = None, images: int = 1) -> float:
    """Megapixel-steps of a texture (its size is the output's; it has no content)."""
    return run_plan(options).work
