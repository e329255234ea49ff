"""Style targets: blended statistics of several style images (Gram matrices, moments, feature samples), and
per-layer weights."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..backbones import FeatureExtractor
from ..io.geometry import fit_long_side, resize
from .functional import GRAM_NORMALIZE, RELATIVE, gram_matrix, moments
from .modules import GramLoss, MeanStdLoss, Objective, SlicedLoss, W2Loss, Weighted
from .tiled import tiled_features, tiled_grams, tiled_moments


def layer_weights(layers: Sequence[str], weights: Sequence[float] | None) -> list[float]:
    """Given per-layer weights (one given weight is every layer's), or equal weights summing to 1."""
    if weights is None:
        return [1.0 / len(layers)] * len(layers)
    return list(weights) * len(layers) if len(weights) == 1 else list(weights)


def _resized(style: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    return resize(style, size if isinstance(size, tuple) else fit_long_side(*style.shape[-2:], size))


def _blend(styles: Sequence[torch.Tensor], blend: Sequence[float], layers: Sequence[str], size: int | tuple[int, int],
           per_style: Callable[[torch.Tensor], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Per layer, the blend-weighted sum of ``per_style`` of each style resized to ``size``."""
    out: dict[str, torch.Tensor] = {}
    for style, weight in zip(styles, blend):
        per_layer = per_style(_resized(style, size))
        for layer in layers:
            value = per_layer[layer] * weight
            out[layer] = out[layer] + value if layer in out else value
    return out


@torch.no_grad()
def blended_grams(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                  layers: Sequence[str], size: int | tuple[int, int], tile: int | None = None,
                  normalize: str = GRAM_NORMALIZE) -> dict[str, torch.Tensor]:
    """Per layer, the blend-weighted sum of the styles' Gram matrices (normalised as ``normalize`` says), each
    style resized to long side ``size`` (or to exactly ``size`` (H, W)), as neural-style blends several styles;
    computed in tiles of ``tile`` px if given."""
    def grams(image: torch.Tensor) -> dict[str, torch.Tensor]:
        if tile:
            return tiled_grams(backbone, image, layers, tile, normalize)
        feats = backbone(image, layers)
        return {layer: gram_matrix(feats[layer], normalize) for layer in layers}

    return _blend(styles, blend, layers, size, grams)


@torch.no_grad()
def blended_moments(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                    layers: Sequence[str], size: int | tuple[int, int],
                    tile: int | None = None) -> dict[str, torch.Tensor]:
    """Per layer, the blend-weighted average of the styles' packed moments (E[f·fᵀ] and E[f], see
    :func:`functional.moments`): the target of the W2 and mean/std losses."""
    def packed(image: torch.Tensor) -> dict[str, torch.Tensor]:
        if tile:
            return tiled_moments(backbone, image, layers, tile)
        feats = backbone(image, layers)
        return {layer: moments(feats[layer]) for layer in layers}

    return _blend(styles, blend, layers, size, packed)


@torch.no_grad()
def blended_samples(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                    layers: Sequence[str], size: int | tuple[int, int],
                    tile: int | None = None) -> dict[str, torch.Tensor]:
    """Per layer, feature samples (C, N) of the styles' mixture: every position of one style; of several, as many
    evenly spaced positions of each as its share of the blend (the target of the sliced loss)."""
    per_style: list[dict[str, torch.Tensor]] = []
    for style in styles:
        image = _resized(style, size)
        feats = ({layer: tiled_features(backbone, image, layer, tile) for layer in layers} if tile
                 else backbone(image, layers))
        per_style.append({layer: f.reshape(f.shape[-3], -1) for layer, f in feats.items()})
    if len(per_style) == 1:
        return per_style[0]
    out = {}
    for layer in layers:
        count = max(f[layer].shape[-1] for f in per_style)
        pieces = []
        for feats, weight in zip(per_style, blend):
            n = round(weight * count)
            if n:
                index = torch.linspace(0, feats[layer].shape[-1] - 1, n, device=feats[layer].device).round().long()
                pieces.append(feats[layer][:, index])
        out[layer] = torch.cat(pieces, dim=-1)
    return out


def unclaimed(masks: Sequence[torch.Tensor]) -> torch.Tensor:
    """What no mask claims: one minus the masks' sum, at least 0 (the region of the styles beyond the masks)."""
    return (1 - torch.stack(list(masks)).sum(0)).clamp(0, 1)


def regions(masks: Sequence[torch.Tensor], n_styles: int) -> list[torch.Tensor]:
    """Each style's region, (1, 1, H, W) in [0, 1]: the given masks in order, then, for the styles beyond them, what
    no mask claims (one minus the masks' sum, at least 0)."""
    out = [m.clamp(0, 1) for m in masks]
    if n_styles > len(out):
        out.append(unclaimed(out))
    return out


def style_terms(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                layers: Sequence[str], weights: Sequence[float], size: int | tuple[int, int], tile: int | None = None,
                loss: str = "gram", *, normalize: str = GRAM_NORMALIZE, relative: bool = RELATIVE,
                reduction: str = "mean", factor: str = "none", normalize_gradients: bool = False,
                generator: torch.Generator | None = None,
                masks: Sequence[torch.Tensor] | None = None) -> list[Objective]:
    """One weighted style term per layer, of the style ``loss`` (``gram``, ``w2``, ``sliced`` or ``meanstd``), with
    targets from the blended ``styles`` at ``size`` (see :func:`blended_grams`); ``normalize``, ``reduction`` and
    ``factor`` are the Gram loss's conventions; ``generator`` draws the sliced loss's directions.

    ``masks`` (one (1, 1, H, W) image-sized map in [0, 1] per style, or fewer) place the styles (guided style,
    Gatys et al. 2017): each masked style's statistics are matched over its own region of the output only, the
    styles beyond the masks (blended) over what no mask claims; each region's terms weigh its share of the image,
    so one all-white mask is the plain loss."""
    if masks:
        areas = regions(masks, len(styles))
        groups = [([styles[i]], [1.0], areas[i]) for i in range(len(masks))]
        if len(styles) > len(masks):
            rest = list(blend[len(masks):])
            groups.append((list(styles[len(masks):]), [b / (sum(rest) or 1) for b in rest], areas[-1]))
        terms: list[Objective] = []
        for g, (group, shares, mask) in enumerate(groups):
            share = float(mask.mean())
            for term in style_terms(backbone, group, shares, layers, [w * share for w in weights], size, tile, loss,
                                    normalize=normalize, relative=relative, reduction=reduction, factor=factor,
                                    normalize_gradients=normalize_gradients, generator=generator):
                inner = term.inner if isinstance(term, Weighted) else term
                inner.mask, inner.name = mask.detach().reshape(1, 1, *mask.shape[-2:]), f"style{g + 1}:{inner.layer}"
                terms.append(term)
        return terms
    if loss == "gram":
        targets = blended_grams(backbone, styles, blend, layers, size, tile, normalize)
    elif loss in ("w2", "meanstd"):
        targets = blended_moments(backbone, styles, blend, layers, size, tile)
    elif loss == "sliced":
        targets = blended_samples(backbone, styles, blend, layers, size, tile)
        seed = int(torch.randint(2**62, (1,), generator=generator)) if generator is not None else 0
    else:
        raise ValueError(f"unknown style loss {loss!r}: use gram, w2, sliced or meanstd")
    terms = []
    for i, (layer, w) in enumerate(zip(layers, weights)):
        scale = w if normalize_gradients else None
        if loss == "gram":
            term: Objective = GramLoss(layer, targets[layer], normalize, relative, reduction, factor, scale)
        elif loss == "sliced":
            term = SlicedLoss(layer, targets[layer], relative, scale, torch.Generator().manual_seed(seed + i))
        else:
            term = (W2Loss if loss == "w2" else MeanStdLoss)(layer, targets[layer], relative, scale)
        terms.append(term * w)
    return terms
