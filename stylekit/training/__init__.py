"""Train your own fast model: ``stylekit train STYLE ... -o MODEL.pt`` and :func:`train` (see :mod:`.train`)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import StylekitError
from ..io import ImageLike, check_writable_folder
from ..methods.result import MethodResult
from ..optim import Callback
from ..options import TrainOptions, keyword_options, make_options
from .trainer import Trainer, TrainResult, model_path, training_peak_bytes

__all__ = ["TrainResult", "Trainer", "job", "model_path", "run_training", "train", "training_peak_bytes", "work"]


def run_training(styles: ImageLike | Sequence[ImageLike], options: TrainOptions, output: str | None = None,
                 resume: bool = False, overwrite: bool = False, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """Train a model on ``styles`` with ``options`` into ``output`` (see :func:`train`)."""
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    path = model_path(output, style_list, options.models_dir)
    if path.exists() and not (resume or overwrite):
        raise StylekitError(f"{path} exists: `resume` continues its training, `overwrite` replaces it", "output")
    if resume and overwrite:
        raise StylekitError("`resume` continues the model in the output file and `overwrite` replaces it: give one",
                            "resume")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StylekitError(f"cannot make the folder {path.parent} ({exc.strerror}): choose another `output`",
                            "output") from None
    check_writable_folder(path.parent, "the model file")
    return Trainer(style_list, options, path, resume).run(callbacks)


@keyword_options(TrainOptions)
def train(styles: ImageLike | Sequence[ImageLike], output: str | os.PathLike | None = None, *, resume: bool = False,
          overwrite: bool = False, callbacks: Sequence[Callback] = (), **options: Any) -> Path:
    """Train a fast model on one or more ``styles`` and write it to ``output`` (a ``.pt`` path, or a bare name
    kept in the models folder; default: the first style's name there). Keyword options are the fields of
    :class:`TrainOptions` (``steps``, ``tune``, ``images``, ``style_weight`` ...). ``resume`` continues the
    training saved in ``output``; ``overwrite`` replaces it. Returns the model file's path: give it to
    :func:`stylekit.fast` as ``model=`` (no style image needed). Ctrl-C stops it early: the model so far is written
    and its path returned (:func:`run_training` says whether the run finished).

    Examples:
        >>> import pathlib, tempfile, stylekit
        >>> from PIL import Image
        >>> style = Image.new("RGB", (64, 64), "orange")
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> path = stylekit.train(style, folder / "orange.pt", steps=1, size=32, style_size=64, batch_size=1,
        ...                       backbone="scratch")
        >>> stylekit.fast(Image.new("RGB", (48, 32), "steelblue"), [], model=str(path)).size
        (48, 32)
    """
    return run_training(styles, make_options(TrainOptions, options), None if output is None else str(output), resume,
                        overwrite, callbacks).path


def job(content: ImageLike | None, styles: Sequence[ImageLike], options: TrainOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """One training run into the models folder (named by the first style, replacing a model of that name); the
    result's image is the first training photo in the new model's first style."""
    from ..feedforward import fast
    from ..io.examples import example_content

    result = run_training(styles, options, None, overwrite=True, callbacks=callbacks)
    preview = fast(content if content is not None else example_content(), [], model=str(result.path),
                   device=options.device, content_size=options.size * 2)
    return MethodResult(preview, result.history, result.interrupted)


def work(options: TrainOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixel-steps of a training run: each step's crops (twice with the temporal loss)."""
    crops = options.batch_size * (2 if options.temporal_weight > 0 else 1)
    return options.steps * crops * options.size ** 2 / 1e6
