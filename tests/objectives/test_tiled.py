"""Tiled evaluation must equal the whole-image objective in value and gradient."""
import pytest
import torch

from stylekit.backbones import load_scratch
from stylekit.methods.common import objective_loss
from stylekit.objectives import ContentLoss, GramLoss, TotalVariation, gram_matrix
from stylekit.objectives.tiled import TileLayout, tiled_features, tiled_grams, tiled_loss, tiles

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@pytest.fixture
def setup():
    net = load_scratch()
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 150, 190, generator=gen)
    content = torch.rand(1, 3, 150, 190, generator=gen)
    style = torch.rand(1, 3, 120, 120, generator=gen)
    return net, image, content, style


def test_tiles_cover_the_image_once():
    layout = TileLayout(tile=64, halo=48, align=16)
    cover = torch.zeros(150, 190)
    for t in tiles(150, 190, layout):
        cover[t.y0:t.y1, t.x0:t.x1] += 1
        assert t.y0 % 16 == 0 and t.x0 % 16 == 0 and t.py0 >= 0 and t.px1 <= 190
    assert torch.equal(cover, torch.ones(150, 190))


def test_layout_from_network():
    layout = TileLayout.for_layers(load_scratch(), LAYERS, 100)
    assert layout.align == 16 and layout.tile == 96 and layout.halo >= 94 // 2 and layout.halo % 16 == 0


def test_tiled_grams_and_features_match_whole_image(setup):
    net, image, _, _ = setup
    whole = net(image, LAYERS)
    grams = tiled_grams(net, image, LAYERS, tile=64)
    for layer in LAYERS:
        assert torch.allclose(grams[layer], gram_matrix(whole[layer], "chw"), rtol=1e-4, atol=1e-6), layer
    assert torch.allclose(tiled_features(net, image, "relu3_1", tile=48), whole["relu3_1"], atol=1e-5)


def test_tiled_loss_value_and_gradient_match(setup):
    net, image, content, style = setup
    with torch.no_grad():
        c_target = net(content, ["relu4_1"])["relu4_1"]
        s_feats = net(style, LAYERS)
    objective = ContentLoss("relu4_1", c_target) * 2.0 + TotalVariation() * 0.5
    for layer in LAYERS:
        objective = objective + GramLoss(layer, gram_matrix(s_feats[layer], "chw")) * 3.0

    def run(loss_fn):
        x = image.clone().requires_grad_(True)
        terms = loss_fn(x)
        sum(terms.values()).backward()
        return {k: float(v.detach()) for k, v in terms.items()}, x.grad

    whole_terms, whole_grad = run(objective_loss(net, objective))
    tiled_terms, tiled_grad = run(tiled_loss(net, objective, tile=64))
    assert whole_terms.keys() == tiled_terms.keys()
    for name, value in whole_terms.items():
        assert tiled_terms[name] == pytest.approx(value, rel=1e-3), name  # float summation order differs
    assert torch.allclose(tiled_grad, whole_grad, rtol=1e-3, atol=1e-6 * whole_grad.abs().max().item())


def test_tiles_of_pooling_layers_match_too(setup):
    net, image, _, _ = setup
    whole = net(image, ["pool2", "block3_pool"])  # a pooling layer's positions span twice its input's
    grams = tiled_grams(net, image, ["pool2", "block3_pool"], tile=64)
    for layer in ("pool2", "block3_pool"):
        assert torch.allclose(grams[layer], gram_matrix(whole[layer], "chw"), rtol=1e-4, atol=1e-6), layer
    assert torch.allclose(tiled_features(net, image, "pool2", tile=48), whole["pool2"], atol=1e-5)
