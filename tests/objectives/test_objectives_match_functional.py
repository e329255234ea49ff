"""Each objective equals its functional form with the same defaults, and each loss has a correct gradient."""
from __future__ import annotations

import pytest
import torch

from stylekit.objectives import functional as F
from stylekit.objectives import (ActivationLoss, AlphaNorm, ContentLoss, GramLoss, GuidedActivationLoss,
                                 TemporalLoss, TotalVariation)


def _features(device: torch.device, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {"a": torch.rand(1, 4, 5, 6, generator=gen, dtype=dtype).to(device),
            "b": torch.rand(1, 3, 4, 4, generator=gen, dtype=dtype).to(device)}


def test_each_objective_equals_its_functional_form_with_shared_defaults(device):
    feats = _features(device)
    image = torch.rand(1, 3, 8, 9, generator=torch.Generator().manual_seed(1)).to(device)
    target = torch.rand(1, 4, 5, 6, generator=torch.Generator().manual_seed(2)).to(device)
    gram = F.gram_matrix(feats["b"] * 0.5)  # the default normalisation on both sides
    mask = torch.rand(1, 1, 8, 9, generator=torch.Generator().manual_seed(3)).to(device)
    guide = feats["a"][0].flatten(1)
    pairs = [
        (ContentLoss("a", target), F.content_loss(feats["a"], target)),
        (GramLoss("b", gram), F.gram_loss(F.gram_matrix(feats["b"]), gram)),
        (TotalVariation(), F.total_variation(image)),
        (TotalVariation(1.0), F.total_variation(image, 1.0)),
        (TemporalLoss(image * 0.9, mask), F.temporal_loss(image, image * 0.9, mask)),
        (AlphaNorm(), F.alpha_norm(image)),
        (ActivationLoss("a", [1, 2]), -F.activation_l2(feats["a"], [1, 2])),
        (GuidedActivationLoss("a", feats["a"][0]), -F.guided_activation(feats["a"], guide)),
    ]
    for objective, expected in pairs:
        assert torch.allclose(objective(image, feats), expected, rtol=1e-6), objective
    # the defaults are stylekit's scale-free conventions, the same for the function and the objective
    assert ContentLoss("a", target).relative is F.RELATIVE is True
    assert GramLoss("b", gram).normalize == F.GRAM_NORMALIZE == "chw"


@pytest.mark.parametrize("relative", [False, True])
def test_losses_pass_gradcheck_in_float64(device, relative):
    feats = _features(device, torch.float64)
    target = feats["a"].detach().flip(-1)
    a = feats["a"].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: F.content_loss(x, target, relative), (a,))
    gram_target = F.gram_matrix(feats["b"].flip(-2))
    b = feats["b"].clone().requires_grad_(True)
    for norm in F.GRAM_NORMALIZATIONS:
        assert torch.autograd.gradcheck(lambda x: F.gram_loss(F.gram_matrix(x, norm), F.gram_matrix(
            feats["b"].flip(-2), norm), relative), (b,))
    assert torch.autograd.gradcheck(lambda x: F.gram_loss(F.gram_matrix(x), gram_target, relative), (b,))


IMAGE_LOSSES = {
    "total_variation": lambda x, other, mask: F.total_variation(x),
    "total_variation_beta1": lambda x, other, mask: F.total_variation(x, 1.0),
    "alpha_norm": lambda x, other, mask: F.alpha_norm(x),
    "temporal_loss": lambda x, other, mask: F.temporal_loss(x, other, mask),
    "activation_l2": lambda x, other, mask: F.activation_l2(x, [0, 2]),
    "guided_activation": lambda x, other, mask: F.guided_activation(x, other[0].flatten(1)),
}


@pytest.mark.parametrize("loss", IMAGE_LOSSES)
def test_image_losses_pass_gradcheck_in_float64(device, loss):
    gen = torch.Generator().manual_seed(4)
    image = torch.rand(1, 3, 5, 6, generator=gen, dtype=torch.float64).to(device).requires_grad_(True)
    other = torch.rand(1, 3, 5, 6, generator=gen, dtype=torch.float64).to(device)
    mask = torch.rand(1, 1, 5, 6, generator=gen, dtype=torch.float64).to(device)
    assert torch.autograd.gradcheck(lambda x: IMAGE_LOSSES[loss](x, other, mask), (image,))
