"""Gatys et al. style transfer: content + Gram style + total variation, optimised coarse to fine."""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import torch

from .. import color
from ..backbones import FeatureExtractor
from ..devices import available_memory
from ..errors import OutOfMemoryEstimate, StylekitError
from ..io import MAX_SIDE, ImageLike, LoadedImage, load_image, to_pil
from ..objectives import ContentLoss, GramLoss, Objective, TotalVariation
from ..objectives.tiled import TileLayout, tiled_features, tiled_loss
from ..optim import OPTIMIZERS, Callback, EarlyStopping, Scale, optimize, resize
from ..optim.loop import LBFGS_HISTORY, LossFn
from .common import (RunOptions, blended_grams, fit_long_side, layer_weights, make_options, objective_loss,
                     prepare_backbone, schedule, seeded_generator)
from .result import MethodResult, Output

DEFAULT_CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
INITS = ("content", "noise", "style")
RUNTIME_OVERHEAD = 375 * 2**20  # Python, torch, the loaded images (fitted, see estimate_peak_bytes)


@dataclass
class TransferOptions(RunOptions):
    """Every setting of a transfer run; the CLI's options map one to one onto these fields."""

    size: int = 512  # long side of the output, pixels
    steps: Sequence[int] | int = (60, 20, 8)  # per scale, coarse to fine; an int applies to every scale
    min_size: int | None = 256  # long side of the coarsest scale; None or >= size means single scale
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 5.0
    content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS
    content_layer_weights: Sequence[float] | None = None  # default: equal, summing to 1
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS
    style_layer_weights: Sequence[float] | None = None  # default: equal, summing to 1
    style_blend_weights: Sequence[float] | None = None  # one per style image; default: equal
    style_scale: float = 1.0  # style image long side relative to the content's at each scale
    optimizer: str = "lbfgs"
    lr: float | None = None  # default depends on the optimizer
    init: str = "content"  # content, noise, style, or a path to an image
    preserve_color: str = "none"  # none, luminance, histogram
    early_stopping: bool = True
    tile: int | None = None  # None: tile a scale only if it would not fit in memory; 0: never; N: N-px tiles

    def validate(self) -> None:
        """Raise a user error for any setting that cannot work."""
        for name in ("content_weight", "style_weight", "tv_weight", "style_scale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise StylekitError(f"{name.replace('_', '-')} must be a finite number >= 0, got {value}")
        if self.style_scale <= 0:
            raise StylekitError("style-scale must be > 0")
        for name in ("content_layer_weights", "style_layer_weights", "style_blend_weights"):
            for value in getattr(self, name) or ():
                if not math.isfinite(value) or value < 0:
                    raise StylekitError(f"{name.replace('_', '-')} must be finite numbers >= 0, got {value}")
        if not isinstance(self.size, int) or self.size < 16:
            raise StylekitError(f"size must be a whole number of pixels >= 16, got {self.size}")
        if self.size > MAX_SIDE:
            raise StylekitError(f"size {self.size} is absurd (max {MAX_SIDE}): choose a smaller --size")
        if self.tile is not None and (self.tile < 0 or 0 < self.tile < 64):
            raise StylekitError(f"tile must be 0 (never tile) or at least 64 pixels, got {self.tile}")
        if self.min_size is not None and self.min_size < 16:
            raise StylekitError(f"min-size must be >= 16, got {self.min_size}")
        steps = [self.steps] if isinstance(self.steps, int) else list(self.steps)
        if not steps or any(not isinstance(s, int) or s < 0 for s in steps):
            raise StylekitError(f"steps must be whole numbers >= 0, got {self.steps}")
        if self.optimizer not in OPTIMIZERS:
            raise StylekitError(f"unknown optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
        if self.lr is not None and (not math.isfinite(self.lr) or self.lr <= 0):
            raise StylekitError(f"lr must be a finite number > 0, got {self.lr}")
        if self.preserve_color not in color.PRESERVE_COLOR:
            raise StylekitError(f"unknown colour preservation {self.preserve_color!r}: "
                                f"choose one of {', '.join(color.PRESERVE_COLOR)}")
        if self.init not in INITS and not Path(self.init).expanduser().is_file():
            raise StylekitError(f"init must be one of {', '.join(INITS)} or an image file; "
                                f"{self.init!r} is neither")
        _check_pair("content_layers", self.content_layers, self.content_layer_weights)
        _check_pair("style_layers", self.style_layers, self.style_layer_weights)
        if not self.style_layers and not self.content_layers:
            raise StylekitError("no content and no style layers: give at least one layer")


def _check_pair(name: str, layers: Sequence[str], weights: Sequence[float] | None) -> None:
    if weights is not None and len(weights) != len(layers):
        raise StylekitError(f"{len(weights)} {name.replace('_', '-')[:-1]} weights for {len(layers)} layers: "
                            "give one weight per layer")


def _activations(backbone: FeatureExtractor, deepest: str, size: tuple[int, int]) -> int:
    """Number of floats one forward pass to ``deepest`` produces at ``size`` (h, w)."""
    h, w = size
    channels, total = 3, 0
    for name, module in backbone.layers.items():
        if isinstance(module, torch.nn.Conv2d):
            channels = module.out_channels
        elif name.startswith("pool"):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        total += channels * h * w
        if name == deepest:
            break
    return total


def estimate_peak_bytes(backbone: FeatureExtractor, layers: Sequence[str], size: tuple[int, int],
                        optimizer: str = "lbfgs", steps: int | None = None, tile: int | None = None,
                        content_layers: Sequence[str] = ()) -> int:
    """Estimate a transfer's peak memory (bytes) at ``size`` (h, w), whole or in tiles of ``tile`` px.

    Model, fitted to measured peak RSS of VGG19 runs (benchmarks/memory.py): a fixed runtime, the weights,
    1.22 × the activations one forward to the deepest layer produces (autograd keeps them; gradients and
    temporaries add the 0.22) for the whole image or one padded tile, and the image copies the optimizer
    holds (L-BFGS: two per remembered step, ``min(steps, history)``; ``steps`` None means a full history).
    Tiling adds a whole-image gradient and the ``content_layers``' whole feature maps (the targets).
    """
    deepest = backbone.deepest(layers)
    weights = sum(p.numel() for p in backbone.layers.parameters())
    remembered = LBFGS_HISTORY if steps is None else min(steps, LBFGS_HISTORY)
    pixels = size[0] * size[1]
    copies = (2 * remembered if optimizer == "lbfgs" else 3) + 8
    if tile is None:
        activations = _activations(backbone, deepest, size)
    else:
        layout = TileLayout.for_layers(backbone, layers, tile)
        side = layout.tile + 2 * layout.halo
        activations = _activations(backbone, deepest, (min(side, size[0]), min(side, size[1])))
        copies += 2
        activations += sum(backbone.channels(layer) * pixels // backbone.stride(layer) ** 2
                           for layer in content_layers)
    return int(RUNTIME_OVERHEAD + 4 * (weights + 1.22 * activations + copies * 3 * pixels))


TILE_SIZES = (1024, 512)  # tried in this order when a scale does not fit whole


def plan_tiles(backbone: FeatureExtractor, opts: TransferOptions, plan: Sequence[Scale],
               device: torch.device) -> dict[tuple[int, int], int | None]:
    """For every scale, None (whole image) or the tile size that makes it fit in the free memory.

    ``opts.tile`` N forces N-px tiles, 0 forbids tiling. Raises :class:`OutOfMemoryEstimate` naming the
    largest ``--size`` whose whole schedule fits when some scale cannot fit either way.
    """
    layers = [*opts.content_layers, *opts.style_layers]
    free = available_memory(device)

    def decide(size: tuple[int, int], steps: int) -> int | None | bool:
        if opts.tile:
            return opts.tile
        if estimate_peak_bytes(backbone, layers, size, opts.optimizer, steps) <= free:
            return None
        for tile in TILE_SIZES if opts.tile is None else ():
            if estimate_peak_bytes(backbone, layers, size, opts.optimizer, steps, tile,
                                   opts.content_layers) <= free:
                return tile
        return False

    tiles = {s.size: decide(s.size, s.steps) for s in plan}
    if all(t is not False for t in tiles.values()):
        return tiles
    final = plan[-1].size
    worst = max((s for s in plan if tiles[s.size] is False), key=lambda s: s.size)
    need = estimate_peak_bytes(backbone, layers, worst.size, opts.optimizer, worst.steps)
    hi, lo = max(final), 16
    while hi - lo > 8:
        mid = (lo + hi) // 2
        trial = schedule(fit_long_side(*final, mid), mid, opts.min_size, opts.steps)
        lo, hi = (mid, hi) if all(decide(s.size, s.steps) is not False for s in trial) else (lo, mid)
    raise OutOfMemoryEstimate(f"a {worst.size[1]}x{worst.size[0]} step needs about {need / 2**30:.1f} GiB but "
                              f"{free / 2**30:.1f} GiB is free on {device}: use --size {lo} or less")


class _Problem:
    """Targets and objective of one transfer, rebuilt at each scale."""

    def __init__(self, backbone: FeatureExtractor, content: torch.Tensor, styles: list[torch.Tensor],
                 opts: TransferOptions, tiles: dict[tuple[int, int], int | None],
                 extra: Objective | None = None) -> None:
        self.backbone, self.content, self.styles, self.opts, self.tiles = backbone, content, styles, opts, tiles
        self.extra = extra
        blend = list(opts.style_blend_weights or [1.0] * len(styles))
        total = sum(blend)
        if total <= 0:
            raise StylekitError("style blend weights sum to 0: give at least one positive weight")
        self.blend = [b / total for b in blend]

    @torch.no_grad()
    def objective(self, size: tuple[int, int]) -> Objective:
        """Content, blended-Gram style and TV terms with targets at ``size``."""
        opts, bb, tile = self.opts, self.backbone, self.tiles.get(size)
        parts: list[Objective] = []
        if opts.content_layers and opts.content_weight > 0:
            content = resize(self.content, size)
            feats = ({layer: tiled_features(bb, content, layer, tile) for layer in opts.content_layers} if tile
                     else bb(content, opts.content_layers))
            for layer, w in zip(opts.content_layers, layer_weights(opts.content_layers, opts.content_layer_weights)):
                parts.append(ContentLoss(layer, feats[layer]) * (opts.content_weight * w))
        if opts.style_layers and opts.style_weight > 0:
            style_long = max(16, round(max(size) * opts.style_scale))
            grams = blended_grams(bb, self.styles, self.blend, opts.style_layers, style_long, tile)
            for layer, w in zip(opts.style_layers, layer_weights(opts.style_layers, opts.style_layer_weights)):
                parts.append(GramLoss(layer, grams[layer]) * (opts.style_weight * w))
        if opts.tv_weight > 0:
            parts.append(TotalVariation() * opts.tv_weight)
        if self.extra is not None:
            parts.append(self.extra)
        if not parts:
            raise StylekitError("every loss weight is 0: nothing to optimise")
        return sum(parts[1:], parts[0])

    def build_loss(self, size: tuple[int, int]) -> LossFn:
        """The loss function at one scale (targets computed here, once), tiled where memory requires."""
        tile = self.tiles.get(size)
        objective = self.objective(size)
        return tiled_loss(self.backbone, objective, tile) if tile else objective_loss(self.backbone, objective)


def _initial_image(init: str, content: torch.Tensor, styles: list[torch.Tensor],
                   generator: torch.Generator) -> torch.Tensor:
    hw = tuple(content.shape[-2:])
    if init == "content":
        return content.clone()
    if init == "noise":
        return torch.rand(content.shape, generator=generator, device="cpu").to(content)
    if init == "style":
        return resize(styles[0], hw)
    return resize(load_image(init).rgb.to(content), hw)


def run_transfer(content: ImageLike, styles: ImageLike | Sequence[ImageLike],
                 options: TransferOptions | None = None, callbacks: Sequence[Callback] = (),
                 backbone: FeatureExtractor | None = None, init_image: torch.Tensor | None = None,
                 extra: Objective | None = None) -> MethodResult:
    """Run a transfer and return the image with its loss history (see :func:`transfer`).

    ``init_image`` ((1, 3, H, W) in [0, 1]) overrides ``options.init``; ``extra`` is added to the objective at
    every scale (video uses both for its temporal term and warped initialisation).
    """
    opts = options or TransferOptions()
    opts.validate()
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise StylekitError("give at least one style image")
    if opts.style_blend_weights is not None and len(opts.style_blend_weights) != len(style_list):
        raise StylekitError(f"{len(opts.style_blend_weights)} style blend weights for {len(style_list)} style "
                            "images: give one weight per style image")
    content_img: LoadedImage = load_image(content, "content")
    style_imgs = [load_image(s, f"style {i + 1}").rgb for i, s in enumerate(style_list)]
    layers = [*opts.content_layers, *opts.style_layers]
    backbone, device = prepare_backbone(opts.backbone, opts.pooling, opts.weights, layers, opts.device, backbone)

    final_hw = fit_long_side(*content_img.rgb.shape[-2:], opts.size)
    plan = schedule(final_hw, opts.size, opts.min_size, opts.steps)
    tiles = plan_tiles(backbone, opts, plan, device)  # before any work: a run that cannot fit fails at once
    tiled = [f"{w}x{h}" for (h, w), tile in tiles.items() if tile]
    if tiled and opts.tile is None:
        warnings.warn(f"{' and '.join(tiled)} would not fit in memory whole: computing in "
                      f"{max(t for t in tiles.values() if t)} px tiles (same result, slower)", stacklevel=2)

    full_content = content_img.rgb.to(device)
    content_t = resize(full_content, final_hw)
    style_ts = [s.to(device) for s in style_imgs]
    if opts.preserve_color == "luminance":
        style_ts = [color.match_luminance(s, content_t) for s in style_ts]
        content_t = color.match_luminance(content_t, content_t)
    elif opts.preserve_color == "histogram":
        style_ts = [color.match_color(s, content_t).clamp(0, 1) for s in style_ts]

    generator = seeded_generator(opts.seed)
    init = (_initial_image(opts.init, content_t, style_ts, generator) if init_image is None
            else resize(init_image.to(content_t), final_hw))
    problem = _Problem(backbone, content_t, style_ts, opts, tiles, extra)
    stopping = [EarlyStopping()] if opts.early_stopping else []
    result = optimize(init, problem.build_loss, plan, opts.optimizer, opts.lr, [*stopping, *callbacks])

    out = resize(result.image, final_hw)
    if opts.preserve_color == "luminance":
        out = color.combine_luminance(out, resize(full_content, final_hw))
    elif opts.preserve_color == "histogram":
        out = color.match_color(out, resize(full_content, final_hw)).clamp(0, 1)
    return MethodResult(to_pil(out, content_img.alpha), result.history, result.interrupted)


def transfer(content: ImageLike, styles: ImageLike | Sequence[ImageLike], *,
             callbacks: Sequence[Callback] = (), return_history: bool = False,
             **options: Any) -> Output:
    """Stylise ``content`` with one or more ``styles`` (paths, PIL images or tensors in [0, 1]).

    Keyword options are the fields of :class:`TransferOptions` (``size``, ``steps``, ``style_weight``,
    ``preserve_color`` ...). Returns a PIL image, or ``(image, history)`` with ``return_history=True``;
    history is one dict per step with the total loss and every term.
    """
    result = run_transfer(content, styles, make_options(TransferOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image
