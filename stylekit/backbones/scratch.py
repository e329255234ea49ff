"""A small random-weight CNN: no download, deterministic, for tests and texture experiments."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import skip_init

from .base import FeatureExtractor, make_pool
from .vgg import IMAGENET_MEAN, IMAGENET_STD

# (block, convs, channels): names follow VGG19's so the default layer choices work unchanged.
SCRATCH_CONFIG = ((1, 1, 16), (2, 1, 32), (3, 1, 48), (4, 2, 64), (5, 2, 64))


def load_scratch(pooling: str = "max", seed: int = 0) -> FeatureExtractor:
    """A five-block random CNN (conv1_1 ... relu5_2) with He-initialised weights drawn from ``seed``.

    Random filters already carry useful texture statistics (Ustyuzhaninov et al., 2016), and each block's
    pooling makes the features multi-scale.
    """
    gen = torch.Generator().manual_seed(seed)
    layers: list[tuple[str, nn.Module]] = []
    in_ch = 3
    for block, n_conv, out_ch in SCRATCH_CONFIG:
        for c in range(1, n_conv + 1):
            conv = skip_init(nn.Conv2d, in_ch, out_ch, 3, padding=1)
            with torch.no_grad():
                conv.weight.normal_(0.0, (2.0 / (in_ch * 9)) ** 0.5, generator=gen)
                conv.bias.uniform_(-0.05, 0.05, generator=gen)
            layers += [(f"conv{block}_{c}", conv), (f"relu{block}_{c}", nn.ReLU())]
            in_ch = out_ch
        layers.append((f"pool{block}", make_pool(pooling)))
    return FeatureExtractor("scratch", layers, mean=IMAGENET_MEAN, std=IMAGENET_STD)
