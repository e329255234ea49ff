"""Options of the fast (feed-forward) stylisation and of the built-in styles' contact sheet."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .choices import FAST_MODELS, MAGENTA_STYLE_SIZE, MODEL_SUFFIX, MODELS_ENV, N_BUILTIN, PRECISIONS, STYLE_SIZE
from .common import WeightsDirOptions, _blend_weights, _color_image, _preserve_color, user_data_folder
from .schema import FieldNamer, LiveChoices, OptionError, option


def models_folder(models_dir: str | os.PathLike | None = None) -> Path:
    """The trained models' folder: ``models_dir``, else ``$STYLEKIT_MODELS_DIR``, else ``stylekit/models`` in the
    user data folder (``$XDG_DATA_HOME``, default ``~/.local/share``)."""
    if models_dir is not None:
        return Path(models_dir).expanduser()
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    return user_data_folder() / "models"


def named_model(name: str, models_dir: str | os.PathLike | None = None) -> Path:
    """The file a trained model's ``name`` stands for in the models folder (``NAME.pt``)."""
    return models_folder(models_dir) / (name + MODEL_SUFFIX)


def trained_models(models_dir: str | os.PathLike | None = None) -> list[str]:
    """The names of the trained models in the models folder (their file names without ``.pt``), sorted; hidden
    files (a model being written) and names that would read as a path are left out."""
    folder = models_folder(models_dir)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix == MODEL_SUFFIX and p.is_file()
                  and p.stem not in FAST_MODELS and not p.name.startswith(".") and not is_model_path(p.stem))


def is_model_path(model: str) -> bool:
    """Whether ``--model`` names a file (it ends in ``.pt`` or holds a folder separator) rather than a name."""
    return model.endswith(MODEL_SUFFIX) or os.sep in model or "/" in model


def trained_model_file(model: str, models_dir: str | os.PathLike | None = None) -> Path | None:
    """The trained model file ``--model`` names (a path, or a name in the models folder); None for the shipped
    models (magenta, microast, wct) and for a name the folder does not hold."""
    if model in FAST_MODELS:
        return None
    path = Path(model).expanduser() if is_model_path(model) else named_model(model, models_dir)
    return path if path.is_file() else None


def fast_models(models_dir: str | os.PathLike | None = None) -> list[str]:
    """The models ``--model`` offers by name: the shipped ones, then the trained ones in the models folder."""
    return [*FAST_MODELS, *trained_models(models_dir)]


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
                        "whitening-colouring cascade on a compressed VGG19, the slowest; or a model you trained "
                        "(stylekit train): its name in --models-dir, or its .pt file (no style image needed)", "text",
                        choices=LiveChoices(fast_models), group="model", web="model", tip="Which ready-made network "
                        "paints the picture: magenta (the quickest, good with any style), microast (the smallest), "
                        "wct (strongest, most painterly, slowest), or one of your trained models (its own styles).")
    builtin: Any = option(None, f"one of the 26-style network's built-in styles (0-{N_BUILTIN - 1}; see 'stylekit "
                          "styles'), or a blend such as 3:0.5,12:0.5; no style image needed; with a trained --model, "
                          "its styles (default: its first)", "mix", low=0,
                          high=N_BUILTIN - 1, optional=True, group="model", web="model", label="built-in style",
                          tip=f"Use one of the {N_BUILTIN} ready-made styles (numbered 0 to {N_BUILTIN - 1}) instead "
                          "of a style image, or mix several, such as 3:0.5,12:0.5.",
                          metavar="N[:W],...")
    alpha: float = option(1.0, "style strength, 0 (content) to 1", "float", low=0, high=1, group="model",
                          web="model", label="style strength", slider=(0, 1, 0.05),
                          tip="How much of the style to apply: 1 is the full style, 0 leaves the photo as it is.")
    style_blend_weights: Sequence[float] | None = _blend_weights()
    preserve_color: str = _preserve_color()
    color_image: Any = _color_image()
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
    stroke_scale: float = option(1.0, "size of the brush strokes: 2 runs the network at half the size and brings "
                                 "the result back to full resolution guided by the photo's detail (a guided "
                                 "filter), so a large picture keeps painterly strokes, and it runs faster; 1: the "
                                 "network at the output's own size", "float", low=1, high=16, group="model",
                                 web="model", label="stroke size", slider=(1, 4, 0.25),
                                 tip="Larger makes bigger brush strokes (and is quicker): the picture is painted "
                                 "smaller, then brought back to full size with the photo's detail.")
    precision: str = option("fp32", "arithmetic of the network: fp32, bf16 (bfloat16 convolutions: about 1.4x "
                            "faster on CPUs with native bfloat16, pixels off by 1-6 levels on average), or auto "
                            "(bf16 where native)", "choice", choices=PRECISIONS, group="model")
    mask: Any = option(None, "wct, two styles: an image whose bright part gets the first style, dark part the "
                       "second (the same as --masks with one mask)", "image", optional=True, group="model")
    masks: Sequence[Any] | None = option(None, "one grayscale image per style image (or per --builtin style), "
                                         "comma-separated, placing it: white is that style's region, grey blends; "
                                         "styles beyond the masks fill what no mask claims (magenta, microast, the "
                                         "built-in and trained models mix their style codes per pixel; wct: two "
                                         "styles, one mask)", "images", optional=True, group="model")

    @property
    def trained(self) -> Path | None:
        """The trained model file ``model`` names, if it names one."""
        return trained_model_file(self.model, self.models_dir)

    @property
    def style_side(self) -> int | tuple[int, int]:
        """The style images' size, with the model's default filled in."""
        if self.style_size is not None:
            return self.style_size
        return MAGENTA_STYLE_SIZE if self.model == "magenta" else STYLE_SIZE

    def check(self, name: FieldNamer, n_styles: int | None = None) -> None:
        """Cross-field checks; with ``n_styles``, those that depend on the style images too."""
        trained = self.model not in FAST_MODELS
        if trained and self.trained is None:
            where = ("no such file" if is_model_path(self.model)
                     else f"no {self.model}{MODEL_SUFFIX} in {models_folder(self.models_dir)}")
            raise OptionError(f"{name('model')} {self.model!r}: {where}; use {', '.join(FAST_MODELS)}, a trained "
                              "model's name ('stylekit styles' lists them) or a .pt file from 'stylekit train'",
                              "model")
        if trained:
            for field, default in (("style_blend_weights", None), ("style_size", None), ("mask", None),
                                   ("levels", 5)):
                if getattr(self, field) != default:
                    raise OptionError(f"{name(field)} does not apply to a trained {name('model')} (it paints its "
                                      f"own styles; mix them with {name('builtin')}, e.g. 0:0.5,1:0.5)")
            if n_styles:
                raise OptionError(f"a trained {name('model')} paints its own styles: give no style image (choose "
                                  f"among its styles with {name('builtin')})")
            return
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
        if self.masks and self.mask is not None:
            raise OptionError(f"give {name('mask')} or {name('masks')}, not both")
        if self.masks and self.style_blend_weights is not None:
            raise OptionError(f"give {name('masks')} or {name('style_blend_weights')}, not both: with masks each "
                              "style has its own region, and the styles beyond the masks share the rest equally")
        if self.masks and self.model == "wct" and (n_styles != 2 or len(self.masks) != 1):
            raise OptionError(f"the wct model places two style images by one mask: give two styles and one "
                              f"{name('masks')} image")
        placed = n_styles or len(self.builtin or [(0, 1.0)])
        if self.masks and len(self.masks) > placed:
            raise OptionError(f"{len(self.masks)} {name('masks')} for {placed} style{'s' if placed > 1 else ''}: "
                              "give at most one mask per style, in the same order")
