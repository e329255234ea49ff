"""Gatys et al. style transfer: content + Gram style + total variation, optimised coarse to fine."""
from __future__ import annotations

import math
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
from ..optim import OPTIMIZERS, Callback, EarlyStopping, optimize, resize
from ..optim.loop import LBFGS_HISTORY, LossFn
from .common import (blended_grams, fit_long_side, layer_weights, make_options, objective_loss, prepare_backbone,
                     schedule, seeded_generator)
from .result import MethodResult, Output

DEFAULT_CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
INITS = ("content", "noise", "style")
RUNTIME_OVERHEAD = 375 * 2**20  # Python, torch, the loaded images (fitted, see estimate_peak_bytes)


@dataclass
class TransferOptions:
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
    pooling: str = "max"
    backbone: str = "vgg19"
    weights: str | None = None  # torchvision weight file for vgg16/vgg19
    preserve_color: str = "none"  # none, luminance, histogram
    early_stopping: bool = True
    seed: int | None = None
    device: str = "cpu"

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


def estimate_peak_bytes(backbone: FeatureExtractor, layers: Sequence[str], size: tuple[int, int],
                        optimizer: str = "lbfgs", steps: int | None = None) -> int:
    """Estimate a transfer's peak memory (bytes) at ``size`` (h, w).

    Model, fitted to measured peak RSS of VGG19 runs (benchmarks/memory.py): a fixed runtime, the weights,
    1.22 × the activations one forward to the deepest layer produces (autograd keeps them; gradients and
    temporaries add the 0.22), and the image copies the optimizer holds (L-BFGS: two per remembered step,
    ``min(steps, history)``; ``steps`` None means a full history).
    """
    deepest = backbone.deepest(layers)
    h, w = size
    channels, activations = 3, 0
    for name, module in backbone.layers.items():
        if isinstance(module, torch.nn.Conv2d):
            channels = module.out_channels
        elif name.startswith("pool"):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        activations += channels * h * w
        if name == deepest:
            break
    weights = sum(p.numel() for p in backbone.layers.parameters())
    remembered = LBFGS_HISTORY if steps is None else min(steps, LBFGS_HISTORY)
    copies = (2 * remembered if optimizer == "lbfgs" else 3) + 8
    return int(RUNTIME_OVERHEAD + 4 * (weights + 1.22 * activations + copies * 3 * size[0] * size[1]))


def check_memory(backbone: FeatureExtractor, layers: Sequence[str], size: tuple[int, int], optimizer: str,
                 device: torch.device, steps: int | None = None) -> None:
    """Refuse a run whose estimated peak (at the final scale, ``steps`` long) does not fit, naming the
    largest size that does."""
    need, free = estimate_peak_bytes(backbone, layers, size, optimizer, steps), available_memory(device)
    if need <= free:
        return
    long_side, lo = max(size), 16
    while long_side - lo > 8:
        mid = (lo + long_side) // 2
        if estimate_peak_bytes(backbone, layers, fit_long_side(*size, mid), optimizer, steps) <= free:
            lo = mid
        else:
            long_side = mid
    raise OutOfMemoryEstimate(f"a {size[1]}x{size[0]} run needs about {need / 2**30:.1f} GiB but "
                              f"{free / 2**30:.1f} GiB is free on {device}: use --size {lo} or less")


class _Problem:
    """Targets and objective of one transfer, rebuilt at each scale."""

    def __init__(self, backbone: FeatureExtractor, content: torch.Tensor, styles: list[torch.Tensor],
                 opts: TransferOptions) -> None:
        self.backbone, self.content, self.styles, self.opts = backbone, content, styles, opts
        blend = list(opts.style_blend_weights or [1.0] * len(styles))
        total = sum(blend)
        if total <= 0:
            raise StylekitError("style blend weights sum to 0: give at least one positive weight")
        self.blend = [b / total for b in blend]

    @torch.no_grad()
    def objective(self, size: tuple[int, int]) -> Objective:
        """Content, blended-Gram style and TV terms with targets at ``size``."""
        opts, bb = self.opts, self.backbone
        parts: list[Objective] = []
        if opts.content_layers and opts.content_weight > 0:
            feats = bb(resize(self.content, size), opts.content_layers)
            for layer, w in zip(opts.content_layers, layer_weights(opts.content_layers, opts.content_layer_weights)):
                parts.append(ContentLoss(layer, feats[layer]) * (opts.content_weight * w))
        if opts.style_layers and opts.style_weight > 0:
            style_long = max(16, round(max(size) * opts.style_scale))
            grams = blended_grams(bb, self.styles, self.blend, opts.style_layers, style_long)
            for layer, w in zip(opts.style_layers, layer_weights(opts.style_layers, opts.style_layer_weights)):
                parts.append(GramLoss(layer, grams[layer]) * (opts.style_weight * w))
        if opts.tv_weight > 0:
            parts.append(TotalVariation() * opts.tv_weight)
        if not parts:
            raise StylekitError("every loss weight is 0: nothing to optimise")
        return sum(parts[1:], parts[0])

    def build_loss(self, size: tuple[int, int]) -> LossFn:
        """The loss function at one scale (targets computed here, once)."""
        return objective_loss(self.backbone, self.objective(size))


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
                 backbone: FeatureExtractor | None = None) -> MethodResult:
    """Run a transfer and return the image with its loss history (see :func:`transfer`)."""
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
    check_memory(backbone, layers, final_hw, opts.optimizer, device, plan[-1].steps)

    full_content = content_img.rgb.to(device)
    content_t = resize(full_content, final_hw)
    style_ts = [s.to(device) for s in style_imgs]
    if opts.preserve_color == "luminance":
        style_ts = [color.match_luminance(s, content_t) for s in style_ts]
        content_t = color.match_luminance(content_t, content_t)
    elif opts.preserve_color == "histogram":
        style_ts = [color.match_color(s, content_t).clamp(0, 1) for s in style_ts]

    generator = seeded_generator(opts.seed)
    init = _initial_image(opts.init, content_t, style_ts, generator)
    problem = _Problem(backbone, content_t, style_ts, opts)
    extra = [EarlyStopping()] if opts.early_stopping else []
    result = optimize(init, problem.build_loss, plan, opts.optimizer, opts.lr, [*extra, *callbacks])

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
