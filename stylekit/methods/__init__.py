"""Optimising methods built on the shared engine: Gatys transfer, texture synthesis, feature inversion,
DeepDream, feature-map grids."""
from .deepdream import dream, dream_zoom, run_dream, run_dream_zoom
from .feature_maps import FeatureMaps, feature_figures, features, run_features
from .gatys import run_transfer, transfer
from .inversion import Inversion, invert, invert_sweep, run_invert, run_invert_sweep
from .result import MethodResult
from .texture_synthesis import run_texture, texture

__all__ = ["FeatureMaps", "Inversion", "MethodResult", "dream", "dream_zoom", "feature_figures", "features", "invert",
           "invert_sweep", "run_dream", "run_dream_zoom", "run_features", "run_invert", "run_invert_sweep",
           "run_texture", "run_transfer", "texture", "transfer"]
