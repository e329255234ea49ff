"""Feature inversion (Mahendran & Vedaldi, "Understanding Deep Image Representations by Inverting Them",
2015): from noise, find an image whose features at one layer match a given image's; a sweep over layers."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image, ImageDraw

from ..backbones import FeatureExtractor
from ..io import ImageLike, checked_hw, load_image, resize, to_pil
from ..objectives import AlphaNorm, ContentLoss, TotalVariation, content_loss
from ..planning import megapixels, preflight
from ..optim import Callback, Scale, optimize
from ..options import InvertOptions, keyword_options, make_options, validate
from .common import objective_loss, run_context, run_items
from .result import MethodResult, Output


@dataclass
class Inversion(MethodResult):
    """A reconstruction with the relative feature distance ‖Φ(x)−Φ0‖²/‖Φ0‖² of the start and the result."""

    layer: str = ""
    initial_distance: float = float("nan")
    final_distance: float = float("nan")


def run_invert(image: ImageLike, options: InvertOptions | None = None, callbacks: Sequence[Callback] = (),
               backbone: FeatureExtractor | None = None) -> Inversion:
    """Reconstruct ``image`` from its features at ``options.layer``, starting from noise."""
    opts = validate(options or InvertOptions())
    layer = opts.layer
    ctx = run_context(opts, [layer], backbone)
    net, device = ctx.backbone, ctx.device
    src = load_image(image, "image").rgb.to(device)
    hw = checked_hw(*src.shape[-2:], opts.size, "the image")
    preflight(net, device, [layer], [Scale(hw, opts.steps)], optimizer=opts.optimizer)
    target_img = resize(src, hw)
    with torch.no_grad():
        target = net(target_img, [layer])[layer]
    objective = ContentLoss(layer, target, relative=True)
    if opts.tv_weight > 0:
        objective = objective + TotalVariation(opts.beta) * opts.tv_weight
    if opts.alpha_weight > 0:
        objective = objective + AlphaNorm(opts.alpha) * opts.alpha_weight
    init = torch.rand(1, 3, *hw, generator=ctx.generator).to(device)

    def distance(x: torch.Tensor) -> float:
        with torch.no_grad():
            return float(content_loss(net(x, [layer])[layer], target, relative=True))

    result = optimize(init, lambda size: objective_loss(net, objective), [Scale(hw, opts.steps)], opts.optimizer,
                      opts.lr, callbacks)
    base = MethodResult.from_optim(result, hw)
    return Inversion(base.image, base.history, base.interrupted, layer=layer, initial_distance=distance(init),
                     final_distance=distance(result.image))


def run_invert_sweep(image: ImageLike, options: InvertOptions | None = None,
                     callbacks: Sequence[Callback] = ()) -> list[Inversion]:
    """One reconstruction per layer of ``options.layers`` (one backbone for all), in order; stops after an
    interrupted one, keeping those finished. Callbacks hear ``on_item`` after each layer."""
    opts = validate(options or InvertOptions())
    layers = list(opts.layers or [opts.layer])
    ctx = run_context(opts, layers)
    source = load_image(image, "image").rgb  # fail early on a bad image, before any layer runs
    return run_items(layers, lambda i, done: run_invert(source, dataclasses.replace(opts, layer=layers[i]), callbacks,
                                                        ctx.backbone), callbacks)


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


@keyword_options(InvertOptions, skip=("layers",))
def invert_sweep(image: ImageLike, layers: Sequence[str], *, callbacks: Sequence[Callback] = (),
                 **options: Any) -> Image.Image:
    """Reconstruct ``image`` from each of ``layers``; the original and the reconstructions side by side.

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> sheet = stylekit.invert_sweep(photo, ["relu1_1", "relu2_1"], size=32, steps=2, backbone="scratch")
        >>> sheet.width  # the original and two reconstructions, 32 px each
        96
    """
    results = run_invert_sweep(image, make_options(InvertOptions, {**options, "layers": layers}), callbacks)
    return sweep_sheet(to_pil(load_image(image).rgb), results)


@keyword_options(InvertOptions, skip=("layer",))
def invert(image: ImageLike, layer: str | None = None, *, callbacks: Sequence[Callback] = (),
           return_history: bool = False, **options: Any) -> Output:
    """Reconstruct ``image`` from its features at ``layer`` (default ``relu4_2``).

    Keyword options are the fields of :class:`InvertOptions`; returns a PIL image, or ``(image, history)`` with
    ``return_history=True``.

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> img, history = stylekit.invert(photo, "relu2_1", size=32, steps=2, backbone="scratch",
        ...                                return_history=True)
        >>> img.size, len(history)
        ((32, 24), 2)
    """
    values = {**options, "layer": layer} if layer is not None else options
    result = run_invert(image, make_options(InvertOptions, values), callbacks)
    return (result.image, result.history) if return_history else result.image


def job(content: ImageLike, styles: Sequence[ImageLike], options: InvertOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """One inversion of ``content`` at ``options.layer``, as every face runs it."""
    return run_invert(content, options, callbacks)


def work(options: InvertOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixel-steps of an inversion (one scale at the output size)."""
    return options.steps * megapixels(options.size, content_hw)
