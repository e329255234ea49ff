"""Options of training a fast model (``stylekit train``): the transfer's objective, what learns, and the run."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .choices import LR_MAX, MODEL_SUFFIX, N_BUILTIN, PRECISIONS, STEPS_MAX, TUNES
from .common import RunOptions, WeightsDirOptions
from .optimising import ObjectiveOptions
from .outputs import OutputOptions
from .schema import FieldNamer, OptionError, option


@dataclass
class TrainOptions(ObjectiveOptions, RunOptions, WeightsDirOptions):
    """Settings of training a feed-forward model on the transfer's objective, starting from Magenta's network."""

    device: str = option("auto", "cpu, cuda, cuda:N or auto (CUDA when present)", "text", group="network")
    images: str | None = option(None, "folder of photos to learn from, searched recursively; random crops of them "
                                "are stylised (default: the built-in example photos; more varied photos, a few "
                                "hundred everyday scenes, generalise better to new ones)", "path", optional=True,
                                group="training")
    tune: str = option("norms", "what learns: vector (the 100-number style vector: seconds, closest to Magenta), "
                       "norms (the conditional instance norms' scales and shifts, one row per style: Dumoulin et "
                       "al. 2017) or all (every weight of the transformer and the norms)", "choice", choices=TUNES,
                       group="training")
    steps: int = option(200, "training steps (each one batch)", "int", low=1, high=STEPS_MAX, group="training")
    batch_size: int = option(1, "crops per step", "int", low=1, high=256, group="training")
    size: int = option(384, "side of the square training crops in pixels (large crops let the deep layers see "
                       "strokes whole)", "int", low=32, high=2048,
                       group="training")
    style_size: int = option(512, "the output size the model is made for: the long side the style images are "
                             "read at and the photos are cut from (their strokes come out as a transfer of that size "
                             "paints them)", "int", low=32, high=4096, group="training")
    style_scales: int = option(2, "the style is measured on the output as it is and on views each half the size of "
                               "the last, each against the style image at that size (as a transfer's coarse-to-fine "
                               "scales do): large strokes come out large", "int", low=1, high=4, group="training")
    lr: float = option(0.03, "Adam's learning rate", "float", above=0, high=LR_MAX, group="training")
    temporal_weight: float = option(0.0, "video-aware training: weight of the output-consistency loss between each "
                                    "crop and a copy shifted by a few pixels (its exact flow), so the model flickers "
                                    "less (Huang et al. 2017); 0: off", "float", low=0, high=1e6, group="training")
    precision: str = option("auto", "arithmetic of the passes: fp32, bf16 (bfloat16 convolutions, about 2x faster "
                            "on CPUs with native bfloat16), or auto (bf16 where native)", "choice",
                            choices=PRECISIONS, group="training")
    checkpoint_every: int = option(50, "write the model so far to -o every N steps (it is a usable model); 0: only "
                                   "at the end and on Ctrl-C", "int", low=0, high=STEPS_MAX, group="training")

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        self.check_objective(name)
        if self.style_size * self.style_scale > 4096:
            raise OptionError(f"{name('style_size')} times {name('style_scale')} is "
                              f"{self.style_size * self.style_scale:g} px: keep it at 4096 or less")
        if self.images is not None and not Path(self.images).expanduser().is_dir():
            raise OptionError(f"{name('images')} {self.images} is not a folder: give a folder of photos", "images")


@dataclass
class TrainOutput(OutputOptions):
    """The model file a training run writes."""

    output: str | None = option(None, f"model file to write ({MODEL_SUFFIX}); a bare name (no folder, no suffix) is "
                                "saved in --models-dir, where --model NAME finds it (default: the first style's "
                                "name)", "path", group="output", short="-o", flag="--output", optional=True)
    resume: bool = option(False, "continue the training saved in -o (a checkpoint or a finished model) up to "
                          "--steps, with the options it was started with", "bool", group="output")
    overwrite: bool = option(False, "replace an existing -o (default: refuse, so no trained model is lost)", "bool",
                             group="output")


MAX_STYLES = N_BUILTIN  # styles one trained model holds (rows of its norms; --builtin N picks among them)
