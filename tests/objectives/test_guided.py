"""Guided style losses (--masks): each style's statistics over its own region of the output (Gatys et al. 2017)."""
from __future__ import annotations

import pytest
import torch

from stylekit.backbones import load_scratch
from stylekit.methods.common import objective_loss
from stylekit.objectives import GramLoss, MeanStdLoss, SlicedLoss, W2Loss, gram_matrix, style_terms
from stylekit.objectives import functional as F
from stylekit.objectives.functional import moments
from stylekit.objectives.targets import regions
from stylekit.objectives.tiled import tiled_loss

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
KINDS = ("gram", "w2", "meanstd", "sliced")


@pytest.fixture
def setup():
    net = load_scratch()
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 150, 190, generator=gen)
    styles = [torch.rand(1, 3, 96, 96, generator=gen), torch.rand(1, 3, 80, 112, generator=gen) ** 3]
    soft = torch.linspace(0, 1, 190).view(1, 1, 1, 190).expand(1, 1, 150, 190).contiguous()
    return net, image, styles, soft


def _run(loss_fn, image):
    x = image.clone().requires_grad_(True)
    terms = loss_fn(x)
    sum(terms.values()).backward()
    return {k: float(v.detach()) for k, v in terms.items()}, x.grad


@pytest.mark.parametrize("kind", KINDS)
def test_an_all_white_mask_is_the_plain_loss(setup, kind):
    net, image, styles, _ = setup
    weights = [0.25] * len(LAYERS)
    plain = style_terms(net, styles[:1], [1.0], LAYERS, weights, 96, loss=kind,
                        generator=torch.Generator().manual_seed(1))
    white = style_terms(net, styles[:1], [1.0], LAYERS, weights, 96, loss=kind,
                        generator=torch.Generator().manual_seed(1), masks=[torch.ones(1, 1, 150, 190)])
    a, ga = _run(objective_loss(net, sum(plain[1:], plain[0])), image)
    b, gb = _run(objective_loss(net, sum(white[1:], white[0])), image)
    assert list(a.values()) == pytest.approx(list(b.values()), rel=1e-4)
    assert torch.allclose(ga, gb, rtol=1e-3, atol=1e-4 * ga.abs().max().item())


@pytest.mark.parametrize("kind", KINDS)
def test_guided_losses_in_tiles_equal_the_whole_image(setup, kind):
    net, image, styles, soft = setup
    terms = style_terms(net, styles, [0.5, 0.5], LAYERS, [1.0] * len(LAYERS), 96, loss=kind,
                        generator=torch.Generator().manual_seed(2), masks=[soft])
    objective = sum(terms[1:], terms[0])
    for term in terms:  # the sliced directions drawn alike for both runs
        if isinstance(term.inner, SlicedLoss):
            term.inner.generator.manual_seed(5)
    whole_terms, whole_grad = _run(objective_loss(net, objective), image)
    for term in terms:
        if isinstance(term.inner, SlicedLoss):
            term.inner.generator.manual_seed(5)
    tiled_terms, tiled_grad = _run(tiled_loss(net, objective, tile=64), image)
    assert whole_terms.keys() == tiled_terms.keys() and len(whole_terms) == 2 * len(LAYERS)
    for name, value in whole_terms.items():
        assert tiled_terms[name] == pytest.approx(value, rel=2e-3), name
    assert torch.allclose(tiled_grad, whole_grad, rtol=2e-3, atol=1e-4 * whole_grad.abs().max().item())


def test_a_guided_gram_is_the_region_s_own_gram(setup):
    net, image, _, _ = setup
    feats = net(image, ["relu2_1"])["relu2_1"]
    h, w = feats.shape[-2:]
    left = torch.zeros(1, 1, 150, 190)
    left[..., :, :96] = 1  # a whole number of relu2_1 cells (stride 2)
    loss = GramLoss("relu2_1", torch.eye(feats.shape[1]), mask=left)
    region = loss.region((h, w))
    assert float(region.sum()) == pytest.approx(h * 48)
    gram = loss.statistic(feats, region) / F.gram_divisor(feats.shape[1], float(region.sum()))
    assert torch.allclose(gram, gram_matrix(feats[..., :, :48], "chw"), rtol=1e-4, atol=1e-6)
    moment = MeanStdLoss("relu2_1", moments(feats), mask=left)
    assert torch.allclose(moment.statistic(feats, region) / region.sum(),
                          torch.cat([torch.diag_embed(moments(feats[..., :48])[:, :-1].diagonal()),
                                     moments(feats[..., :48])[:, -1:]], -1), rtol=1e-4, atol=1e-6)
    w2 = W2Loss("relu2_1", moments(feats), mask=left)
    assert torch.allclose(w2.statistic(feats, region) / region.sum(), moments(feats[..., :48]), rtol=1e-4, atol=1e-6)


def test_weighted_sliced_distance_with_equal_weights_is_the_plain_one():
    gen = torch.Generator().manual_seed(0)
    mine, theirs = torch.randn(8, 300, generator=gen), torch.randn(8, 170, generator=gen) * 2 + 1
    plain = F.sliced_distance(mine, theirs)
    assert float(F.weighted_sliced_distance(mine, torch.ones(300), theirs)) == pytest.approx(float(plain), rel=1e-5)
    # positions of weight 0 do not count: the distance of the rest alone
    weights = torch.cat([torch.ones(150), torch.zeros(150)])
    half = F.weighted_sliced_distance(mine, weights, theirs)
    assert float(half) == pytest.approx(float(F.sliced_distance(mine[:, :150], theirs)), rel=1e-5)


def test_the_styles_beyond_the_masks_fill_what_no_mask_claims():
    first = torch.zeros(1, 1, 4, 4)
    first[..., :2, :] = 0.75
    areas = regions([first], 2)
    assert torch.allclose(areas[1], 1 - first)
    assert len(regions([first, 1 - first], 2)) == 2
