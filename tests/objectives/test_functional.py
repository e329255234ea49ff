import math

import pytest
import torch

from stylekit.objectives import (ContentLoss, GramLoss, TotalVariation, content_loss, gram_loss, gram_matrix,
                                 total_variation)


def test_gram_matrix_hand_computed():
    f = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])  # C=2, H=1, W=2
    plain = torch.tensor([[5.0, 11.0], [11.0, 25.0]])
    assert torch.equal(gram_matrix(f, "none"), plain)
    assert torch.allclose(gram_matrix(f, "hw"), plain / 2)
    assert torch.allclose(gram_matrix(f, "chw"), plain / 4)


def test_gram_matrix_batched_and_bad_input():
    f = torch.randn(3, 4, 5, 6, generator=torch.Generator().manual_seed(0))
    g = gram_matrix(f, "none")
    assert g.shape == (3, 4, 4)
    assert torch.allclose(g[1], gram_matrix(f[1], "none"), rtol=1e-5, atol=1e-4)
    assert torch.allclose(g, g.transpose(1, 2), atol=1e-4)
    with pytest.raises(ValueError):
        gram_matrix(torch.randn(4, 5))
    with pytest.raises(ValueError):
        gram_matrix(f, "bogus")


def test_content_loss_hand_computed():
    p = torch.tensor([1.0, 1.0, 1.0, 1.0])
    f = torch.tensor([1.0, 2.0, 3.0, 1.0])
    assert content_loss(f, p, relative=False).item() == pytest.approx((0 + 1 + 4 + 0) / 4)
    # mean(P^2) = 1, so the relative loss is the same number here; scale P by 2 to see it divide
    assert content_loss(2 * f, 2 * p, relative=True).item() == pytest.approx(4 * 1.25 / 4)


def test_gram_loss_hand_computed_and_gatys_relation():
    g = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    a = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    assert gram_loss(g, a, relative=False).item() == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert gram_loss(g, a, relative=True).item() == pytest.approx(3 / 4)
    # With H·W-normalised Grams the loss is 4·E_l of Gatys et al. (2016, eq. 4).
    gen = torch.Generator().manual_seed(1)
    f, t = torch.randn(3, 4, 5, generator=gen), torch.randn(3, 4, 5, generator=gen)
    n, m = 3, 20
    e_l = ((gram_matrix(f, "none") - gram_matrix(t, "none")) ** 2).sum() / (4 * n**2 * m**2)
    assert gram_loss(gram_matrix(f, "hw"), gram_matrix(t, "hw"), relative=False).item() == pytest.approx(
        4 * e_l.item(), rel=1e-5)


def test_total_variation_hand_computed():
    img = torch.tensor([[[0.0, 1.0], [2.0, 4.0]]])  # one channel, 2x2: dx=1, dy=2 at the one corner
    assert total_variation(img).item() == pytest.approx(5.0)
    assert total_variation(img, beta=1.0).item() == pytest.approx(math.sqrt(5.0), rel=1e-6)
    assert total_variation(torch.ones(1, 3, 8, 8)).item() == 0.0


def test_objectives_compose_and_report_terms():
    feats = {"a": torch.ones(1, 2, 3, 3), "b": torch.zeros(1, 2, 2, 2)}
    image = torch.zeros(1, 3, 4, 4)
    c = ContentLoss("a", torch.zeros(1, 2, 3, 3), relative=False)  # loss 1
    s = GramLoss("b", torch.eye(2), normalize="hw", relative=False)  # loss (1+1)/4
    tv = TotalVariation()
    obj = 2 * c + s * 3 + 0.5 * tv + c
    terms = obj.terms(image, feats)
    assert set(terms) == {"content:a", "style:b", "tv", "content:a#2"}
    assert terms["content:a"].item() == pytest.approx(2.0)
    assert terms["style:b"].item() == pytest.approx(1.5)
    assert obj(image, feats).item() == pytest.approx(2 + 1.5 + 0 + 1)
    assert obj.layers == {"a", "b"}
    assert ((c * 2) * 3).weight == 6


def test_gram_matrix_of_channels_last_features_matches_and_keeps_the_layout():
    x = torch.rand(2, 8, 5, 7, dtype=torch.float64)
    xc = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    plain = x.clone().requires_grad_(True)
    assert torch.allclose(gram_matrix(xc, "chw"), gram_matrix(plain, "chw"))
    gram_matrix(xc, "hw").pow(2).sum().backward()
    gram_matrix(plain, "hw").pow(2).sum().backward()
    assert torch.allclose(xc.grad, plain.grad)
    assert xc.grad.is_contiguous(memory_format=torch.channels_last)
