"""Pieces every method shares: backbone set-up, seeding, style targets, objective-to-loss glue."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import torch

from ..backbones import FeatureExtractor, load_backbone
from ..devices import resolve_device
from ..objectives import Objective, gram_matrix
from ..objectives.tiled import tiled_grams
from ..optim import Scale, resize
from ..optim.loop import LossFn

T = TypeVar("T")


@dataclass
class RunOptions:
    """Settings every method shares: the network, the device and the random seed."""

    pooling: str = "max"
    backbone: str = "vgg19"
    weights: str | None = None  # torchvision weight file for vgg16/vgg19
    seed: int | None = None
    device: str = "cpu"


def make_options(cls: type[T], options: dict[str, Any]) -> T:
    """Build an options dataclass from keyword arguments, naming any unknown ones."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
    return cls(**options)


def fit_long_side(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) scaled so that max(h, w) == long_side, keeping the aspect ratio."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def prepare_backbone(name: str, pooling: str, weights: str | None, layers: Sequence[str], device: str,
                     backbone: FeatureExtractor | None = None) -> tuple[FeatureExtractor, torch.device]:
    """Load (or take) a backbone, check ``layers``, truncate it after the deepest and move it to ``device``."""
    dev = resolve_device(device)
    net = backbone if backbone is not None else load_backbone(name, pooling, weights)
    net.check_layers(layers)
    return net.truncate(layers).to(dev), dev


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU generator for this run's random draws; with a seed, torch's global RNG is seeded too."""
    if seed is not None:
        torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed if seed is not None else torch.seed())


def objective_loss(backbone: FeatureExtractor, objective: Objective,
                   transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> LossFn:
    """A loop loss function: features of the (optionally transformed) image, then the objective's terms."""
    layers = sorted(objective.layers)

    def loss_fn(image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen = transform(image) if transform is not None else image
        return objective.terms(seen, backbone(seen, layers) if layers else {})

    return loss_fn


@torch.no_grad()
def blended_grams(backbone: FeatureExtractor, styles: Sequence[torch.Tensor], blend: Sequence[float],
                  layers: Sequence[str], long_side: int, tile: int | None = None) -> dict[str, torch.Tensor]:
    """Per layer, the blend-weighted sum of the styles' Gram matrices (C·H·W-normalised), each style resized
    to ``long_side`` (as neural-style blends several styles); computed in tiles of ``tile`` px if given."""
    grams: dict[str, torch.Tensor] = {}
    for style, weight in zip(styles, blend):
        image = resize(style, fit_long_side(*style.shape[-2:], long_side))
        if tile:
            per_layer = tiled_grams(backbone, image, layers, tile)
        else:
            feats = backbone(image, layers)
            per_layer = {layer: gram_matrix(feats[layer], "chw") for layer in layers}
        for layer in layers:
            g = per_layer[layer] * weight
            grams[layer] = grams[layer] + g if layer in grams else g
    return grams


def layer_weights(layers: Sequence[str], weights: Sequence[float] | None) -> list[float]:
    """Given per-layer weights, or equal weights summing to 1."""
    return list(weights) if weights is not None else [1.0 / len(layers)] * len(layers)


def schedule(content_hw: tuple[int, int], size: int, min_size: int | None,
             steps: Sequence[int] | int) -> list[Scale]:
    """Coarse-to-fine scales from ``min_size`` to ``size`` (long side), each about √2 larger than the last."""
    if min_size is None or min_size >= size:
        longs = [size]
    else:
        count = max(2, math.ceil(math.log(size / min_size, math.sqrt(2)) - 1e-9) + 1)
        longs = [round(min_size * (size / min_size) ** (i / (count - 1))) for i in range(count)]
    per_scale = [steps] * len(longs) if isinstance(steps, int) else list(steps)
    if len(per_scale) < len(longs):  # short lists repeat their last entry at the fine scales
        per_scale += [per_scale[-1]] * (len(longs) - len(per_scale))
    elif len(per_scale) > len(longs):  # long lists keep the coarse counts and end at the finest
        per_scale = per_scale[: len(longs) - 1] + [per_scale[-1]]
    return [Scale(fit_long_side(*content_hw, s), n) for s, n in zip(longs, per_scale)]
