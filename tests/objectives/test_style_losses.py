"""The style losses beyond the Gram matrix: W2 (Gaussian Wasserstein-2), sliced Wasserstein, mean/std."""
import numpy as np
import pytest
import torch

from stylekit import texture, transfer
from stylekit.backbones import load_scratch
from stylekit.errors import StylekitError
from stylekit.methods.common import objective_loss
from stylekit.objectives import (ContentLoss, MeanStdLoss, SlicedLoss, TotalVariation, W2Loss, blended_moments,
                                 blended_samples, total)
from stylekit.objectives import functional as F
from stylekit.objectives.tiled import tiled_loss, tiled_moments
from stylekit.options import STYLE_LOSSES, TransferOptions, validate

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def _moments(mean, cov):
    """Packed moments of a Gaussian with this mean and covariance."""
    return torch.cat([cov + torch.outer(mean, mean), mean[:, None]], dim=1)


def _sqrtm_eigh(a):
    w, v = torch.linalg.eigh(a)
    return v @ torch.diag(w.clamp_min(0).sqrt()) @ v.T


def test_w2_of_two_known_gaussians():
    d = torch.float64
    m1, m2 = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=d), torch.zeros(4, dtype=d)
    # N(m1, 4I) vs N(0, I): |m1|^2 + 4 * (2 - 1)^2 = 30 + 4
    value = F.w2_distance(_moments(m1, 4 * torch.eye(4, dtype=d)), _moments(m2, torch.eye(4, dtype=d)), eps=0.0,
                          relative=False)
    assert float(value) == pytest.approx(34.0, rel=1e-9)
    # diagonal covariances: sum (sqrt(a_i) - sqrt(b_i))^2; relative divides by |m_t|^2 + tr(cov_t)
    a, b = torch.tensor([1.0, 9.0, 0.25], dtype=d), torch.tensor([4.0, 1.0, 1.0], dtype=d)
    mean = torch.tensor([0.0, 1.0, 0.0], dtype=d)
    value = F.w2_distance(_moments(mean, torch.diag(a)), _moments(mean, torch.diag(b)), eps=0.0)
    assert float(value) == pytest.approx((1 + 4 + 0.25) / (1 + 6), rel=1e-9)
    same = F.w2_distance(_moments(mean, torch.diag(a)), _moments(mean, torch.diag(a)), eps=0.0)
    assert abs(float(same)) < 1e-9


def test_w2_matches_an_eigendecomposition_on_random_features():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 8, 8, generator=gen, dtype=torch.float64), torch.randn(6, 7, 9, generator=gen,
                                                                                dtype=torch.float64) * 2 + 1
    mx, my = F.moments(x), F.moments(y)
    eps = F.w2_eps(my)
    cx, cy = F.covariance(mx, eps), F.covariance(my, eps)
    root = _sqrtm_eigh(cy)
    expected = ((mx[:, -1] - my[:, -1]) ** 2).sum() + torch.trace(cx + cy - 2 * _sqrtm_eigh(root @ cx @ root))
    expected = expected / ((my[:, -1] ** 2).sum() + torch.trace(cy))
    assert float(F.w2_loss(x, y)) == pytest.approx(float(expected), rel=1e-8)


def test_matrix_square_root_and_its_backward_match_eigh():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(8, 40, generator=gen, dtype=torch.float64)
    a = x @ x.T / 40 + 1e-3 * torch.eye(8, dtype=torch.float64)
    g = torch.randn(8, 8, generator=gen, dtype=torch.float64)
    mine, ref = a.clone().requires_grad_(True), a.clone().requires_grad_(True)
    root = F.sqrtm(mine)
    assert torch.allclose(root @ root, a, atol=1e-10)
    (root * g).sum().backward()
    (_sqrtm_eigh(ref) * g).sum().backward()
    assert torch.allclose(mine.grad, ref.grad, atol=1e-9)


def test_sliced_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(5, 6, 7, generator=gen)
    dirs = F.random_directions(5, generator=gen)
    shuffled = feats.flatten(1)[:, torch.randperm(42, generator=gen)].reshape(5, 6, 7)
    assert float(F.sliced_loss(shuffled, feats, dirs, relative=False)) == pytest.approx(0.0, abs=1e-12)
    shift = torch.tensor([1.0, 0.0, -2.0, 0.5, 0.0])
    # a constant shift v moves every sorted projection on direction d by d.v: the loss is mean((d.v)^2)
    expected = float(((dirs @ shift) ** 2).mean())
    moved = F.sliced_loss(feats + shift[:, None, None], feats, dirs, relative=False)
    assert float(moved) == pytest.approx(expected, rel=1e-5)
    farther = F.sliced_loss(feats + 2 * shift[:, None, None], feats, dirs, relative=False)
    assert float(farther) == pytest.approx(4 * expected, rel=1e-5)
    # a target with more samples is resampled at the output's quantiles
    assert float(F.sliced_loss(feats, torch.cat([feats, feats], -1), dirs, relative=False)) < 1e-3


def test_meanstd_hand_computed():
    feats = torch.tensor([[[1.0, 3.0]], [[2.0, 2.0]]])  # 2 channels, 2 positions: means 2, 2; stds 1, 0
    target = torch.tensor([[[0.0, 0.0]], [[1.0, 5.0]]])  # means 0, 3; stds 0, 2
    # mean over channels of (dmean^2 + dstd^2): ((4 + 1) + (1 + 4)) / 2 = 5
    # (sigma = sqrt(var + 1e-8): a zero deviation counts as 1e-4)
    assert float(F.meanstd_loss(feats, target, relative=False)) == pytest.approx(5.0, rel=1e-4)
    # relative: divided by mean(mean_t^2 + std_t^2) = (0 + 13) / 2
    assert float(F.meanstd_loss(feats, target)) == pytest.approx(5.0 / 6.5, rel=1e-4)


def test_new_losses_pass_gradcheck_in_float64(device):
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(1, 4, 5, 6, generator=gen, dtype=torch.float64).to(device).requires_grad_(True)
    b = torch.rand(1, 4, 6, 5, generator=gen, dtype=torch.float64).to(device) * 2
    dirs = F.random_directions(4, generator=gen).to(device, torch.float64)
    assert torch.autograd.gradcheck(lambda x: F.w2_loss(x, b), (a,))
    assert torch.autograd.gradcheck(lambda x: F.meanstd_loss(x, b), (a,))
    assert torch.autograd.gradcheck(lambda x: F.sliced_loss(x, b, dirs), (a,))


def _sliced(layer, target, seed):
    return SlicedLoss(layer, target, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind", ["w2", "sliced", "meanstd"])
def test_tiled_form_matches_the_whole_image(kind):
    net = load_scratch()
    gen = torch.Generator().manual_seed(0)
    image, content, style = (torch.rand(1, 3, *hw, generator=gen) for hw in ((150, 190), (150, 190), (120, 120)))
    with torch.no_grad():
        c_target = net(content, ["relu3_1"])["relu3_1"]

    def objective():
        if kind == "sliced":
            samples = blended_samples(net, [style], [1.0], LAYERS, 120)
            terms = [_sliced(layer, samples[layer], i) * 3.0 for i, layer in enumerate(LAYERS)]
        else:
            targets = blended_moments(net, [style], [1.0], LAYERS, 120)
            cls = W2Loss if kind == "w2" else MeanStdLoss
            terms = [cls(layer, targets[layer]) * 3.0 for layer in LAYERS]
        return total([ContentLoss("relu3_1", c_target), TotalVariation() * 0.5, *terms])

    def run(loss_fn):
        x = image.clone().requires_grad_(True)
        terms = loss_fn(x)
        sum(terms.values()).backward()
        return {k: float(v.detach()) for k, v in terms.items()}, x.grad

    whole_terms, whole_grad = run(objective_loss(net, objective()))
    tiled_terms, tiled_grad = run(tiled_loss(net, objective(), tile=64))
    for name, value in whole_terms.items():
        assert tiled_terms[name] == pytest.approx(value, rel=1e-3), name
    # float32 summation order differs (W2 subtracts the mean outer product from the raw second moment)
    assert torch.allclose(tiled_grad, whole_grad, rtol=1e-3, atol=1e-3 * whole_grad.abs().max().item())


def test_tiled_moments_match_and_blends_average_their_moments():
    net = load_scratch()
    gen = torch.Generator().manual_seed(4)
    a, b = torch.rand(1, 3, 100, 130, generator=gen), torch.rand(1, 3, 100, 130, generator=gen) * 0.5
    whole = net(a, LAYERS)
    tiled = tiled_moments(net, a, LAYERS, tile=48)
    for layer in LAYERS:
        assert torch.allclose(tiled[layer], F.moments(whole[layer]), rtol=1e-4, atol=1e-5), layer
    blend = blended_moments(net, [a, b], [0.25, 0.75], LAYERS, 130)
    alone = [blended_moments(net, [x], [1.0], LAYERS, 130) for x in (a, b)]
    for layer in LAYERS:
        assert torch.allclose(blend[layer], 0.25 * alone[0][layer] + 0.75 * alone[1][layer], atol=1e-5)
    mixture = blended_samples(net, [a, b], [0.25, 0.75], ["relu2_1"], 130)["relu2_1"]
    n = whole["relu2_1"].shape[-2] * whole["relu2_1"].shape[-1]
    assert mixture.shape == (whole["relu2_1"].shape[1], round(0.25 * n) + round(0.75 * n))


def test_sliced_draws_fresh_directions_each_evaluation_and_repeats_with_its_seed():
    feats = {"relu1_1": torch.rand(1, 8, 6, 6)}
    target = torch.rand(8, 50)
    one, two = _sliced("relu1_1", target, 5), _sliced("relu1_1", target, 5)
    first = [float(one(None, feats)) for _ in range(3)]
    assert len(set(first)) == 3  # new directions every evaluation
    assert first == [float(two(None, feats)) for _ in range(3)]


@pytest.mark.parametrize("loss", STYLE_LOSSES)
def test_every_style_loss_runs_in_transfer_and_texture(content_path, style_path, loss):
    common = dict(backbone="scratch", min_size=None, style_loss=loss, seed=0, early_stopping=False,
                  style_layers=LAYERS, return_history=True)
    image, hist = transfer(content_path, style_path, size=48, steps=12, content_layers=("relu3_1",), **common)
    assert hist[-1]["loss"] < 0.7 * hist[0]["loss"] and image.size == (48, 48)
    again = transfer(content_path, style_path, size=48, steps=12, content_layers=("relu3_1",), **common)[0]
    assert np.array_equal(np.asarray(image), np.asarray(again))  # reproducible with the seed (sliced too)
    tex, hist = texture(style_path, size=40, steps=10, **common)
    assert hist[-1]["loss"] < hist[0]["loss"] and tex.size == (40, 40)


def test_gram_only_conventions_are_refused_with_another_loss():
    with pytest.raises(StylekitError, match="style_factor.* applies to .*style_loss.* gram only"):
        validate(TransferOptions(style_loss="w2", style_factor="4n2m2"))
    validate(TransferOptions(style_loss="sliced"))
