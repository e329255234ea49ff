"""Frozen feature extractors with named layers, loaded once per process and shared."""
from __future__ import annotations

from pathlib import Path

import torch

from .. import provenance
from ..devices import LoadedCache, resolve_device
from ..errors import StylekitError
from ..options import BACKBONES
from .base import FeatureExtractor
from .scratch import load_scratch
from .vgg import CAFFE_MEAN_BGR, CONFIGS, caffe_vgg19_path, decode_caffe_vgg19, load_vgg, vgg_layers

BACKBONES_KEPT = 4  # backbones kept loaded (the least recently used is dropped beyond it); read at each load
_LOADED: LoadedCache[FeatureExtractor] = LoadedCache()


def load_backbone(name: str = "vgg19", pooling: str = "max", weights: str | Path | None = None,
                  allow_download: bool = True) -> FeatureExtractor:
    """Build a new backbone by name: ``vgg19`` (original weights unless ``weights`` names a torchvision or Keras
    file), ``vgg16`` (torchvision's or, with a ``.h5`` file, Keras's weights) or ``scratch`` (random weights)."""
    if name == "scratch":
        if weights is not None:
            raise StylekitError("the scratch backbone has random weights: drop `weights`", "weights")
        return load_scratch(pooling)
    if name in ("vgg19", "vgg16"):
        return load_vgg(name, weights, pooling, allow_download)
    raise StylekitError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")


def layer_names(name: str) -> list[str]:
    """A backbone's layer names in forward order, without loading its weights (scratch's are random anyway)."""
    if name == "scratch":
        return load_scratch().layer_names
    if name in CONFIGS:
        return [layer for block, convs in enumerate(CONFIGS[name], start=1)
                for layer in [n for c in range(1, convs + 1) for n in (f"conv{block}_{c}", f"relu{block}_{c}")]
                + [f"pool{block}"]]
    raise StylekitError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")


def architecture(name: str = "vgg19", pooling: str = "max") -> FeatureExtractor:
    """A backbone's layers with uninitialised weights (no file is read): its shapes, for memory estimates."""
    if name == "scratch":
        return load_scratch(pooling)
    if name in CONFIGS:
        return FeatureExtractor(name, vgg_layers(name, pooling), mean=CAFFE_MEAN_BGR)
    raise StylekitError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")


def _file_key(weights: str | Path | None) -> tuple | None:
    if weights is None:
        return None
    path = Path(weights).expanduser().resolve()
    stat = path.stat() if path.is_file() else None
    return (str(path), stat.st_size if stat else None, stat.st_mtime_ns if stat else None)


def _remember(name: str, pooling: str, weights: str | Path | None) -> None:
    """Tell a recorded run (see :mod:`stylekit.provenance`) which network it looks through, and its weights."""
    if provenance.current() is None:
        return
    if weights is not None:
        provenance.note_model(f"backbone {name}", Path(weights).expanduser(), pooling=pooling)
    elif name == "vgg19":
        provenance.note_model("backbone vgg19", caffe_vgg19_path(), pooling=pooling, weights="original Caffe")
    else:
        provenance.note_model(f"backbone {name}", pooling=pooling, weights="built in")


def get_backbone(name: str = "vgg19", pooling: str = "max", weights: str | Path | None = None,
                 device: str | torch.device = "cpu") -> FeatureExtractor:
    """The process's shared backbone for (name, pooling, weights, device), loaded on first use (VGG19 takes
    0.6-1 s) and reused by every later run, frame and web job while it is among the :data:`BACKBONES_KEPT` most
    recently used. It is frozen: never change it."""
    dev = resolve_device(device)
    key = (name, pooling, _file_key(weights), str(dev))
    _remember(name, pooling, weights)
    return _LOADED.get_or_load(key, lambda: load_backbone(name, pooling, weights).to(dev), BACKBONES_KEPT)


__all__ = ["BACKBONES", "FeatureExtractor", "architecture", "decode_caffe_vgg19", "get_backbone", "layer_names",
           "load_backbone", "load_scratch", "load_vgg"]
