"""The result every optimisation method returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from PIL import Image

from ..io import resize, to_pil
from ..optim import OptimResult


Output = Union[Image.Image, tuple[Image.Image, list[dict[str, float]]]]  # an image, or (image, loss history)


@dataclass
class MethodResult:
    """An output image with its loss history; ``interrupted`` when Ctrl-C ended the run early; ``warnings``: lines
    about a run that did not do what was asked (e.g. the image never changed)."""

    image: Image.Image
    history: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_optim(cls, result: OptimResult, size: tuple[int, int]) -> MethodResult:
        """The loop's best image, resized to the requested ``size`` (h, w) if the run stopped at a coarse scale."""
        return cls(to_pil(resize(result.image, size)), result.history, result.interrupted)
