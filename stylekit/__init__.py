"""stylekit: neural style transfer on frozen CNN features.

The option dataclasses import at once; the functions (``stylekit.transfer``, ``stylekit.fast`` ...) import
torch and their method on first use, so ``import stylekit`` and ``stylekit --help`` stay fast.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import StylekitError, StylekitWarning
from .options import (PRESETS, DreamOptions, FastOptions, FeaturesOptions, InvertOptions, ServerConfig,
                      TextureOptions, TrainOptions, TransferOptions, VideoOptions, ZoomOptions)
from .options.registry import public_functions
from .version import __version__

# Public functions that run over many inputs rather than one method's (each method's come from the registry).
_LOOPS = {"video": "stylekit.videos.stylize", "batch": "stylekit.cluster.jobs"}


def _functions() -> dict[str, str]:
    return {**public_functions(), **_LOOPS}


def __getattr__(name: str) -> Any:
    """The public functions (every registered method's), imported on first use."""
    module = _functions().get(name)
    if module is None:
        raise AttributeError(f"module 'stylekit' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_functions()})


__all__ = ["PRESETS", "DreamOptions", "FastOptions", "FeaturesOptions", "InvertOptions", "ServerConfig",
           "StylekitError", "StylekitWarning", "TextureOptions", "TrainOptions", "TransferOptions", "VideoOptions",
           "ZoomOptions",
           "__version__", *_functions()]
