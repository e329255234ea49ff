"""Losses on features: pure functions in :mod:`functional`, composable objectives on top."""
from . import functional
from .functional import (activation_l2, alpha_norm, content_loss, gram_loss, gram_matrix, guided_activation,
                         temporal_loss, total_variation)
from .modules import (ActivationLoss, AlphaNorm, ContentLoss, GramLoss, GuidedActivationLoss, Objective, Sum,
                      TemporalLoss, TotalVariation, Weighted, total)
from .targets import blended_grams, layer_weights

__all__ = ["ActivationLoss", "AlphaNorm", "ContentLoss", "GramLoss", "GuidedActivationLoss", "Objective", "Sum",
           "TemporalLoss", "TotalVariation", "Weighted", "activation_l2", "alpha_norm", "content_loss", "functional",
           "blended_grams", "gram_loss", "gram_matrix", "guided_activation", "layer_weights", "temporal_loss", "total",
           "total_variation"]
