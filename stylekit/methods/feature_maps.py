"""Feature-map grids: what each channel of a layer responds to in an image."""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .. import provenance
from ..io import ImageLike, checked_hw, load_image, write_atomic
from ..planning import megapixels, preflight
from ..optim import Callback, Scale
from ..options import FeaturesOptions, keyword_options, make_options, validate
from .common import run_context
from .result import MethodResult


FIGURE_FORMATS = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


@dataclass
class FeatureMaps:
    """The chosen channels of one layer: ``maps`` is (N, H, W), ``channels`` their indices."""

    layer: str
    channels: list[int]
    maps: np.ndarray


def run_features(image: ImageLike, options: FeaturesOptions | None = None) -> dict[str, FeatureMaps]:
    """Activation maps of ``options.channels`` channels per layer of ``image`` (resized to ``options.size``),
    chosen by ``options.order``: the first ones (``index``) or those with the highest ``mean``, ``max`` or
    ``std``."""
    opts = validate(options or FeaturesOptions())
    ctx = run_context(opts, opts.layers)
    src = load_image(image, "image").rgb.to(ctx.device)
    with torch.no_grad():
        hw = checked_hw(*src.shape[-2:], opts.size, "the image")
        preflight(ctx.backbone, ctx.device, opts.layers, [Scale(hw, 0)], optimizer=None)
        feats = ctx.backbone(torch.nn.functional.interpolate(src, size=hw, mode="bilinear", antialias=True,
                                                             align_corners=False), opts.layers)
    out: dict[str, FeatureMaps] = {}
    for layer in opts.layers:
        f = feats[layer][0].float().cpu()
        if opts.order == "index":
            idx = list(range(min(opts.channels, f.shape[0])))
        else:
            score = {"mean": f.mean((1, 2)), "max": f.amax((1, 2)), "std": f.std((1, 2))}[opts.order]
            idx = score.argsort(descending=True)[:opts.channels].tolist()
        out[layer] = FeatureMaps(layer, idx, f[idx].numpy())
    return out


@keyword_options(FeaturesOptions, skip=("layers",))
def features(image: ImageLike, layers: Sequence[str] | None = None, **options: Any) -> dict[str, FeatureMaps]:
    """Feature maps of ``image`` at ``layers`` (see :func:`run_features`); keyword options are the fields of
    :class:`FeaturesOptions` (``channels``, ``order``, ``size``, ``backbone`` ...).

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> maps = stylekit.features(photo, ["relu1_1", "relu2_1"], channels=4, size=32, backbone="scratch")
        >>> maps["relu1_1"].channels, maps["relu1_1"].maps.shape, maps["relu2_1"].maps.shape
        ([0, 1, 2, 3], (4, 24, 32), (4, 12, 16))
    """
    values = {**options, "layers": layers} if layers is not None else options
    return run_features(image, make_options(FeaturesOptions, values))


def feature_figures(maps: dict[str, FeatureMaps], color_scale: str = "shared", per_layer: bool = False,
                    cmap: str = "viridis") -> list:
    """Matplotlib figures: one sheet with a grid per layer, or one figure per layer. ``color_scale`` is
    ``shared`` (one range per layer) or ``per-map``; ``cmap`` a matplotlib colour map name."""
    from matplotlib.figure import Figure

    def draw(fig_or_sub, fm: FeatureMaps) -> None:
        n = len(fm.channels)
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        axes = np.atleast_1d(fig_or_sub.subplots(rows, cols, squeeze=False)).ravel()
        vmin, vmax = float(fm.maps.min()), float(fm.maps.max())
        for ax, ch, m in zip(axes, fm.channels, fm.maps):
            if color_scale == "shared":
                ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
            else:
                ax.imshow(m, cmap=cmap)
            ax.set_title(f"{ch}", fontsize=7)
        for ax in axes:
            ax.set_axis_off()
        fig_or_sub.suptitle(fm.layer)

    if per_layer:
        figs = []
        for fm in maps.values():
            fig = Figure(figsize=(6, 6.4), layout="constrained")
            draw(fig, fm)
            figs.append(fig)
        return figs
    fig = Figure(figsize=(6 * min(len(maps), 3), 6.4 * math.ceil(len(maps) / 3)), layout="constrained")
    cols = min(len(maps), 3)
    subs = np.atleast_1d(fig.subfigures(math.ceil(len(maps) / cols), cols, squeeze=False)).ravel()
    for sub, fm in zip(subs, maps.values()):
        draw(sub, fm)
    return [fig]


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """Render a figure to PNG (or the path's format) and write it atomically; a PNG remembers the recorded run's
    settings (see :mod:`stylekit.provenance`)."""
    out = Path(path)
    buf = io.BytesIO()
    fmt = out.suffix.lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, dpi=dpi)
    data, settings = buf.getvalue(), provenance.image_settings()
    if fmt == "png" and settings is not None:
        data = provenance.with_settings(data, settings)
    return write_atomic(out, lambda tmp: tmp.write_bytes(data))


def figure_image(fig: Any, dpi: int = 100) -> Image.Image:
    """A matplotlib figure drawn as a PNG image."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Image.open(buf)


def job(content: ImageLike, styles: Sequence[ImageLike], options: FeaturesOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """The feature maps of ``content`` on one sheet, as every face but the command line (which writes figures
    of its own) shows them."""
    maps = run_features(content, options)
    return MethodResult(figure_image(feature_figures(maps, options.color_scale, cmap=options.cmap)[0]))


def work(options: FeaturesOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixels of the one pass."""
    return megapixels(options.size, content_hw)
