"""Feature inversion (Mahendran & Vedaldi, "Understanding Deep Image Representations by Inverting Them",
2015): from noise, find an image whose features at one layer match a given image's."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image, ImageDraw

from ..errors import StylekitError
from ..io import ImageLike, load_image
from ..objectives import AlphaNorm, ContentLoss, TotalVariation, content_loss
from ..optim import Callback, Scale, optimize, resize
from .common import RunOptions, fit_long_side, make_options, objective_loss, prepare_backbone, seeded_generator
from .result import MethodResult, Output


@dataclass
class InvertOptions(RunOptions):
    """Settings of a feature inversion run."""

    size: int = 224  # long side of the image being inverted
    steps: int = 200
    tv_weight: float = 0.5  # λ_TV for the V^β regulariser
    beta: float = 2.0  # exponent of the total variation
    alpha: float = 6.0  # exponent of the α-norm pixel bound
    alpha_weight: float = 0.05
    optimizer: str = "lbfgs"
    lr: float | None = None


@dataclass
class Inversion(MethodResult):
    """A reconstruction with the relative feature distance ‖Φ(x)−Φ0‖²/‖Φ0‖² of the start and the result."""

    layer: str = ""
    initial_distance: float = float("nan")
    final_distance: float = float("nan")


def run_invert(image: ImageLike, layer: str = "relu4_2", options: InvertOptions | None = None,
           callbacks: Sequence[Callback] = ()) -> Inversion:
    """Reconstruct ``image`` from its features at ``layer``, starting from noise."""
    opts = options or InvertOptions()
    for name in ("tv_weight", "beta", "alpha", "alpha_weight"):
        if getattr(opts, name) < 0:
            raise StylekitError(f"{name.replace('_', '-')} must be >= 0")
    if opts.steps < 1:
        raise StylekitError("steps must be at least 1")
    net, device = prepare_backbone(opts.backbone, opts.pooling, opts.weights, [layer], opts.device)
    src = load_image(image, "image").rgb.to(device)
    hw = fit_long_side(*src.shape[-2:], opts.size)
    target_img = resize(src, hw)
    with torch.no_grad():
        target = net(target_img, [layer])[layer]
    objective = ContentLoss(layer, target, relative=True)
    if opts.tv_weight > 0:
        objective = objective + TotalVariation(opts.beta) * opts.tv_weight
    if opts.alpha_weight > 0:
        objective = objective + AlphaNorm(opts.alpha) * opts.alpha_weight
    init = torch.rand(1, 3, *hw, generator=seeded_generator(opts.seed)).to(device)

    def distance(x: torch.Tensor) -> float:
        with torch.no_grad():
            return float(content_loss(net(x, [layer])[layer], target, relative=True))

    result = optimize(init, lambda size: objective_loss(net, objective), [Scale(hw, opts.steps)], opts.optimizer,
                      opts.lr, callbacks)
    base = MethodResult.from_optim(result, hw)
    return Inversion(base.image, base.history, base.interrupted, layer, distance(init), distance(result.image))


def sweep_sheet(original: Image.Image, results: Sequence[Inversion]) -> Image.Image:
    """The original and one reconstruction per layer side by side, each labelled."""
    tiles = [("original", original.convert("RGB").resize(results[0].image.size))]
    tiles += [(r.layer, r.image) for r in results]
    w, h = tiles[0][1].size
    label = 18
    sheet = Image.new("RGB", (w * len(tiles), h + label), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (name, tile) in enumerate(tiles):
        sheet.paste(tile, (i * w, label))
        draw.text((i * w + 4, 3), name, fill="black")
    return sheet


def invert(image: ImageLike, layer: str = "relu4_2", *, callbacks: Sequence[Callback] = (),
           return_history: bool = False, **options: Any) -> Output:
    """Reconstruct ``image`` from its features at ``layer``.

    Keyword options are the fields of :class:`InvertOptions`; returns a PIL image, or ``(image, history)`` with
    ``return_history=True``.
    """
    result = run_invert(image, layer, make_options(InvertOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image
