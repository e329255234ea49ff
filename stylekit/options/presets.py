"""Presets: the settings of the tutorials stylekit was built from (docs/recipes.md), of the Gatys et al. paper and
of jcjohnson/neural-style, as values of the transfer's options. Each runs its document's own layers, loss
formulas, weights and optimizer; where the printed code is broken or cannot run here, ``deviations`` says what was
done instead and why (docs/recipes.md has the same list with results).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

KERAS_STYLE = tuple(f"block{i}_conv1" for i in range(1, 6))  # = relu1_1 ... relu5_1
NS_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# What every preset fixes whatever stylekit's defaults are: raw losses, N iterations on one scale, every step run.
_RAW = {"relative": False, "min_size": None, "early_stopping": False, "style_blend_weights": None,
        "preserve_color": "none", "style_scale": 1.0, "tv_kind": "squared", "tv_reduction": "mean",
        "style_factor": "none", "normalize_gradients": False, "sgd_normalize": False, "restart_every": 0,
        "evals_per_step": 1, "line_search": "none", "style_resize": "long-side", "init": "content",
        "noise": "uniform", "clamp": True, "precision": "fp32", "style_loss": "gram", "quality": "normal",
        "keep_best": True, "backbone": "vgg19", "pooling": "max", "save_every": 0, "save_name": "{stem}_{step:05d}"}


@dataclass(frozen=True)
class Preset:
    """A named set of option values with where it comes from and how it deviates from the printed recipe."""

    name: str
    source: str
    summary: str  # one line: what it is and how it deviates
    values: Mapping[str, Any]
    deviations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType({**_RAW, **self.values}))


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "sgd-simple", "seed 000, 'Neural Style Transfer in a Most Simple Way' (Egesabanci)",
        "VGG19, unnormalised Grams, style mean((G-A)^2), content 0.5*sum((F-P)^2), weights 2e-5/1e-4, plain SGD "
        "from the content, 50 steps; SGD lr 1e-4 diverges on these losses, so each step moves pixels by 2 levels",
        {"content_layers": ("block5_conv2",), "content_layer_weights": (1.0,), "style_layers": KERAS_STYLE,
         "style_layer_weights": (1.0,), "content_weight": 2e-5, "style_weight": 1e-4, "tv_weight": 0.0,
         "gram_normalize": "none", "content_reduction": "half-sum", "style_reduction": "mean",
         "pixel_space": "255", "optimizer": "sgd", "lr": 2.0, "sgd_normalize": True, "momentum": 0.0, "steps": 50,
         "keep_best": False,
         "size": 512},
        deviations=(
            "The printed code wraps the uint8 photo in tf.Variable, which cannot take gradient steps: the image is "
            "optimised as floats in 0-255.",
            "Literally, SGD with lr 1e-4 on these raw losses diverges: the Gram terms are about 1e13 at 256 px and "
            "1e14 at 512 px, the first step throws 0-255 pixels far out of range and the loss grows 2000-fold. The "
            "gradient's scale grows with the image area, so no fixed lr suits every size: stylekit keeps the "
            "formulas, the weights and plain SGD, and divides each gradient by its mean magnitude with lr 2 "
            "(--sgd-normalize --lr 2: pixels move about 2 levels per step, at any size).",
            "'--backbone scratch' stands for the seed's from-scratch extractor (random weights).",
            "The seed reads both photos at their own size (skimage.io.imread, no resize): the preset makes the "
            "output 512 px on its long side (--size) and the style the same long side at its own aspect "
            "(--style-resize long-side); give --size WxH of your photo to keep its size.",
            "The seed never clamps its pixels (a tf.Variable of floats): the preset keeps them in 0-255 after every "
            "step (--no-clamp: clamped only when saved, as the seed's image would be shown).",
        )),
    Preset(
        "tf-eager", "seed 001, 'Neural Artistic Style Transfer using Tensorflow' (TF eager-execution notebook)",
        "VGG19, Gram/(H*W), reduce_mean losses, 1/L per layer, content 1e3, style 1e-2, Adam lr 10 on 0-255 "
        "preprocessed pixels clipped to range, 1000 steps, best image kept, intermediates every 100; no TV",
        {"content_layers": ("block5_conv2",), "content_layer_weights": None, "style_layers": KERAS_STYLE,
         "style_layer_weights": None, "content_weight": 1e3, "style_weight": 1e-2, "tv_weight": 0.0,
         "gram_normalize": "hw", "content_reduction": "mean", "style_reduction": "mean",
         "pixel_space": "255", "optimizer": "adam", "lr": 10.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
         "adam_eps": 1e-8, "steps": 1000, "keep_best": True, "size": 512, "save_every": 100},
        deviations=(
            "compute_loss unpacks two loss weights into three and total_variation_loss is never defined: the "
            "variation weight is 0 (the article defines no TV loss).",
            "The notebook's image loader caps the long side at 512 px: --size 512.",
        )),
    Preset(
        "noise-init", "seed 002, 'What is Neural Style Transfer?' (blog post, no numbers given)",
        "VGG19 from random pixels, content at the top conv layer (block5_conv4), style on block1-4_conv1, RMS "
        "Gram distance, no variation loss; weights, Gram scaling and optimizer chosen by stylekit",
        {"content_layers": ("block5_conv4",), "content_layer_weights": None,
         "style_layers": KERAS_STYLE[:4], "style_layer_weights": None, "content_weight": 1.0,
         "style_weight": 0.1, "tv_weight": 0.0, "gram_normalize": "chw", "content_reduction": "mean",
         "style_reduction": "rms", "pixel_space": "unit", "init": "noise", "noise": "uniform",
         "optimizer": "lbfgs", "lr": 1.0, "steps": (200, 100, 60), "min_size": 256, "size": 512},
        deviations=(
            "The post gives no weights, optimizer or step counts: content 1, style 0.1 on Grams divided by C*H*W "
            "(the style terms then start about ten times the content term; at style 10 and above the content never "
            "shows, at 0.02 the picture is noisy), L-BFGS, 200/100/60 steps on three scales from 256 px (from noise a "
            "single 512-px scale needs several times the steps for the same look).",
            "'Lower-intermediate' style layers read as block1_conv1 ... block4_conv1; 'the top-most convolution "
            "layer' as block5_conv4.",
        )),
    Preset(
        "keras-lbfgs", "seed 003, 'Neural Style Transfer: Creating Art with Deep Learning' (Keras, TOPBOTS)",
        "content block4_conv2 sum((F-P)^2), style sum((G-A)^2)/(2HW)^2 x (10,10,50,10,10)/5, squared TV, weights "
        "500/200, uniform(0,255)-128 noise, fmin_l_bfgs_b maxfun 20 restarted 50 times; VGG19 instead of VGG16",
        {"content_layers": ("block4_conv2",), "content_layer_weights": (1.0,), "style_layers": KERAS_STYLE,
         "style_layer_weights": (2.0, 2.0, 10.0, 2.0, 2.0), "content_weight": 500.0, "style_weight": 1.0,
         "tv_weight": 200.0, "gram_normalize": "none", "content_reduction": "sum", "style_reduction": "sum",
         "style_factor": "2hw-squared", "tv_kind": "squared", "tv_reduction": "sum",
         "pixel_space": "255", "clamp": False, "init": "noise", "noise": "centered", "optimizer": "lbfgs",
         "lr": 1.0, "lbfgs_history": 10, "evals_per_step": 20, "line_search": "strong-wolfe", "restart_every": 1,
         "steps": 50, "keep_best": False, "style_resize": "content", "size": 512, "save_every": 10,
         "save_name": "{stem}_at_iteration_{step}"},
        deviations=(
            "Its default convnet is VGG16, whose weights are not shipped here: the preset runs on VGG19 (the "
            "tutorial's convnet='vgg19'). With Keras's vgg16 .h5 or torchvision's vgg16-397923af.pth, add "
            "'--backbone vgg16 --weights FILE'.",
            "fmin_l_bfgs_b (m=10, maxfun=20, More-Thuente line search) becomes torch L-BFGS with history 10, 20 "
            "iterations per step and a strong-Wolfe line search, restarted every step as the outer loop does.",
            "The loop runs range(iterations+1), 51 outer iterations, saving at 0, 10, ... 50: stylekit runs the 50 "
            "iterations the text names and saves after 10, 20, ... 50 as _at_iteration_N.",
            "The output is the content at --size 512 (the code keeps the content's own size); the style is resized "
            "to exactly that size, as preprocess_image(style, new_dims) does.",
        )),
    Preset(
        "tf-adam", "seed 004, 'Implementing Neural Style Transfer' (TensorFlow, BITS Pilani rotunda)",
        "block1-5_conv1 style weighted {1,2,7,1,4}, style 2e-5, content 5e5, variation 10 as "
        "tf.image.total_variation, Adam lr 0.02 beta1 0.99 eps 0.1 clipped to [0,1], 224x224, 4x50 steps",
        {"content_layers": ("block5_conv2",), "content_layer_weights": None, "style_layers": KERAS_STYLE,
         "style_layer_weights": (0.2, 0.4, 1.4, 0.2, 0.8), "content_weight": 5e5, "style_weight": 2e-5,
         "tv_weight": 10.0, "gram_normalize": "none", "content_reduction": "mean", "style_reduction": "mean",
         "tv_kind": "abs", "tv_reduction": "sum", "pixel_space": "unit", "clamp": True, "optimizer": "adam",
         "lr": 0.02, "adam_beta1": 0.99, "adam_beta2": 0.999, "adam_eps": 0.1, "steps": 200, "keep_best": False,
         "size": (224, 224), "style_resize": "content"},
        deviations=(
            "gram_matrix reshapes to f x mn and then multiplies the unreshaped tensor: the Gram is the text's "
            "F*F^T of the (channels x positions) matrix.",
            "The training loop never calls train_step: each of the 4 epochs runs its 50 steps of train_step.",
            "The layer lists are cut off after their first entry: the printed content list starts with "
            "block1_conv2, but the preset's content layer is block5_conv2, the TensorFlow tutorial's that the "
            "article follows; the style list is the five block{i}_conv1 of style_weights.",
            "The text's Sobel variation loss is --tv-kind sobel; the code (tf.image.total_variation) is the default.",
        )),
    Preset(
        "gatys2016", "Gatys, Ecker & Bethge, 'Image Style Transfer Using Convolutional Neural Networks', CVPR 2016",
        "VGG19 with average pooling, content conv4_2, style conv1_1..conv5_1 at 1/5, E_l = sum((G-A)^2)/(4N^2M^2), "
        "alpha/beta = 1e-3, L-BFGS from white noise; 500 steps at 512 px chosen by stylekit",
        {"content_layers": ("relu4_2",), "content_layer_weights": (1.0,), "style_layers": NS_STYLE,
         "style_layer_weights": None, "content_weight": 1.0, "style_weight": 1e3, "tv_weight": 0.0,
         "gram_normalize": "none", "content_reduction": "half-sum", "style_reduction": "sum",
         "style_factor": "4n2m2", "pooling": "avg", "pixel_space": "255", "clamp": False,
         "init": "noise", "noise": "uniform", "optimizer": "lbfgs", "lr": 1.0, "lbfgs_history": 100,
         "steps": 500, "size": 512},
        deviations=(
            "The paper gives no iteration count: 500 L-BFGS steps at one scale.",
            "Layers are the rectified responses (relu4_2 for 'conv4_2'), as in the paper's Caffe implementation.",
            "Average pooling is rescaled by 2 (as in crowsonkb/style-transfer-pytorch) so activations keep their "
            "max-pooling magnitude; the ratio alpha/beta = 1e-3 is content 1, style 1e3.",
        )),
    Preset(
        "neural-style", "jcjohnson/neural-style, neural_style.lua defaults",
        "content relu4_2 x5, style relu1_1..relu5_1 x100 each, TV 1e-3, Gram/(C*H*W), MSE, 0-255 BGR pixels, "
        "-init random (randn*0.001), L-BFGS (100 corrections), 1000 iterations at 512; same as "
        "'stylekit neural-style'",
        {"content_layers": ("relu4_2",), "content_layer_weights": (1.0,), "style_layers": NS_STYLE,
         "style_layer_weights": (1.0,), "content_weight": 5.0, "style_weight": 100.0, "tv_weight": 1e-3,
         "gram_normalize": "chw", "content_reduction": "mean", "style_reduction": "mean", "tv_kind": "squared",
         "tv_reduction": "half-sum", "pixel_space": "255", "clamp": False, "init": "noise",
         "noise": "faint", "optimizer": "lbfgs", "lr": 1.0, "lbfgs_history": 100, "steps": 1000,
         "keep_best": False, "size": 512},
        deviations=(
            "Torch's optim.lbfgs and torch.optim.LBFGS take the same steps (no line search, first step "
            "min(1, 1/|g|_1)); -normalize_gradients is --normalize-gradients.",
            "The TV module only has a gradient in neural-style (its loss reads 0); stylekit reports its value, "
            "0.5*sum of squared differences, whose gradient that is.",
        )),
)}


def preset_values(name: str, fields: set[str] | None = None) -> dict[str, Any]:
    """The values preset ``name`` sets, limited to ``fields`` when given; a ValueError names the valid presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    values = dict(PRESETS[name].values)
    return {k: v for k, v in values.items() if fields is None or k in fields}


# What a recipe's numbers are, and the loss formulas they assume: a run that types the first without the second
# is told which preset it is copying (see :func:`recipe_note`).
RECIPE_NUMBERS = ("content_weight", "style_weight", "tv_weight", "lr", "adam_beta1", "adam_eps",
                  "style_layer_weights", "content_layers")
RECIPE_FORMULAS = ("relative", "gram_normalize", "content_reduction", "style_reduction", "style_factor", "tv_kind",
                   "tv_reduction", "pixel_space")
SCALE_FREE_WEIGHTS = (1e-3, 1e4)  # content and style weights the scale-free losses are used with


def _same(a: Any, b: Any) -> bool:
    """Two option values alike: numbers within rounding, weight lists in proportion, names exactly."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-30)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if all(isinstance(v, (int, float)) for v in (*a, *b)) and len(a) == len(b) and sum(a) and sum(b):
            return all(_same(x / sum(a), y / sum(b)) for x, y in zip(a, b))
        return tuple(a) == tuple(b)
    return a == b


def recipe_match(options: Any, defaults: Any) -> tuple[Preset, int] | None:
    """The preset whose distinctive numbers (those that differ from ``defaults``) ``options`` repeats most, with
    how many it repeats; None when no preset shares two."""
    best: tuple[Preset, int] | None = None
    for preset in PRESETS.values():
        shared = sum(1 for field in RECIPE_NUMBERS if field in preset.values
                     and not _same(preset.values[field], getattr(defaults, field))
                     and _same(getattr(options, field), preset.values[field]))
        if shared >= 2 and (best is None or shared > best[1]):
            best = (preset, shared)
    return best


def recipe_note(options: Any, defaults: Any, first_terms: Mapping[str, float] | None = None) -> str | None:
    """One line when a run's numbers belong to other loss formulas than its own: a preset's numbers typed without
    the preset (named, with the flag that fixes it), weights far outside the range of the scale-free losses, or
    (from the first step's ``first_terms``) content and style terms orders of magnitude apart. None otherwise, or
    when ``options`` names a preset."""
    if getattr(options, "preset", None):
        return None
    found = recipe_match(options, defaults)
    if found is not None:
        preset = found[0]
        if all(_same(getattr(options, f), preset.values[f]) for f in RECIPE_FORMULAS if f in preset.values):
            return None  # its formulas typed too: the recipe itself
        source = preset.source.split(",")[0]
        whose = f"{source}'s {preset.name}" if source.startswith("seed") else preset.name + "'s"
        return (f"these look like {whose} numbers, which assume its loss formulas: add `preset` {preset.name} "
                f"(see 'stylekit presets {preset.name}')")
    if not getattr(options, "relative", True):
        return None  # raw formulas chosen on purpose: their numbers are the user's to pick
    low, high = SCALE_FREE_WEIGHTS
    outside = [f"`{f}` {getattr(options, f):g}" for f in ("content_weight", "style_weight")
               if getattr(options, f) and not low <= getattr(options, f) <= high]
    if outside:
        one = len(outside) == 1
        return (f"{' and '.join(outside)} {'is' if one else 'are'} far outside the range the scale-free losses use "
                f"({low:g}-{high:g}): {'it looks' if one else 'they look'} like a tutorial's numbers for its own "
                "loss formulas; use its `preset` ('stylekit presets' lists them)")
    if first_terms:
        content = sum(v for k, v in first_terms.items() if k.startswith("content"))
        style = sum(v for k, v in first_terms.items() if k.startswith("style"))
        if content > 0 and style > 0 and not 1e-4 <= content / style <= 1e4:
            apart = abs(math.log10(content / style))
            return (f"the content and style terms are {apart:.0f} orders of magnitude apart at the first step, so "
                    f"only the {'content' if content > style else 'style'} counts: bring `content_weight` and "
                    "`style_weight` closer, or use the `preset` of the recipe these numbers come from")
    return None
