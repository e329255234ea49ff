"""The fast method as every face runs it (see :mod:`stylekit.options.registry`): one stylisation, its work for
the web page's estimate, and a batch worker's peak memory."""
from __future__ import annotations

from collections.abc import Sequence

from ..io import ImageLike, target_hw
from ..methods.result import MethodResult
from ..optim import Callback
from ..options import FastOptions
from ..planning import megapixels
from .stylize import FastStylizer, image_peak_bytes


def job(content: ImageLike, styles: Sequence[ImageLike], options: FastOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """One fast stylisation of ``content``; the callbacks hear the stages (loading the model, stylising)."""
    for callback in callbacks:
        callback.on_stage("loading the model")
    stylizer = FastStylizer(styles, options)
    for callback in callbacks:
        callback.on_stage("stylising")
    return MethodResult(stylizer.stylize_image(content))


def work(options: FastOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixels of the one pass, at the content size the options give."""
    return megapixels(options.content_size, content_hw)


def worker_peak(options: FastOptions, hw: tuple[int, int], styles: Sequence[tuple[int, int]] = ()) -> int:
    """Peak memory (bytes) of stylising an image of (h, w) px as given (before ``content_size``)."""
    return image_peak_bytes(options, target_hw(*hw, options.content_size))
