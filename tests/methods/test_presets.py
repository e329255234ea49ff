"""Each preset's objective equals its document's loss, written here from the formula as the document prints it
(NumPy, not stylekit's objectives); each preset runs, lowers that loss and changes the image."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from stylekit.methods.gatys import run_transfer, transfer_objective
from stylekit.objectives import functional as F
from stylekit.options import PRESETS, OptionError, TransferOptions, make_options

# Scratch layers for the presets' VGG layers (same count and depth order; scratch has no block5_conv4).
SCRATCH_LAYERS = {"block5_conv4": "block5_conv2"}


def _np(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) float tensor -> (H, W, C) float64, the documents' layout."""
    t = t.detach().double()
    return (t[0] if t.dim() == 4 else t).permute(1, 2, 0).numpy()


def gram(f: np.ndarray) -> np.ndarray:
    """F·Fᵀ of (H, W, C) features reshaped to (C, H·W), as every document writes it."""
    flat = f.transpose(2, 0, 1).reshape(f.shape[2], -1)
    return flat @ flat.T


def _setup(name: str, scratch, **over):
    opts = make_options(TransferOptions, {"preset": name, "backbone": "scratch", **over})
    opts.content_layers = tuple(SCRATCH_LAYERS.get(n, n) for n in opts.content_layers)
    gen = torch.Generator().manual_seed(3)
    content, style, image = (torch.rand(1, 3, 24, 32, generator=gen) for _ in range(3))
    objective = transfer_objective(content, [style], opts, scratch)
    layers = sorted(objective.layers)
    value = float(objective(image, scratch(image, layers)))
    feats = {k: _np(v) for k, v in scratch(image, [*opts.content_layers, *opts.style_layers]).items()}
    cfeats = {k: _np(v) for k, v in scratch(content, opts.content_layers).items()}
    sfeats = {k: _np(v) for k, v in scratch(style, opts.style_layers).items()}
    return opts, value, image, feats, cfeats, sfeats


def _caffe(image: torch.Tensor) -> np.ndarray:
    """The documents' optimised array: Keras/Caffe VGG input, BGR in 0-255 minus the ImageNet mean, (H, W, C)."""
    return _np(image)[:, :, ::-1] * 255 - np.array([103.939, 116.779, 123.68])


def test_sgd_simple_is_seed_000(scratch):
    opts, value, _, f, c, s = _setup("sgd-simple", scratch)
    content = sum(0.5 * np.sum((f[k] - c[k]) ** 2) for k in opts.content_layers)
    style = sum(np.mean((gram(f[k]) - gram(s[k])) ** 2) for k in opts.style_layers)
    assert value == pytest.approx(content * 2e-5 + style * 1e-4, rel=1e-5)


def test_tf_eager_is_seed_001(scratch):
    opts, value, _, f, c, s = _setup("tf-eager", scratch)

    def gram_hw(x):
        return gram(x) / (x.shape[0] * x.shape[1])

    style = sum(1 / 5 * np.mean((gram_hw(f[k]) - gram_hw(s[k])) ** 2) for k in opts.style_layers)
    content = sum(np.mean((f[k] - c[k]) ** 2) for k in opts.content_layers)
    assert value == pytest.approx(1e-2 * style + 1e3 * content, rel=1e-5)


def test_noise_init_is_seed_002_with_stylekits_numbers(scratch):
    opts, value, _, f, c, s = _setup("noise-init", scratch)

    def gram_chw(x):
        return gram(x) / x.size

    style = sum(0.25 * np.sqrt(np.mean((gram_chw(f[k]) - gram_chw(s[k])) ** 2)) for k in opts.style_layers)
    content = sum(np.mean((f[k] - c[k]) ** 2) for k in opts.content_layers)
    assert value == pytest.approx(0.1 * style + content, rel=1e-5)


def test_keras_lbfgs_is_seed_003(scratch):
    opts, value, image, f, c, s = _setup("keras-lbfgs", scratch)
    content = 500 * np.sum((f["block4_conv2"] - c["block4_conv2"]) ** 2)
    style = 0.0
    for w, layer in zip((10, 10, 50, 10, 10), opts.style_layers):
        h, wd = f[layer].shape[:2]
        style += w * (1 / 5) * np.sum((gram(f[layer]) - gram(s[layer])) ** 2) / (2 * h * wd) ** 2
    x = _caffe(image)[None]
    a = (x[:, :-1, :-1, :] - x[:, 1:, :-1, :]) ** 2
    b = (x[:, :-1, :-1, :] - x[:, :-1, 1:, :]) ** 2
    tv = 200 * np.sum(a + b)
    assert value == pytest.approx(content + style + tv, rel=1e-5)


def test_tf_adam_is_seed_004(scratch):
    opts, value, image, f, c, s = _setup("tf-adam", scratch)
    weights = {"block1_conv1": 1, "block2_conv1": 2, "block3_conv1": 7, "block4_conv1": 1, "block5_conv1": 4}
    style = sum(weights[k] * np.mean((gram(f[k]) - gram(s[k])) ** 2) for k in opts.style_layers) * 2e-5 / 5
    content = sum(np.mean((f[k] - c[k]) ** 2) for k in opts.content_layers) * 5e5 / 1
    x = _np(image)  # tf.image.total_variation of the [0, 1] image
    tv = 10 * (np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum())
    assert value == pytest.approx(style + content + tv, rel=1e-5)


def test_gatys2016_is_the_papers_equations(scratch):
    opts, value, _, f, c, s = _setup("gatys2016", scratch)
    content = 0.5 * np.sum((f["relu4_2"] - c["relu4_2"]) ** 2)  # eq. 1
    style = 0.0
    for layer in opts.style_layers:
        h, w, n = f[layer].shape
        style += 0.2 * np.sum((gram(f[layer]) - gram(s[layer])) ** 2) / (4 * n**2 * (h * w) ** 2)  # eqs. 4-5
    assert value == pytest.approx(1 * content + 1e3 * style, rel=1e-5)  # eq. 7, alpha/beta = 1e-3


def test_neural_style_is_neural_style_lua(scratch):
    opts, value, image, f, c, s = _setup("neural-style", scratch)
    content = 5 * np.mean((f["relu4_2"] - c["relu4_2"]) ** 2)  # ContentLoss: MSECriterion * strength
    style = 0.0
    for layer in opts.style_layers:  # StyleLoss: Gram / nElement, MSECriterion * strength, per layer
        style += 100 * np.mean((gram(f[layer]) / f[layer].size - gram(s[layer]) / s[layer].size) ** 2)
    x = _caffe(image)  # TVLoss: its gradient is that of 0.5 * sum of squared differences
    x_diff = x[:-1, :-1, :] - x[:-1, 1:, :]
    y_diff = x[:-1, :-1, :] - x[1:, :-1, :]
    tv = 1e-3 * 0.5 * np.sum(x_diff**2 + y_diff**2)
    assert value == pytest.approx(content + style + tv, rel=1e-5)


def test_seed_003_check_values_come_out_of_stylekits_functions():
    np.random.seed(1)
    base, output = np.random.randn(10, 10, 3), np.random.randn(10, 10, 3)

    def chw(a):
        return torch.from_numpy(a).permute(2, 0, 1)

    assert float(F.content_loss(chw(output), chw(base), relative=False, reduction="sum")) == pytest.approx(
        605.62195, rel=1e-6)
    np.random.seed(1)
    x = np.random.randn(10, 10, 3)
    expected = np.array([[99.75723, -9.96186, -1.4740534], [-9.96186, 86.854324, -4.141108],
                         [-1.4740534, -4.141108, 82.30106]])
    np.testing.assert_allclose(F.gram_matrix(chw(x), "none").numpy(), expected, rtol=1e-6)
    np.random.seed(1)
    x, y = np.random.randn(10, 10, 3), np.random.randn(10, 10, 3)
    assert float(F.style_loss(chw(y), chw(x), "none", False, "sum", "2hw-squared")) == pytest.approx(
        0.09799164, rel=1e-6)
    np.random.seed(1)
    x = np.random.randn(1, 10, 10, 3)
    assert float(F.total_variation(torch.from_numpy(x).permute(0, 3, 1, 2), reduction="sum")) == pytest.approx(
        937.0538, rel=1e-6)


@pytest.mark.vgg
@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_lowers_its_loss_and_changes_the_image(name, sample_images):
    content, style = sample_images / "portrait.jpg", sample_images / "starry_night.jpg"
    opts = make_options(TransferOptions, {"preset": name, "seed": 0, "size": 64,
                                          "steps": 2 if name == "keras-lbfgs" else 10})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a preset that stalls would warn
        result = run_transfer(content, style, opts)
    losses = [h["loss"] for h in result.history]
    assert min(losses[1:]) < 0.9 * losses[0]
    start = np.asarray(run_transfer(content, style, dataclasses.replace(opts, steps=1)).image, dtype=float)
    assert np.abs(np.asarray(result.image, dtype=float) - start).mean() > 2


def test_every_given_option_overrides_the_preset():
    opts = make_options(TransferOptions, {"preset": "tf-eager", "steps": 7, "style_weight": 3.0})
    assert (opts.steps, opts.style_weight, opts.optimizer, opts.lr, opts.gram_normalize) == ((7,), 3.0, "adam", 10.0,
                                                                                             "hw")
    with pytest.raises(OptionError, match="unknown preset 'nope'.*tf-eager"):
        make_options(TransferOptions, {"preset": "nope"})


def test_literal_recipes_in_stylekits_conventions_warn_instead_of_failing_silently(scratch, content_path,
                                                                                   style_path):
    # seed 000's weights typed into stylekit's scale-free losses: the image cannot move
    tiny = TransferOptions(backbone="scratch", size=32, steps=12, min_size=None, content_weight=2e-5,
                           style_weight=1e-4, tv_weight=0, early_stopping=False, seed=0)
    with pytest.warns(UserWarning, match="start image unchanged"):
        result = run_transfer(content_path, style_path, tiny, backbone=scratch)
    assert any("unchanged" in w for w in result.warnings) and "sgd-simple" in result.warnings[0]
    # seed 001's Adam lr 10 on [0, 1] pixels: every step overshoots
    wild = dataclasses.replace(tiny, content_weight=1e3, style_weight=1e-2, optimizer="adam", lr=10.0,
                               init="noise")
    with pytest.warns(UserWarning, match="never went below its first value.*too large"):
        run_transfer(content_path, style_path, wild, backbone=scratch)


LITERAL = {  # the seeds' numbers as a reader types them from the documents, without --preset
    "tf-adam": {"content_weight": 5e5, "style_weight": 2e-5, "tv_weight": 10, "optimizer": "adam", "lr": 0.02,
                "adam_beta1": 0.99, "adam_eps": 0.1},
    "keras-lbfgs": {"content_weight": 500, "style_weight": 1, "style_layer_weights": (10, 10, 50, 10, 10),
                    "tv_weight": 200, "init": "noise", "content_layers": ("block4_conv2",)},
    "sgd-simple": {"content_weight": 2e-5, "style_weight": 1e-4, "optimizer": "sgd", "lr": 1e-4},
}


@pytest.mark.parametrize("preset", list(LITERAL))
def test_a_tutorial_s_numbers_without_its_preset_get_a_warning_naming_it(preset, content_path, style_path):
    import stylekit
    from stylekit.errors import StylekitWarning

    with pytest.warns(StylekitWarning) as caught:
        stylekit.transfer(content_path, style_path, size=32, steps=2, backbone="scratch", seed=0, **LITERAL[preset])
    said = [str(w.message) for w in caught if "look like" in str(w.message)]
    assert said and f"`preset` {preset}" in said[0] and said[0].startswith("these look like seed 00")


def test_the_preset_itself_or_default_numbers_get_no_recipe_warning(content_path, style_path, recwarn):
    import stylekit

    stylekit.transfer(content_path, style_path, size=32, steps=2, backbone="scratch", seed=0)
    stylekit.transfer(content_path, style_path, size=32, steps=2, backbone="scratch", seed=0, preset="tf-adam")
    assert not [w for w in recwarn if "look like" in str(w.message) or "orders of magnitude" in str(w.message)]


def test_weights_far_from_the_scale_free_range_or_terms_far_apart_are_said():
    from stylekit.options import TransferOptions
    from stylekit.options.presets import recipe_note

    assert "far outside" in recipe_note(TransferOptions(content_weight=3e6), TransferOptions())
    note = recipe_note(TransferOptions(), TransferOptions(), {"content:relu4_2": 1e-7, "style:relu1_1": 5.0})
    assert "8 orders of magnitude" in note and "only the style counts" in note
    assert recipe_note(TransferOptions(), TransferOptions(), {"content:relu4_2": 0.8, "style:relu1_1": 5.0}) is None
