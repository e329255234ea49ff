"""The models ``stylekit train`` makes: one file holding a transformer's architecture and weights, one row of
conditional-norm scales and shifts per style it learnt (blended at use time like the 26-style network's), the
styles' names and thumbnails, the training options and the stylekit version (and, while training, what
``--resume`` needs). Files are read with ``torch.load(weights_only=True)``: tensors and plain values only, never
code, so a foreign file cannot run anything; one that is not a stylekit model is refused in one line."""
from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import StylekitError
from ..io import write_atomic
from ..version import __version__
from .magenta import RowStyles

FORMAT = "stylekit-fast-model"
FORMAT_VERSION = 1
THUMBNAIL = 128  # long side of each style's thumbnail in the file


def _refuse(path: str | os.PathLike, why: str) -> StylekitError:
    return StylekitError(f"{path} is not a usable stylekit model ({why}): give a .pt file written by 'stylekit "
                         "train'", "model")


def read_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """The checked contents of a model file (see the module's docstring); a file that is missing, damaged, foreign
    or from a newer stylekit raises :class:`StylekitError` naming it."""
    try:
        data = torch.load(Path(path).expanduser(), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise StylekitError(f"no model file {path}: check the path, or train one with 'stylekit train'",
                            "model") from None
    except Exception:  # a damaged zip, a pickle with code in it, a text file ...
        raise _refuse(path, "not a readable PyTorch file") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _refuse(path, "not a stylekit model file")
    if data.get("format_version") != FORMAT_VERSION:
        raise _refuse(path, f"format {data.get('format_version')!r}, this stylekit reads {FORMAT_VERSION}")
    try:
        arch = data["architecture"]
        contract, expand = [int(c) for c in arch["contract"]], [int(c) for c in arch["expand"]]
        blocks, rows = int(arch["blocks"]), len(data["styles"])
        if len(contract) != 3 or len(expand) != 2 or not all(0 < c <= 1024 for c in contract + expand) \
                or not 0 <= blocks <= 64 or not 0 < rows <= 1024:
            raise ValueError("architecture out of range")
        styles, options, training = data["styles"], data.get("options", {}), data.get("training", {})
        if not isinstance(options, dict) or not isinstance(training, dict) or not all(
                isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("thumbnail"), torch.Tensor)
                and s["thumbnail"].dtype == torch.uint8 and s["thumbnail"].dim() == 3 and s["thumbnail"].shape[2] == 3
                for s in styles):
            raise ValueError("its styles, options or training entries are malformed")
        data["options"], data["training"] = options, training  # both present for every reader
        with torch.random.fork_rng(devices=[]):  # initial weights (overwritten) leave torch's global RNG alone
            net = Trained(contract, blocks, expand, bool(arch["normalize_contract"]), rows)
        net.load_state_dict(data["weights"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise _refuse(path, f"damaged: {str(exc).splitlines()[0][:120]}") from None
    if not all(torch.isfinite(p).all() for p in net.parameters()):
        raise _refuse(path, "its weights hold NaN or infinite values")
    data["network"] = net
    return data


def thumbnail_tensor(image: Image.Image) -> torch.Tensor:
    """A style's thumbnail as the file keeps it: (H, W, 3) uint8, long side :data:`THUMBNAIL`."""
    small = image.convert("RGB")
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    return torch.from_numpy(np.asarray(small).copy())


def thumbnail_jpeg(pixels: torch.Tensor) -> bytes:
    """A stored thumbnail as JPEG bytes (the web page's gallery)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy()).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def write_model_file(path: str | os.PathLike, net: RowStyles, styles: list[dict[str, Any]],
                     options: Mapping[str, Any], training: Mapping[str, Any] | None = None) -> Path:
    """Write ``net`` with its ``styles`` ({"name", "thumbnail"} each), training ``options`` (plain values) and,
    for a resumable run, ``training`` (step, optimizer state ...), atomically."""
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "stylekit": __version__,
            "architecture": net.transformer.architecture(),
            "weights": {k: v.detach().float().cpu().clone() for k, v in net.state_dict().items()},
            "styles": styles, "options": dict(options), "training": dict(training or {})}
    return write_atomic(Path(path), lambda tmp: torch.save(data, tmp))


class Trained(RowStyles):
    """A model trained by ``stylekit train``, loaded from its file (``{"model": path}``)."""

    peak_bytes_per_pixel = (320, None)  # Magenta's transformer, which training starts from (see Magenta)

    def __init__(self, contract: Sequence[int] = (8, 16, 32), blocks: int = 5, expand: Sequence[int] = (16, 8),
                 normalize_contract: bool = False, rows: int = 1) -> None:
        super().__init__(contract, blocks, expand, normalize_contract, rows)  # Magenta's, until a file is loaded

    @torch.no_grad()
    def load_files(self, paths: Mapping[str, str | os.PathLike]) -> Trained:
        """Take the architecture, weights and styles of the model file ``paths["model"]``."""
        data = read_model_file(paths["model"])
        net: Trained = data["network"]
        self.transformer, self.gammas, self.betas = net.transformer, net.gammas, net.betas
        return self.eval().requires_grad_(False)
