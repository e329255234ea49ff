"""The contact sheet of the 26-style network's built-in styles: a content image in each, numbered as
``--builtin`` takes them."""
from __future__ import annotations

import torch
from PIL import Image

from ..devices import resolve_device
from ..io import ImageLike, load_image, resize_to, to_pil
from ..io.sheets import captioned_grid
from ..options import N_BUILTIN, StylesOptions, validate
from .magenta import MultiStyle
from .model import pad_to
from .weights import resolve

@torch.no_grad()
def builtin_styles(content: ImageLike, options: StylesOptions | None = None) -> list[Image.Image]:
    """``content`` (long side ``options.size``) in each built-in style, in order 0 to 25."""
    opts = validate(options or StylesOptions())
    device = resolve_device(opts.device)
    x = resize_to(load_image(content, "content").rgb, opts.size).to(device)
    with torch.random.fork_rng(devices=[]):
        net = MultiStyle()
    net = net.load_files(resolve("multistyle26", opts.weights_dir)).to(device)
    h, w = x.shape[-2:]
    padded = pad_to(x, net.multiple, net.min_content)
    return [to_pil(net.stylize(padded, torch.eye(N_BUILTIN, device=device)[i:i + 1])[..., :h, :w])
            for i in range(N_BUILTIN)]


def contact_sheet(content: ImageLike, options: StylesOptions | None = None) -> Image.Image:
    """One image: the content ("original") then the 26 styles, ``options.columns`` per row, each captioned."""
    opts = validate(options or StylesOptions())
    x = resize_to(load_image(content, "content").rgb, opts.size)
    pictures = [("original", to_pil(x))] + [(f"{i}", image) for i, image in enumerate(builtin_styles(x, opts))]
    return captioned_grid(pictures, opts.columns)
