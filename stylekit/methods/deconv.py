"""Zeiler & Fergus's deconvnet ("Visualizing and Understanding Convolutional Networks", 2014; seed 003): a strong
activation of one channel, every other activation of its layer set to zero, projected back to pixel space through
the network run in reverse: unpooling with the switches the forward pass recorded, rectification, and filtering
with the transposed (flipped) filters. And the seed's figure: over a folder of images, the k regions that excite
each channel most, each beside its projection.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..backbones import FeatureExtractor
from ..errors import StylekitError
from ..io import ImageLike, checked_hw, content_files, load_image, resize, to_pil
from ..io.sheets import captioned_grid
from ..planning import megapixels, preflight
from ..optim import Callback, ItemProgress, Scale
from ..options import DeconvOptions, TopImagesOptions, keyword_options, make_options, validate
from .common import check_channels, run_context
from .result import MethodResult

Record = tuple[nn.Module, Any]  # a layer and what its reverse needs (a pooling's switches and input size)
Source = tuple[str, Any]  # (name, a path, an image, or a function returning one): an image read when needed


def forward_with_switches(net: FeatureExtractor, image: torch.Tensor, layer: str) -> tuple[torch.Tensor, list[Record]]:
    """Features of ``image`` (RGB in [0, 1]) at ``layer``, and each layer up to it with its max-pooling switches."""
    layer = net.layer(layer)
    x = net.preprocess(image)
    records: list[Record] = []
    for name, module in net.layers.items():
        if isinstance(module, nn.MaxPool2d):
            size = x.shape[-2:]
            x, switches = F.max_pool2d(x, module.kernel_size, module.stride, module.padding, module.dilation,
                                       ceil_mode=module.ceil_mode, return_indices=True)
            records.append((module, (switches, size)))
        elif isinstance(module, (nn.Conv2d, nn.ReLU)):
            x = module(x)
            records.append((module, None))
        else:
            raise StylekitError(f"the deconvnet runs through convolutions, ReLUs and max pooling only; {name} is a "
                                f"{type(module).__name__} (use `pooling` max)")
        if name == layer:
            break
    return x, records


def project(signal: torch.Tensor, records: Sequence[Record], bgr: bool = False) -> torch.Tensor:
    """The deconvnet: ``signal`` (B, C, H, W) at the last recorded layer, back to the input's pixels (B, 3, H, W)
    in the network's preprocessed units (RGB order): through each layer in reverse, a ReLU rectifies, a max pooling
    unpools to its switches, a convolution filters with its transposed kernel (no bias). The switches of one image
    serve every signal of the batch."""
    x = signal
    for module, extra in reversed(records):
        if isinstance(module, nn.ReLU):
            x = F.relu(x)
        elif isinstance(module, nn.MaxPool2d):
            switches, size = extra
            x = F.max_unpool2d(x, switches.expand(x.shape[0], -1, -1, -1), module.kernel_size, module.stride,
                               module.padding, output_size=size)
        else:
            x = F.conv_transpose2d(x, module.weight, None, module.stride, module.padding, dilation=module.dilation)
    return x.flip(1) if bgr else x


def strongest_units(features: torch.Tensor, channels: Sequence[int]) -> list[tuple[int, int, int, float]]:
    """For each channel, its strongest activation in ``features`` (1, C, H, W): (channel, y, x, value)."""
    out = []
    for c in channels:
        flat = features[0, c].flatten()
        index = int(flat.argmax())
        out.append((c, index // features.shape[-1], index % features.shape[-1], float(flat[index])))
    return out


def unit_projections(net: FeatureExtractor, image: torch.Tensor, layer: str,
                     units: Sequence[tuple[int, int, int]]) -> torch.Tensor:
    """The deconvnet projection of each unit (channel, y, x) of ``layer`` for ``image`` (1, 3, H, W): that one
    activation kept, every other activation of the layer zero. (N, 3, H, W), preprocessed units, RGB order."""
    with torch.no_grad():
        features, records = forward_with_switches(net, image, layer)
        return _project_units(features, records, units, net.bgr)


def _project_units(features: torch.Tensor, records: Sequence[Record], units: Sequence[tuple[int, int, int]],
                   bgr: bool) -> torch.Tensor:
    signal = features.new_zeros((len(units), *features.shape[1:]))
    for i, (c, y, x) in enumerate(units):
        signal[i, c, y, x] = features[0, c, y, x]
    return project(signal, records, bgr)


def receptive_window(net: FeatureExtractor, layer: str, y: int, x: int) -> tuple[int, int, int, int]:
    """The input pixels (top, left, bottom, right; bottom and right exclusive, not clipped to the image) that
    unit (y, x) of ``layer`` sees, for a network of stride-1 'same' convolutions and 2x2 stride-2 poolings."""
    field, jump = net.receptive_field(layer), net.stride(layer)
    start = 0.5 + (jump - 1) / 2  # the centre of unit 0, in pixel-centre coordinates (pixel p is centred at p + 0.5)
    cy, cx = start + y * jump, start + x * jump
    return (math.ceil(cy - field / 2 - 0.5), math.ceil(cx - field / 2 - 0.5),
            math.floor(cy + field / 2 - 0.5) + 1, math.floor(cx + field / 2 - 0.5) + 1)


def normalised(projection: torch.Tensor) -> torch.Tensor:
    """A signed projection (3, H, W) as a picture: zero is mid-grey, and the strongest values (the top 0.5% of
    magnitudes saturate) reach black or white."""
    magnitude = projection.abs().flatten()
    top = torch.quantile(magnitude[:16_000_000].float(), 0.995) if magnitude.numel() > 1 else magnitude.max()
    return (0.5 + projection / (2 * top.clamp_min(1e-12))).clamp(0, 1)


def _crop(image: torch.Tensor, window: tuple[int, int, int, int]) -> torch.Tensor:
    top, left, bottom, right = window
    h, w = image.shape[-2:]
    return image[..., max(0, top):min(h, bottom), max(0, left):min(w, right)]


def _unit_picture(net: FeatureExtractor, layer: str, image: torch.Tensor, position: tuple[int, int],
                  projection: torch.Tensor, side: int) -> Image.Image:
    """The patch of ``image`` (1, 3, H, W) under a unit beside the unit's projection, both cropped to its
    receptive field and scaled so the longer side is ``side`` px."""
    window = receptive_window(net, layer, *position)
    patch, projection = _crop(image[0], window), normalised(_crop(projection, window))
    h, w = patch.shape[-2:]
    scale = side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    left, right = to_pil(resize(patch[None], size)), to_pil(resize(projection[None], size))
    pair = Image.new("RGB", (2 * size[1] + 4, size[0]), "white")
    pair.paste(left, (0, 0))
    pair.paste(right, (size[1] + 4, 0))
    return pair


@dataclass
class Deconv:
    """Projections of some channels' strongest activations in one image, and the sheet that shows them."""

    layer: str
    units: list[tuple[int, int, int, float]]  # (channel, y, x, activation)
    projections: torch.Tensor  # (N, 3, H, W): signed, the network's preprocessed units, RGB
    sheet: Image.Image


def run_deconv(image: ImageLike, options: DeconvOptions | None = None,
               backbone: FeatureExtractor | None = None) -> Deconv:
    """The deconvnet projection of the strongest activation of each chosen channel (``options.channels``, or the
    ``options.top`` channels whose strongest activation is highest) of ``options.layer`` in ``image``."""
    opts = validate(options or DeconvOptions())
    ctx = run_context(opts, [opts.layer], backbone)
    net = ctx.backbone
    src = load_image(image, "image").rgb.to(ctx.device)
    hw = checked_hw(*src.shape[-2:], opts.size, "the image")
    preflight(net, ctx.device, [opts.layer], [Scale(hw, 0)], optimizer=None)
    x = resize(src, hw)
    check_channels(net, opts.layer, opts.channels)
    with torch.no_grad():
        features, records = forward_with_switches(net, x, opts.layer)  # one forward pass serves every unit
        channels = list(opts.channels) if opts.channels else \
            features[0].flatten(1).amax(1).argsort(descending=True)[:opts.top].tolist()
        units = strongest_units(features, channels)
        projections = _project_units(features, records, [(c, y, x_) for c, y, x_, _ in units], net.bgr)
    side = max(96, min(256, net.receptive_field(opts.layer)))
    pictures = [(f"channel {c} · {value:.3g}", _unit_picture(net, opts.layer, x, (y, x_), projection, side))
                for (c, y, x_, value), projection in zip(units, projections)]
    sheet = captioned_grid(pictures, math.ceil(math.sqrt(len(pictures))))
    return Deconv(opts.layer, units, projections.cpu(), sheet)


@keyword_options(DeconvOptions)
def deconv(image: ImageLike, **options: Any) -> Deconv:
    """Deconvnet projections of ``image`` (see :func:`run_deconv`); keyword options are the fields of
    :class:`DeconvOptions` (``layer``, ``channels``, ``top``, ``size``, ``backbone`` ...). The result's ``sheet`` is
    the picture.

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> result = stylekit.deconv(photo, layer="relu2_1", channels=[0, 5], size=32, backbone="scratch")
        >>> [unit[0] for unit in result.units], tuple(result.projections.shape)
        ([0, 5], (2, 3, 24, 32))
    """
    return run_deconv(image, make_options(DeconvOptions, options))


@dataclass(order=True)
class Hit:
    """One channel's strongest activation in one image (ordered by activation)."""

    value: float
    order: int  # minus the image's place in the scan: ties go to the image read first
    rank: int  # minus its rank among the image's regions for the channel: ties go to the stronger
    name: str = field(compare=False)
    source: Any = field(compare=False, repr=False)
    y: int = field(compare=False)
    x: int = field(compare=False)


@dataclass
class TopImages:
    """For each channel, its k strongest image regions in a folder (strongest first), and the sheet."""

    layer: str
    hits: dict[int, list[Hit]]
    skipped: list[str]
    scanned: int
    sheet: Image.Image | None
    interrupted: bool = False


def _analysed(source: Source, size: int | tuple[int, int], device: torch.device) -> torch.Tensor:
    name, image = source
    src = load_image(image() if callable(image) else image, name).rgb.to(device)
    return resize(src, checked_hw(*src.shape[-2:], size, name))


def separated_peaks(activation: torch.Tensor, count: int, apart: int) -> list[tuple[int, int, float]]:
    """Up to ``count`` of a (h, w) map's strongest positions (y, x, value), strongest first, each at least
    ``apart`` cells from every stronger one in y or in x (non-maximum suppression: their receptive fields
    overlap by at most half)."""
    width = activation.shape[-1]
    flat = activation.flatten()
    candidates = flat.topk(min(flat.numel(), max(count * 32, 64)))
    kept: list[tuple[int, int, float]] = []
    for value, position in zip(candidates.values.tolist(), candidates.indices.tolist()):
        y, x = divmod(position, width)
        if all(abs(y - ky) >= apart or abs(x - kx) >= apart for ky, kx, _ in kept):
            kept.append((y, x, value))
            if len(kept) == count:
                break
    return kept


def scan_images(net: FeatureExtractor, sources: Sequence[Source], layer: str, channels: Sequence[int], k: int,
                size: int, device: torch.device, callbacks: Sequence[Callback] = (), per_image: int = 1) \
        -> Iterator[tuple[dict[int, list[Hit]], str | None]]:
    """Stream ``sources``: each image is read, resized to ``size`` on its long side and run to ``layer`` once;
    each channel keeps its k strongest regions in a min-heap, up to ``per_image`` from one image, kept apart by
    their receptive fields (:func:`separated_peaks`), so only k small records per channel are held, never the
    images. Yields the heaps after each image, and a note when it was unreadable and skipped."""
    heaps: dict[int, list[Hit]] = {c: [] for c in channels}
    index = torch.tensor(list(channels), device=device)
    apart = max(1, -(-net.receptive_field(layer) // (2 * net.stride(layer))))
    for order, (name, image) in enumerate(sources):
        note = None
        try:
            x = _analysed((name, image), size, device)
        except StylekitError as exc:
            note = f"skipped {name}: {exc}"
        if note is None:
            with torch.no_grad():
                features = net(x, [layer])[layer][0, index]
            for c, activation in zip(channels, features):
                heap = heaps[c]
                for rank, (y, xx, value) in enumerate(separated_peaks(activation, per_image, apart)):
                    hit = Hit(value, -order, -rank, name, image, y, xx)
                    if len(heap) < k:
                        heapq.heappush(heap, hit)
                    elif hit > heap[0]:
                        heapq.heapreplace(heap, hit)
                    else:
                        break  # the image's weaker regions cannot get in either
        for cb in callbacks:
            cb.on_item(ItemProgress(order + 1, len(sources), name, None))
        yield heaps, note


def run_top_images(folder: str | Path | Sequence[Source], options: TopImagesOptions | None = None,
                   callbacks: Sequence[Callback] = (), backbone: FeatureExtractor | None = None) -> TopImages:
    """The seed's figure over a folder of images (or a list of (name, image) sources, an image being a path, an
    image, or a function returning one): for each channel of ``options.channels``, the ``options.k`` image
    regions (each a different image's receptive field) that excite it most, each beside its deconvnet projection,
    strongest first. Unreadable images are skipped and named in ``skipped``; a Ctrl-C during the scan keeps what
    was scanned (``interrupted``)."""
    opts = validate(options or TopImagesOptions())
    ctx = run_context(opts, [opts.layer], backbone)
    net, layer = ctx.backbone, ctx.backbone.layer(opts.layer)
    check_channels(net, opts.layer, opts.channels)
    if isinstance(folder, (str, Path)):
        sources: list[Source] = [(path.name, path) for path in content_files(Path(folder).expanduser())]
        if not sources:
            raise StylekitError(f"{folder} holds no images (JPEG, PNG, WebP, TIFF or BMP)")
    else:
        sources = list(folder)
        if not sources:
            raise StylekitError("no images to look through: give at least one")
    heaps: dict[int, list[Hit]] = {c: [] for c in opts.channels}
    skipped: list[str] = []
    scanned, interrupted = 0, False
    try:
        for heaps, note in scan_images(net, sources, layer, opts.channels, opts.k, opts.size, ctx.device, callbacks,
                                       opts.per_image or opts.k):
            scanned += 1
            if note:
                skipped.append(note)
    except KeyboardInterrupt:
        interrupted = True
    hits = {c: sorted(heap, reverse=True) for c, heap in heaps.items()}
    sheet = top_images_sheet(net, layer, hits, opts.size, ctx.device) if any(hits.values()) else None
    return TopImages(opts.layer, hits, skipped, scanned, sheet, interrupted)


def top_images_sheet(net: FeatureExtractor, layer: str, hits: dict[int, list[Hit]], size: int,
                     device: torch.device) -> Image.Image:
    """One row per channel: its regions, strongest first, each beside its projection, captioned."""
    side = max(64, min(160, net.receptive_field(layer)))
    by_image: dict[int, list[tuple[int, int, Hit]]] = {}
    for c, row in hits.items():
        for rank, hit in enumerate(row):
            by_image.setdefault(hit.order, []).append((c, rank, hit))
    pairs: dict[tuple[int, int], Image.Image] = {}
    for wanted in by_image.values():  # each image read once more, with all its units projected together
        x = _analysed((wanted[0][2].name, wanted[0][2].source), size, device)
        projections = unit_projections(net, x, layer, [(c, hit.y, hit.x) for c, _, hit in wanted])
        for (c, rank, hit), projection in zip(wanted, projections):
            pairs[(c, rank)] = _unit_picture(net, layer, x, (hit.y, hit.x), projection, side)
    columns = max(len(row) for row in hits.values())
    pictures: list[tuple[str, Image.Image]] = []
    blank = Image.new("RGB", (1, 1), "white")
    for c, row in hits.items():
        for rank in range(columns):
            if rank < len(row):
                hit = row[rank]
                pictures.append((f"ch {c} · {hit.value:.3g} · {Path(hit.name).stem[:16]}", pairs[(c, rank)]))
            else:
                pictures.append(("", blank))
    return captioned_grid(pictures, columns)


@keyword_options(TopImagesOptions)
def top_images(folder: str | Path | Sequence[Source], callbacks: Sequence[Callback] = (), **options: Any) -> TopImages:
    """The top activations of ``folder`` (see :func:`run_top_images`); keyword options are the fields of
    :class:`TopImagesOptions` (``layer``, ``channels``, ``k``, ``size``, ``backbone`` ...).

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> sources = [(name, Image.new("RGB", (40, 32), name)) for name in ("steelblue", "firebrick", "gold")]
        >>> found = stylekit.top_images(sources, layer="relu2_1", channels=[0, 1], k=2, size=32, backbone="scratch")
        >>> found.scanned, {channel: len(hits) for channel, hits in found.hits.items()}
        (3, {0: 2, 1: 2})
    """
    return run_top_images(folder, make_options(TopImagesOptions, options), callbacks)


def job(content: ImageLike, styles: Sequence[ImageLike], options: DeconvOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """The deconvnet sheet of ``content``, as every face shows it."""
    return MethodResult(run_deconv(content, options).sheet)


def top_images_job(content: ImageLike | None, styles: Sequence[Source], options: TopImagesOptions,
                   callbacks: Sequence[Callback] = ()) -> MethodResult:
    """The top-activations sheet over the pictures ``styles`` ((name, image) pairs), as the page shows it."""
    result = run_top_images(styles, options, callbacks)
    if result.sheet is None:
        raise StylekitError("none of the pictures could be read")
    return MethodResult(result.sheet, interrupted=result.interrupted)


def work(options: DeconvOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixels of the one pass (a top-activations scan: one pass per image)."""
    return (images if isinstance(options, TopImagesOptions) else 1) * megapixels(options.size, content_hw)
