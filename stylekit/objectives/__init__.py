"""Losses on features: pure functions in :mod:`functional`, composable objectives on top."""
from . import functional
from .functional import (activation_l2, alpha_norm, content_loss, gram_loss, gram_matrix, guided_activation,
                         temporal_loss, total_variation)
from .modules import (ActivationLoss, AlphaNorm, ChannelActivation, ContentLoss, Diversity, GramLoss,
                      GuidedActivationLoss, MeanStdLoss, NeuronActivation, Objective, SlicedLoss, StyleLoss, Sum,
                      TemporalLoss, TotalVariation, W2Loss, Weighted, total)
from .targets import blended_grams, blended_moments, blended_samples, layer_weights, style_terms

__all__ = ["ActivationLoss", "AlphaNorm", "ChannelActivation", "ContentLoss", "Diversity", "GramLoss",
           "NeuronActivation", "GuidedActivationLoss", "MeanStdLoss",
           "Objective", "SlicedLoss", "StyleLoss", "Sum", "TemporalLoss", "TotalVariation", "W2Loss", "Weighted",
           "blended_moments", "blended_samples", "style_terms", "activation_l2", "alpha_norm", "content_loss",
           "functional",
           "blended_grams", "gram_loss", "gram_matrix", "guided_activation", "layer_weights", "temporal_loss", "total",
           "total_variation"]
