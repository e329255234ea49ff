"""The contact sheet of the styles a fast model holds: a content image in each of the 26-style network's built-in
styles (numbered as ``--builtin`` takes them), then in each style of the trained models in the models folder."""
from __future__ import annotations

import torch
from PIL import Image

from ..devices import resolve_device
from ..errors import StylekitError
from ..io import ImageLike, load_image, resize_to, to_pil
from ..io.sheets import captioned_grid
from ..options import StylesOptions, validate
from ..options.feedforward import named_model, trained_models
from .magenta import MultiStyle, RowStyles
from .model import pad_to
from .trained import Trained
from .weights import resolve


@torch.no_grad()
def row_styles(net: RowStyles, x: torch.Tensor) -> list[Image.Image]:
    """(1, 3, H, W) content ``x`` in each style of ``net``, in order."""
    h, w = x.shape[-2:]
    padded = pad_to(x, net.multiple, net.min_content)
    eye = torch.eye(net.rows, device=x.device)
    return [to_pil(net.stylize(padded, eye[i:i + 1])[..., :h, :w]) for i in range(net.rows)]


def builtin_styles(content: ImageLike, options: StylesOptions | None = None) -> list[Image.Image]:
    """``content`` (long side ``options.size``) in each built-in style, in order 0 to 25."""
    opts = validate(options or StylesOptions())
    device = resolve_device(opts.device)
    x = resize_to(load_image(content, "content").rgb, opts.size).to(device)
    with torch.random.fork_rng(devices=[]):
        net = MultiStyle()
    return row_styles(net.load_files(resolve("multistyle26", opts.weights_dir)).to(device), x)


def trained_styles(content: ImageLike, options: StylesOptions | None = None) -> list[tuple[str, Image.Image]]:
    """``content`` in each style of each usable trained model in the models folder, captioned ``MODEL`` (one style)
    or ``MODEL N`` (as ``--model MODEL --builtin N`` takes it)."""
    opts = validate(options or StylesOptions())
    device = resolve_device(opts.device)
    x = resize_to(load_image(content, "content").rgb, opts.size).to(device)
    found = []
    for name in trained_models(opts.models_dir):
        with torch.random.fork_rng(devices=[]):
            net = Trained()
        try:
            net = net.load_files({"model": named_model(name, opts.models_dir)}).to(device)
        except StylekitError:  # an unusable file ('stylekit styles' lists why)
            continue
        pictures = row_styles(net, x)
        found += [(name if len(pictures) == 1 else f"{name} {i}", picture) for i, picture in enumerate(pictures)]
    return found


def contact_sheet(content: ImageLike, options: StylesOptions | None = None) -> Image.Image:
    """One image: the content ("original"), the 26 built-in styles, then the trained models' styles,
    ``options.columns`` per row, each captioned."""
    opts = validate(options or StylesOptions())
    x = resize_to(load_image(content, "content").rgb, opts.size)
    pictures = [("original", to_pil(x))] + [(f"{i}", image) for i, image in enumerate(builtin_styles(x, opts))]
    return captioned_grid(pictures + trained_styles(x, opts), opts.columns)
