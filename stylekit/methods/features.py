"""Feature-map grids: what each channel of a layer responds to in an image."""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import StylekitError
from ..io import ImageLike, load_image, write_atomic
from .common import fit_long_side, prepare_backbone

ORDERS = ("index", "mean", "max", "std")
COLOR_SCALES = ("shared", "per-map")


@dataclass
class FeatureMaps:
    """The chosen channels of one layer: ``maps`` is (N, H, W), ``channels`` their indices."""

    layer: str
    channels: list[int]
    maps: np.ndarray


def features(image: ImageLike, layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
             channels: int = 16, order: str = "index", size: int = 256, backbone: str = "vgg19",
             pooling: str = "max", weights: str | None = None, device: str = "cpu") -> dict[str, FeatureMaps]:
    """Activation maps of ``channels`` channels per layer of ``image`` (resized to long side ``size``), chosen
    by ``order``: the first ones (``index``) or those with the highest ``mean``, ``max`` or ``std``."""
    if order not in ORDERS:
        raise StylekitError(f"unknown channel order {order!r}: choose one of {', '.join(ORDERS)}")
    if channels < 1:
        raise StylekitError("channels must be at least 1")
    if not layers:
        raise StylekitError("give at least one layer")
    net, dev = prepare_backbone(backbone, pooling, weights, layers, device)
    src = load_image(image, "image").rgb.to(dev)
    with torch.no_grad():
        feats = net(torch.nn.functional.interpolate(src, size=fit_long_side(*src.shape[-2:], size), mode="bilinear",
                                                    antialias=True, align_corners=False), layers)
    out: dict[str, FeatureMaps] = {}
    for layer in layers:
        f = feats[layer][0].float().cpu()
        if order == "index":
            idx = list(range(min(channels, f.shape[0])))
        else:
            score = {"mean": f.mean((1, 2)), "max": f.amax((1, 2)), "std": f.std((1, 2))}[order]
            idx = score.argsort(descending=True)[:channels].tolist()
        out[layer] = FeatureMaps(layer, idx, f[idx].numpy())
    return out


def feature_figures(maps: dict[str, FeatureMaps], color_scale: str = "shared", per_layer: bool = False,
                    cmap: str = "viridis") -> list:
    """Matplotlib figures: one sheet with a grid per layer, or one figure per layer. ``color_scale`` is
    ``shared`` (one range per layer) or ``per-map``."""
    if color_scale not in COLOR_SCALES:
        raise StylekitError(f"unknown colour scale {color_scale!r}: choose one of {', '.join(COLOR_SCALES)}")
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
    """Render a figure to PNG (or the path's format) and write it atomically."""
    out = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=out.suffix.lstrip(".").lower() or "png", dpi=dpi)
    return write_atomic(out, lambda tmp: tmp.write_bytes(buf.getvalue()))
