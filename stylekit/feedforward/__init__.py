"""Feed-forward arbitrary style transfer: MicroAST and the Collaborative-Distillation WCT cascade."""
from .stylize import FastStylizer, fast, fast_batch, image_peak_bytes, stylize_files
from .weights import REGISTRY, cache_dir, resolve

__all__ = ["REGISTRY", "FastStylizer", "cache_dir", "fast", "fast_batch", "image_peak_bytes", "resolve",
           "stylize_files"]
