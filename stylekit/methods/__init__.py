"""Optimising methods built on the shared engine: Gatys transfer, texture synthesis, feature inversion,
DeepDream, feature-map grids, deconvnet projections and top activations, channel visualisation."""
from .deconv import Deconv, TopImages, deconv, run_deconv, run_top_images, top_images
from .deepdream import dream, dream_zoom, run_dream, run_dream_zoom
from .feature_maps import FeatureMaps, feature_figures, features, run_features
from .gatys import run_transfer, transfer
from .inversion import Inversion, invert, invert_sweep, run_invert, run_invert_sweep
from .result import MethodResult
from .texture_synthesis import run_texture, texture
from .visualize import Visualization, run_visualize, visualize

__all__ = ["Deconv", "FeatureMaps", "Inversion", "MethodResult", "TopImages", "Visualization", "deconv", "dream",
           "dream_zoom", "feature_figures", "features", "invert", "invert_sweep", "run_deconv", "run_dream",
           "run_dream_zoom", "run_features", "run_invert", "run_invert_sweep", "run_texture", "run_top_images",
           "run_transfer", "run_visualize", "texture", "top_images", "transfer", "visualize"]
