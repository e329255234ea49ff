"""Style targets: blended Gram matrices of several style images, and per-layer weights."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..backbones import FeatureExtractor
from ..io.geometry import fit_long_side, resize
from .functional import GRAM_NORMALIZE, gram_matrix
from .tiled import tiled_grams


def layer_weights(layers: Sequence[str], weights: Sequence[float] | None) -> list[float]:
    """Given per-layer weights (one given weight is every layer's), or equal weights summing to 1."""
    if weights is None:
        return [1.0 / len(layers)] * len(layers)
    return list(weights) * len(layers) if len(weights) == 1 else list(weights)


@torch.no_grad()
def blended_grams(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                  layers: Sequence[str], size: int | tuple[int, int], tile: int | None = None,
                  normalize: str = GRAM_NORMALIZE) -> dict[str, torch.Tensor]:
    """Per layer, the blend-weighted sum of the styles' Gram matrices (normalised as ``normalize`` says), each
    style resized to long side ``size`` (or to exactly ``size`` (H, W)), as neural-style blends several styles;
    computed in tiles of ``tile`` px if given."""
    grams: dict[str, torch.Tensor] = {}
    for style, weight in zip(styles, blend):
        image = resize(style, size if isinstance(size, tuple) else fit_long_side(*style.shape[-2:], size))
        if tile:
            per_layer = tiled_grams(backbone, image, layers, tile, normalize)
        else:
            feats = backbone(image, layers)
            per_layer = {layer: gram_matrix(feats[layer], normalize) for layer in layers}
        for layer in layers:
            g = per_layer[layer] * weight
            grams[layer] = grams[layer] + g if layer in grams else g
    return grams
