"""Fast arbitrary style transfer: MicroAST and the Collaborative-Distillation WCT cascade."""
from .stylize import MODELS, FastOptions, FastStylizer, fast, fast_batch
from .weights import REGISTRY, WEIGHTS_ENV, cache_dir, resolve

__all__ = ["MODELS", "REGISTRY", "WEIGHTS_ENV", "FastOptions", "FastStylizer", "cache_dir", "fast", "fast_batch",
           "resolve"]
