"""stylekit: neural style transfer on frozen CNN features.

The option dataclasses import at once; the functions (``stylekit.transfer``, ``stylekit.fast`` ...) import
torch and their method on first use, so ``import stylekit`` and ``stylekit --help`` stay fast.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import StylekitError, StylekitWarning
from .options import (PRESETS, DreamOptions, FastOptions, FeaturesOptions, InvertOptions, ServerConfig,
                      TextureOptions, TransferOptions, VideoOptions, ZoomOptions)
from .version import __version__

_FUNCTIONS = {
    "transfer": "stylekit.methods.gatys", "texture": "stylekit.methods.texture_synthesis",
    "invert": "stylekit.methods.inversion", "invert_sweep": "stylekit.methods.inversion",
    "dream": "stylekit.methods.deepdream", "dream_zoom": "stylekit.methods.deepdream",
    "features": "stylekit.methods.feature_maps", "fast": "stylekit.feedforward.stylize",
    "fast_batch": "stylekit.feedforward.stylize", "video": "stylekit.videos.stylize",
    "deconv": "stylekit.methods.deconv", "top_images": "stylekit.methods.deconv",
    "visualize": "stylekit.methods.visualize", "batch": "stylekit.cluster.jobs",
}


def __getattr__(name: str) -> Any:
    """The public functions, imported on first use."""
    if name in _FUNCTIONS:
        value = getattr(import_module(_FUNCTIONS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stylekit' has no attribute {name!r}")


__all__ = ["PRESETS", "DreamOptions", "FastOptions", "FeaturesOptions", "InvertOptions", "ServerConfig",
           "StylekitError", "StylekitWarning", "TextureOptions", "TransferOptions", "VideoOptions", "ZoomOptions",
           "__version__", *_FUNCTIONS]
