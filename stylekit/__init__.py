"""stylekit: neural style transfer on frozen CNN features."""
from .errors import StylekitError
from .methods import (DreamOptions, InvertOptions, TextureOptions, TransferOptions, dream, dream_zoom, features,
                      invert, texture, transfer)

__version__ = "0.1.0"
__all__ = ["DreamOptions", "InvertOptions", "StylekitError", "TextureOptions", "TransferOptions", "__version__",
           "dream", "dream_zoom", "features", "invert", "texture", "transfer"]
