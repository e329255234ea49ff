"""stylekit: neural style transfer on frozen CNN features."""
from .errors import StylekitError
from .fast import FastOptions, fast, fast_batch
from .methods import (DreamOptions, InvertOptions, TextureOptions, TransferOptions, dream, dream_zoom, features,
                      invert, texture, transfer)
from .video import VideoOptions, video

__version__ = "0.1.0"
__all__ = ["DreamOptions", "FastOptions", "InvertOptions", "StylekitError", "TextureOptions", "TransferOptions",
           "VideoOptions", "__version__", "dream", "dream_zoom", "fast", "fast_batch", "features", "invert", "texture",
           "transfer", "video"]
