"""Losses on features: pure functions in :mod:`functional`, composable objectives on top."""
from . import functional
from .functional import content_loss, gram_loss, gram_matrix, total_variation
from .modules import ContentLoss, GramLoss, Objective, Sum, TotalVariation, Weighted

__all__ = ["ContentLoss", "GramLoss", "Objective", "Sum", "TotalVariation", "Weighted", "content_loss",
           "functional", "gram_loss", "gram_matrix", "total_variation"]
