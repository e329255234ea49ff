"""Frozen feature extractors with named layers."""
from __future__ import annotations

from pathlib import Path

from ..errors import StylekitError
from .base import FeatureExtractor
from .scratch import load_scratch
from .vgg import decode_caffe_vgg19, load_vgg

BACKBONES = ("vgg19", "vgg16", "scratch")


def load_backbone(name: str = "vgg19", pooling: str = "max", weights: str | Path | None = None,
                  allow_download: bool = True) -> FeatureExtractor:
    """Build a backbone by name: ``vgg19`` (original weights unless ``weights`` names a torchvision file),
    ``vgg16`` (torchvision weights) or ``scratch`` (random weights)."""
    if name == "scratch":
        if weights is not None:
            raise StylekitError("the scratch backbone has random weights: drop --weights")
        return load_scratch(pooling)
    if name in ("vgg19", "vgg16"):
        return load_vgg(name, weights, pooling, allow_download)
    raise StylekitError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")


__all__ = ["BACKBONES", "FeatureExtractor", "decode_caffe_vgg19", "load_backbone", "load_scratch", "load_vgg"]
