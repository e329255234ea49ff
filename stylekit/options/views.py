"""Options of the views into the network: feature maps, deconvnet projections, top-activation sheets and the layer
list."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .choices import BACKBONES, COLOR_SCALES, COLORMAPS, FEATURE_LAYERS, FEATURE_ORDERS
from .common import NetworkOptions, _layer, _size
from .schema import MAX_SIDE, FieldNamer, OptionError, option


@dataclass
class FeaturesOptions(NetworkOptions):
    """Settings of a feature-map grid; ``figure`` starts from a seed document's figure (see :data:`FIGURES`)."""

    figure: str | None = option(None, "draw a seed document's figure: seed004 is its feature maps of VGG19's "
                                "model.layers[i+1] for ixs = 2, 5, 10, 15, 20 (pool1-pool5), the first 64 channels "
                                "of each on an 8x8 grid in gray, each map scaled on its own, 224x224, one figure "
                                "per layer; options that differ from the defaults still override it", "choice",
                                choices=("seed004",), optional=True, group="feature maps")

    layers: Sequence[str] = option(FEATURE_LAYERS, "comma-separated layers", "names", group="feature maps",
                                   web="feature maps", label="network layers", layers=True,
                                   tip="Which layers of the network to look inside: early ones respond to edges "
                                   "and colours, deeper ones to textures and parts of objects.")
    channels: int = option(16, "channels shown per layer", "int", low=1, high=512, group="feature maps",
                           web="feature maps", label="maps per layer", slider=(1, 64, 1),
                           tip="How many maps to show for each layer; each map shows where one of the network's "
                           "pattern detectors responds.")
    order: str = option("index", "which channels: the first ones, or the highest by mean, max or std activation",
                        "choice", choices=FEATURE_ORDERS, group="feature maps", web="feature maps",
                        label="which maps", tip="Which maps to show: the first ones (index), or the most active by "
                        "average (mean), peak (max) or spread (std).")
    color_scale: str = option("shared", "one colour range per layer, or one per map", "choice",
                              choices=COLOR_SCALES, group="feature maps", web="feature maps", label="colour scale",
                              tip="Shared gives all maps of a layer one brightness range, so they can be compared; "
                              "per-map stretches each map on its own, showing faint ones better.")
    per_layer: bool = option(False, "one figure per layer (OUTPUT_<layer>.png) instead of one sheet", "bool",
                             group="feature maps")
    cmap: str = option("viridis", "matplotlib colour map of the maps (gray: as the seeds' figures)", "choice",
                       choices=COLORMAPS, group="feature maps", web="feature maps", label="colours",
                       tip="The colours the maps are drawn in, from weak to strong response (gray: black to white).")
    size: int | tuple[int, int] = _size(256, "long side the image is resized to (WIDTHxHEIGHT: exactly that "
                                        "size)", "The photo is resized to this longest side in pixels (or width x "
                                        "height) first: bigger shows finer maps but takes longer.")

    def __post_init__(self) -> None:
        """A ``figure`` fills in its settings where the fields keep their defaults."""
        for key, value in FIGURES.get(self.figure or "", {}).items():
            if getattr(self, key) == getattr(type(self), key, None):
                setattr(self, key, value)

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if not self.layers:
            raise OptionError(f"give at least one layer in {name('layers')}")


# The seed documents' figures of the network views: ``stylekit features --figure NAME``.
FIGURES: dict[str, dict[str, object]] = {
    "seed004": {"layers": ("pool1", "pool2", "pool3", "pool4", "pool5"), "channels": 64, "cmap": "gray",
                "size": (224, 224), "per_layer": True, "color_scale": "per-map", "order": "index"},
}


@dataclass
class DeconvOptions(NetworkOptions):
    """Settings of a deconvnet projection (Zeiler & Fergus 2014): strong activations of a layer's channels
    projected back to pixels through the network run in reverse."""

    layer: str = _layer("layer whose activations are projected back to pixels", "deconv",
                        "Which layer of the network to look inside: early ones (relu1, relu2) see edges and colours, "
                        "deeper ones (relu4, relu5) textures and object parts.")
    channels: Sequence[int] | None = option(None, "channels to project, e.g. 3,17,40 or 0-15 (default: the layer's "
                                            "--top most active channels in the image)", "indices", low=0,
                                            optional=True, group="deconv", web="deconv", label="channels",
                                            tip="Which of the layer's filters to show, such as 3,17,40 or 0-15; "
                                            "leave empty to show the ones the picture excites most.")
    top: int = option(9, "without --channels: project the N channels most strongly activated by the image", "int",
                      low=1, high=512, group="deconv", web="deconv", label="strongest channels", slider=(1, 32, 1),
                      tip="How many of the most excited filters to show when no channels are named.")
    size: int | tuple[int, int] = _size(512, "long side the image is analysed at (WIDTHxHEIGHT: exactly that size)")

    def check(self, name: FieldNamer) -> None:
        """The projection unpools through max-pooling switches."""
        if self.pooling != "max":
            raise OptionError(f"the deconvnet unpools through the max-pooling switches: {name('pooling')} must be "
                              f"max, not {self.pooling}", "pooling")


@dataclass
class TopImagesOptions(NetworkOptions):
    """Settings of a top-activations sheet over a folder of images."""

    layer: str = _layer("layer whose channels are examined", "top images",
                        "Which layer of the network to look inside: early ones see edges and colours, deeper ones "
                        "textures and object parts.")
    channels: Sequence[int] = option(tuple(range(16)), "channels to examine, e.g. 0-15 or 3,17,40", "indices",
                                     low=0, group="top images", web="top images", label="channels",
                                     tip="Which of the layer's filters to find pictures for, such as 0-15 or 3,17,40.")
    k: int = option(9, "image regions kept per channel (the strongest over the folder)", "int", low=1,
                    high=64, group="top images", web="top images", label="pictures per channel", slider=(1, 16, 1),
                    tip="How many of the most exciting picture regions to show for each filter.")
    per_image: int | None = option(None, "regions one image may give a channel, kept apart by their receptive "
                                   "fields (non-maximum suppression: overlapping by at most half); default: enough "
                                   "to fill --k from one image", "int", low=1, high=64, optional=True,
                                   group="top images")
    size: int | tuple[int, int] = option(256, "long side each image is analysed at", "size", low=32, high=MAX_SIDE,
                                         group="top images", web="size", label="analysis size",
                       tip="Each picture is shrunk to this longest side before the network looks at it.")


@dataclass
class LayersOptions:
    """``stylekit layers``."""

    backbone: str = option("vgg19", "feature extractor", "choice", choices=BACKBONES, group="network")
    weights: str | None = option(None, "weight file for vgg16/vgg19 (torchvision .pth or Keras .h5)", "path",
                                 optional=True, group="network")
