"""Tiled evaluation of content + style + TV objectives, for images too large for one forward+backward.

Every style loss is a function of a statistic that is a sum over positions (Gram matrices, moments) or one
column per position (sliced projections), so it is assembled tile by tile. Each tile is read with a halo of
context and only its core's features count, so with a halo wider than the network's reach the tiled
features equal the whole image's. A step takes two passes: (1) without gradients, assemble every style
term's statistic S over the tiles and get dL/dS; (2) per tile, backpropagate the surrogate <dL/dS, S_tile>
plus the tile's share of the content loss into the image gradient. Peak memory is then set by the tile,
not the image.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from ..backbones import FeatureExtractor
from ..errors import StylekitError
from ..optim.loop import LossFn
from . import functional as F
from .modules import ContentLoss, Objective, StyleLoss, Sum, TotalVariation, Weighted



@dataclass(frozen=True)
class Tile:
    """A core region [y0:y1, x0:x1] of the image and the padded region [py0:py1, px0:px1] it is read with."""

    y0: int
    y1: int
    x0: int
    x1: int
    py0: int
    py1: int
    px0: int
    px1: int

    def core(self, features: torch.Tensor, stride: int) -> torch.Tensor:
        """The part of a padded tile's feature map (at ``stride``) that belongs to the core."""
        top, left = (self.y0 - self.py0) // stride, (self.x0 - self.px0) // stride
        bottom, right = -(-(self.y1 - self.py0) // stride), -(-(self.x1 - self.px0) // stride)
        return features[..., top:bottom, left:right]

    def region(self, features: torch.Tensor, stride: int) -> torch.Tensor:
        """The core's part of a whole-image feature map (at ``stride``)."""
        return features[..., self.y0 // stride:-(-self.y1 // stride), self.x0 // stride:-(-self.x1 // stride)]


@dataclass(frozen=True)
class TileLayout:
    """Core size and halo for one backbone and set of layers: corners on multiples of the largest stride
    (so pooling windows fall where they fall in the whole image) and a halo of half the receptive field
    (so core features equal the whole image's)."""

    tile: int
    halo: int
    align: int

    @classmethod
    def for_layers(cls, backbone: FeatureExtractor, layers: Sequence[str], tile: int) -> TileLayout:
        align = max(backbone.stride(layer) for layer in layers)
        halo = max(backbone.receptive_field(layer) for layer in layers) // 2 + 1
        up = lambda v: -(-v // align) * align  # noqa: E731
        return cls(max(align, tile // align * align), up(halo), align)


def tiles(height: int, width: int, layout: TileLayout) -> list[Tile]:
    """Cover an image with cores of ``layout.tile`` pixels, each read with ``layout.halo`` pixels around."""
    tile, halo = layout.tile, layout.halo
    out = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            out.append(Tile(y0, y1, x0, x1, max(0, y0 - halo), min(height, y1 + halo), max(0, x0 - halo),
                            min(width, x1 + halo)))
    return out


def _patch(image: torch.Tensor, t: Tile) -> torch.Tensor:
    return image[..., t.py0:t.py1, t.px0:t.px1]


def _cores(backbone: FeatureExtractor, image: torch.Tensor, layers: Sequence[str], layout: TileLayout,
           dtype: torch.dtype = torch.float32) -> Iterator[tuple[Tile, dict[str, torch.Tensor]]]:
    strides = {layer: backbone.stride(layer) for layer in layers}
    for t in tiles(*image.shape[-2:], layout):
        feats = backbone(_patch(image, t), layers, dtype)
        yield t, {layer: t.core(f, strides[layer]) for layer, f in feats.items()}


@torch.no_grad()
def tiled_sums(backbone: FeatureExtractor, image: torch.Tensor, layers: Sequence[str], tile: int,
               statistic: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, tuple[torch.Tensor, int]]:
    """Per layer, ``statistic`` of each tile core's features summed over the tiles, with the positions counted
    (equal to the whole image's when the statistic is a sum over positions and the halo covers the network's
    reach)."""
    sums: dict[str, torch.Tensor] = {}
    positions = dict.fromkeys(layers, 0)
    for _, cores in _cores(backbone, image, layers, TileLayout.for_layers(backbone, layers, tile)):
        for layer, f in cores.items():
            value = statistic(f)
            sums[layer] = sums[layer] + value if layer in sums else value
            positions[layer] += f.shape[-2] * f.shape[-1]
    return {layer: (value, positions[layer]) for layer, value in sums.items()}


def tiled_grams(backbone: FeatureExtractor, image: torch.Tensor, layers: Sequence[str], tile: int,
                normalize: str = F.GRAM_NORMALIZE) -> dict[str, torch.Tensor]:
    """Gram matrices of a large image, accumulated tile by tile (equal to ``gram_matrix`` of the whole
    image's features when the halo covers the network's reach)."""
    sums = tiled_sums(backbone, image, layers, tile, lambda f: F.gram_matrix(f, "none"))
    return {layer: g / F.gram_divisor(g.shape[-1], n, normalize) for layer, (g, n) in sums.items()}


def tiled_moments(backbone: FeatureExtractor, image: torch.Tensor, layers: Sequence[str],
                  tile: int) -> dict[str, torch.Tensor]:
    """Packed :func:`functional.moments` of a large image's features, accumulated tile by tile."""
    sums = tiled_sums(backbone, image, layers, tile, F.moment_sums)
    return {layer: m / n for layer, (m, n) in sums.items()}


@torch.no_grad()
def tiled_features(backbone: FeatureExtractor, image: torch.Tensor, layer: str, tile: int) -> torch.Tensor:
    """One layer's feature map of a large image, assembled from tile cores."""
    pieces: dict[int, list[torch.Tensor]] = {}
    for t, cores in _cores(backbone, image, [layer], TileLayout.for_layers(backbone, [layer], tile)):
        pieces.setdefault(t.y0, []).append(cores[layer])
    return torch.cat([torch.cat(row, dim=-1) for _, row in sorted(pieces.items())], dim=-2)


def _leaves(objective: Objective) -> list[tuple[float, Objective]]:
    parts = objective.parts if isinstance(objective, Sum) else [objective]
    out = []
    for part in parts:
        weight, inner = (part.weight, part.inner) if isinstance(part, Weighted) else (1.0, part)
        if not isinstance(inner, (ContentLoss, StyleLoss, TotalVariation)):
            raise ValueError(f"tiled evaluation supports content, style and TV terms, not {inner!r}")
        if getattr(inner, "grad_scale", None) is not None:
            raise StylekitError("normalised gradients cannot be computed in tiles: drop `normalize_gradients` or "
                                "lower `size`")
        out.append((weight, inner))
    return out


def tiled_loss(backbone: FeatureExtractor, objective: Objective, tile: int,
               dtype: torch.dtype = torch.float32) -> LossFn:
    """A loop loss function equal in value and gradient to ``objective`` on the whole image, computed tile
    by tile (cores of about ``tile`` pixels), the backbone in ``dtype``. Content targets are whole-image feature
    maps (see :func:`tiled_features`)."""
    leaves = _leaves(objective)
    layers = sorted(objective.layers)
    strides = {layer: backbone.stride(layer) for layer in layers}
    layout = TileLayout.for_layers(backbone, layers, tile)
    styles = [(w, leaf) for w, leaf in leaves if isinstance(leaf, StyleLoss)]
    contents = [(w, leaf) for w, leaf in leaves if isinstance(leaf, ContentLoss)]
    # Per content term, the factor on its tile's sum of squared differences (mean, relative if asked).
    content_scale = {}
    for w, leaf in contents:
        if leaf.reduction == "rms":
            raise StylekitError("an rms content distance cannot be computed in tiles: use another "
                                "`content_reduction` or a smaller `size`")
        scale = w * {"mean": 1 / leaf.target.numel(), "sum": 1.0, "half-sum": 0.5}[leaf.reduction]
        content_scale[leaf.name] = (scale / F.reduce(leaf.target.pow(2), leaf.reduction).clamp_min(1e-12)
                                    if leaf.relative else scale)

    def loss_fn(image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = image.detach()
        terms: dict[str, torch.Tensor] = {}
        # Pass 1: every style term's whole-image statistic, its loss value and dL/dS (per tile for "cat").
        grads: list[list[torch.Tensor]] = []
        if styles:
            for _, leaf in styles:
                leaf.prepare()
            style_layers = sorted({leaf.layer for _, leaf in styles})
            parts: list[list[torch.Tensor]] = [[] for _ in styles]
            with torch.no_grad():
                for t, cores in _cores(backbone, x, style_layers, layout, dtype):
                    for i, (_, leaf) in enumerate(styles):
                        parts[i].append(leaf.statistic(cores[leaf.layer], _weights(leaf, t, x, strides)))
            for (w, leaf), pieces in zip(styles, parts):
                joined = (torch.cat(pieces, dim=-1) if leaf.combine == "cat"
                          else torch.stack(pieces).sum(0)).requires_grad_(True)
                value = w * leaf.distance(joined, leaf.positions(_grid(x, strides[leaf.layer])))
                (grad,) = torch.autograd.grad(value, joined)
                grads.append(list(grad.split([p.shape[-1] for p in pieces], dim=-1)) if leaf.combine == "cat"
                             else [grad] * len(pieces))
                terms[leaf.name] = value.detach()
        # Pass 2: per tile, backpropagate the style surrogates and the tile's content terms.
        grad_x = torch.zeros_like(x)
        content_sums = {leaf.name: torch.zeros((), device=x.device) for _, leaf in contents}
        for index, t in enumerate(tiles(*x.shape[-2:], layout)):
            patch = _patch(x, t).clone().requires_grad_(True)
            feats = backbone(patch, layers, dtype)
            surrogate = torch.zeros((), device=x.device)
            for (_, leaf), grad in zip(styles, grads):
                core = t.core(feats[leaf.layer], strides[leaf.layer])
                surrogate = surrogate + (grad[index] * leaf.statistic(core, _weights(leaf, t, x, strides))).sum()
            for _, leaf in contents:
                stride = strides[leaf.layer]
                f, target = t.core(feats[leaf.layer], stride), t.region(leaf.target, stride)
                part = (f - target).pow(2).sum() * content_scale[leaf.name]
                content_sums[leaf.name] += part.detach()
                surrogate = surrogate + part
            if surrogate.requires_grad:
                (g,) = torch.autograd.grad(surrogate, patch)
                grad_x[..., t.py0:t.py1, t.px0:t.px1] += g
        terms.update(content_sums)
        for w, leaf in leaves:
            if isinstance(leaf, TotalVariation):
                terms[leaf.name] = w * leaf.value(image)
        # Hand the tiled gradient to the loop's backward: a term's value unchanged, its gradient grad_x.
        if styles or contents:
            first = (styles or contents)[0][1].name
            link = (image * grad_x).sum()
            terms[first] = terms[first] + (link - link.detach())  # exactly 0 in value, whatever its size
        return terms

    return loss_fn


def _grid(image: torch.Tensor, stride: int) -> tuple[int, int]:
    """A layer's whole-image grid at ``stride``."""
    h, w = image.shape[-2:]
    return -(-h // stride), -(-w // stride)


def _weights(leaf: StyleLoss, t: Tile, image: torch.Tensor, strides: dict[str, int]) -> torch.Tensor | None:
    """A guided style term's mask over one tile's core (its part of the whole grid's), or None."""
    stride = strides[leaf.layer]
    region = leaf.region(_grid(image, stride))
    return None if region is None else t.region(region, stride)
