"""Channel visualisation by activation maximisation (Erhan et al. 2009; Olah et al., "Feature Visualization",
2017; seed 003's "generate an image a part of the network responds to, from noise, with a prior that keeps it
natural"): from a faint random image, Adam steps raise one channel's mean activation, with lucid's priors: a
decorrelated-colour Fourier parameterisation and random jitter, scaling and rotation at every step. Several
pictures of one channel can be pushed apart with a diversity term.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from ..backbones import FeatureExtractor
from ..io import ImageLike, to_pil
from ..io.sheets import captioned_grid
from ..objectives import ChannelActivation, Diversity, Objective, total
from ..planning import preflight
from ..optim import Callback, Scale, optimize
from ..optim.space import UNIT, FourierSpace, PixelSpace
from ..options import VisualizeOptions, keyword_options, make_options, validate
from .common import check_channels, objective_loss, run_context
from .result import MethodResult


def random_view(jitter: int, scale: float, degrees: float,
                generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    """Lucid's transformation robustness: each call shows the network the image shifted by up to ``jitter``
    pixels, rescaled by up to ``scale`` (a fraction) and rotated by up to ``degrees``, one random draw per call,
    as one differentiable resampling (edges reflected)."""
    def view(image: torch.Tensor) -> torch.Tensor:
        if not (jitter or scale or degrees):
            return image
        h, w = image.shape[-2:]
        dy, dx, s, r = (torch.rand(4, generator=generator) * 2 - 1).tolist()
        zoom, angle = 1 + s * scale, math.radians(r * degrees)
        cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
        theta = torch.tensor([[cos, -sin, 2 * dx * jitter / w], [sin, cos, 2 * dy * jitter / h]],
                             dtype=image.dtype, device=image.device)
        grid = F.affine_grid(theta.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
        return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return view


@dataclass
class Visualization(MethodResult):
    """The pictures (one per channel and variation, in order) and, as ``image``, the sheet of them (or the one
    picture)."""

    pictures: list[tuple[int, Image.Image]] = field(default_factory=list)  # (channel, picture)


def visualization_objective(layer: str, batch_channels: Sequence[int], diversity: int,
                            diversity_weight: float) -> Objective:
    """Each image of the batch raises its own channel; each channel's variations are pushed apart."""
    parts: list[Objective] = [ChannelActivation(layer, c, batch=b) for b, c in enumerate(batch_channels)]
    if diversity > 1 and diversity_weight > 0:
        for start in range(0, len(batch_channels), diversity):
            parts.append(diversity_weight * Diversity(layer, list(range(start, start + diversity)),
                                                      batch_channels[start]))
    return total(parts)


def run_visualize(options: VisualizeOptions | None = None, callbacks: Sequence[Callback] = (),
                  backbone: FeatureExtractor | None = None) -> Visualization:
    """Pictures that excite ``options.picked()`` channels of ``options.layer``, ``options.diversity`` each, made
    together as one batch from faint noise (reproducible with ``options.seed``)."""
    opts = validate(options or VisualizeOptions())
    ctx = run_context(opts, [opts.layer], backbone)
    net, layer = ctx.backbone, ctx.backbone.layer(opts.layer)
    channels = opts.picked()
    check_channels(net, opts.layer, channels)
    batch_channels = [c for c in channels for _ in range(opts.diversity)]
    size = opts.hw
    preflight(net, ctx.device, [layer], [Scale(size, opts.steps)], optimizer="adam")
    space: PixelSpace
    if opts.parameterization == "fourier":
        space = FourierSpace(size=size, decay=opts.decay)
        start = space.random(len(batch_channels), ctx.generator)
    else:
        space = UNIT
        start = 0.5 + (torch.rand((len(batch_channels), 3, *size), generator=ctx.generator) - 0.5) * 0.1
    objective = visualization_objective(layer, batch_channels, opts.diversity, opts.diversity_weight)
    view = random_view(opts.jitter, opts.scale_jitter, opts.rotate, ctx.generator)
    result = optimize(start.to(ctx.device), lambda _: objective_loss(net, objective, view), [Scale(size, opts.steps)],
                      "adam", opts.lr, callbacks, lambda image, _: image, space=space, clamp=space is UNIT)
    pictures = [(c, to_pil(result.image[i:i + 1])) for i, c in enumerate(batch_channels)]
    if len(pictures) == 1:
        image = pictures[0][1]
    else:
        captions = [f"channel {c}" + (f" #{i % opts.diversity + 1}" if opts.diversity > 1 else "")
                    for i, (c, _) in enumerate(pictures)]
        columns = opts.diversity if opts.diversity > 1 else math.ceil(math.sqrt(len(pictures)))
        image = captioned_grid(list(zip(captions, (p for _, p in pictures))), columns)
    return Visualization(image, result.history, result.interrupted, pictures=pictures)


@keyword_options(VisualizeOptions)
def visualize(*, callbacks: Sequence[Callback] = (), **options: Any) -> Visualization:
    """Activation maximisation (see :func:`run_visualize`); keyword options are the fields of
    :class:`VisualizeOptions` (``layer``, ``channel`` or ``channels``, ``diversity``, ``size``, ``steps`` ...). The
    result's ``image`` is the picture (a sheet for several).

    Examples:
        >>> import stylekit
        >>> picture = stylekit.visualize(layer="relu2_1", channel=3, size=32, steps=2, seed=0, backbone="scratch")
        >>> picture.image.size, [channel for channel, _ in picture.pictures]
        ((32, 32), [3])
    """
    return run_visualize(make_options(VisualizeOptions, options), callbacks)


def job(content: ImageLike | None, styles: Sequence[ImageLike], options: VisualizeOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """The pictures a channel responds to most, as every face runs it."""
    return run_visualize(options, callbacks)


def work(options: VisualizeOptions, content_hw: tuple[int, int] | None = None, images: int = 1) -> float:
    """Megapixel-steps: every picture's steps at its size."""
    h, w = options.hw
    return options.steps * len(options.picked()) * options.diversity * h * w / 1e6
