"""Texture synthesis (Gatys, Ecker & Bethge, "Texture Synthesis Using Convolutional Neural Networks", 2015):
match a source's Gram matrices from noise, any output size, coarse to fine."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import StylekitError
from ..io import ImageLike, load_image
from ..objectives import GramLoss, Objective, TotalVariation
from ..optim import Callback, EarlyStopping, optimize
from ..optim.loop import LossFn
from .common import (RunOptions, blended_grams, layer_weights, make_options, objective_loss, prepare_backbone,
                     schedule, seeded_generator)
from .result import MethodResult, Output
from .transfer import DEFAULT_STYLE_LAYERS


@dataclass
class TextureOptions(RunOptions):
    """Settings of a texture synthesis run."""

    size: tuple[int, int] = (512, 512)  # (height, width) of the output
    source_size: int | None = None  # long side the source is analysed at (default: its own, at most 512)
    steps: Sequence[int] | int = (100, 40, 20)  # per scale, coarse to fine
    min_size: int | None = 128  # long side of the coarsest scale; None: single scale
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS
    style_layer_weights: Sequence[float] | None = None
    tv_weight: float = 0.0
    optimizer: str = "lbfgs"
    lr: float | None = None
    early_stopping: bool = True


def run_texture(source: ImageLike, options: TextureOptions | None = None,
            callbacks: Sequence[Callback] = ()) -> MethodResult:
    """Synthesise a texture with the Gram statistics of ``source``, at ``options.size``."""
    opts = options or TextureOptions()
    if min(opts.size) < 16:
        raise StylekitError(f"texture size must be at least 16x16, got {opts.size[1]}x{opts.size[0]}")
    if not opts.style_layers:
        raise StylekitError("give at least one style layer")
    if opts.style_layer_weights is not None and len(opts.style_layer_weights) != len(opts.style_layers):
        raise StylekitError("give one style layer weight per style layer")
    src = load_image(source, "source")
    net, device = prepare_backbone(opts.backbone, opts.pooling, opts.weights, opts.style_layers, opts.device)
    src_rgb = src.rgb.to(device)
    src_long = opts.source_size or min(max(src_rgb.shape[-2:]), 512)
    weights = layer_weights(opts.style_layers, opts.style_layer_weights)
    final_long = max(opts.size)

    def build(size: tuple[int, int]) -> LossFn:
        # At coarse scales the source shrinks with the output, so each scale sees the same texture scale.
        grams = blended_grams(net, [src_rgb], [1.0], opts.style_layers,
                              max(16, round(src_long * max(size) / final_long)))
        parts: list[Objective] = [GramLoss(layer, grams[layer]) * w for layer, w in zip(opts.style_layers, weights)]
        if opts.tv_weight > 0:
            parts.append(TotalVariation() * opts.tv_weight)
        return objective_loss(net, sum(parts[1:], parts[0]))

    generator = seeded_generator(opts.seed)
    plan = schedule(opts.size, max(opts.size), opts.min_size, opts.steps)
    init = torch.rand(1, 3, *plan[0].size, generator=generator).to(device)
    extra = [EarlyStopping()] if opts.early_stopping else []
    result = optimize(init, build, plan, opts.optimizer, opts.lr, [*extra, *callbacks])
    return MethodResult.from_optim(result, opts.size)


def texture(source: ImageLike, *, callbacks: Sequence[Callback] = (),
            return_history: bool = False, **options: Any) -> Output:
    """Synthesise a texture with the Gram statistics of ``source``.

    Keyword options are the fields of :class:`TextureOptions`; returns a PIL image, or ``(image, history)`` with
    ``return_history=True``.
    """
    result = run_texture(source, make_options(TextureOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image
