"""Methods built on the shared engine: transfer, texture, invert, dream, features."""
from .dream import DreamOptions, dream, dream_zoom, run_dream
from .features import FeatureMaps, feature_figures, features
from .invert import Inversion, InvertOptions, invert, run_invert
from .result import MethodResult
from .texture import TextureOptions, run_texture, texture
from .transfer import TransferOptions, run_transfer, transfer

__all__ = ["DreamOptions", "FeatureMaps", "Inversion", "InvertOptions", "MethodResult", "TextureOptions",
           "TransferOptions", "dream", "dream_zoom", "feature_figures", "features", "invert", "run_dream",
           "run_invert", "run_texture", "run_transfer", "texture", "transfer"]
