"""The methods stylekit offers, each declared once: the command line, the web page, the Python API and batch jobs
are all derived from this table. A method is its module (the code) and one :func:`register` call here.

Its module provides, by convention:

- ``job(content, styles, options, callbacks) -> MethodResult``: one run, as every face calls it (``content`` the
  image input or None, ``styles`` the style images, texture source or pictures to scan);
- ``work(options, content_hw, images) -> float``: the megapixel-steps a run takes (the web page's estimate);
- for a batch method, ``worker_peak(options, hw, styles) -> int``: a batch worker's peak memory in bytes;
- the public functions named in ``functions`` (``stylekit.transfer`` ...).

Nothing here imports torch: the module is imported on first use.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from .feedforward import FastOptions
from .optimising import DreamOptions, InvertOptions, TextureOptions, TransferOptions, VisualizeOptions, ZoomOptions
from .outputs import DreamOutput, FastOutput, FigureOutput, OutputOptions, RecordOptions
from .training import TrainOptions, TrainOutput
from .views import DeconvOptions, FeaturesOptions, TopImagesOptions

OPTIMISE, QUICK = "optimise", "quick"  # the web page's lanes: long optimisations, and passes that take a second


@dataclass(frozen=True)
class Input:
    """One positional input of a method: ``kind`` says what it is to the faces (``content``: the image worked
    on; ``styles``: style images; ``style``: one style image (a texture source); ``folder``: pictures to scan)."""

    kind: str
    dest: str
    metavar: str
    help: str
    nargs: str | None = None


@dataclass(frozen=True)
class Method:
    """A method: its names, options, inputs and where its code is; ``title`` empty keeps it off the web page."""

    name: str  # the command and the page's method name
    summary: str  # one line (the CLI's command list)
    description: str  # the command's --help
    options: type
    output: type  # the command line's output options
    inputs: tuple[Input, ...]
    module: str  # its code: job, work (and worker_peak)
    functions: tuple[str, ...] = ()  # its public Python functions, in ``module`` (or as "module:function")
    title: str = ""  # its name on the page
    lane: str = OPTIMISE
    rate: float = 1.0  # seconds per megapixel-step on the reference machine (benchmarks/estimates.py)
    fixed: float = 0.0  # seconds per job on top of its work (loading, drawing)
    batch: bool = False  # offered by ``stylekit batch --method``
    # A batch worker's own memory on top of its run's estimate: Ray's state (with torch and the model loaded, for a
    # fast model, whose estimate covers only the image), fitted so the estimates are 1-32% above the peak RSS
    # measured in workers (docs/benchmarks.md, "Batch on Ray").
    worker_bytes: int = 192 * 2**20
    repaints: bool = False  # its result is the content repainted (the page offers a before/after slider)
    more: tuple[type, ...] = ()  # option classes its command takes besides (loops over runs: dream's zoom)
    job: str = "job"  # the names of its module's functions (two methods can share a module)
    work: str = "work"
    known_as: str = ""  # its technical name, in small type under the plain ``title`` on the page

    def code(self, name: str) -> Any:
        """A function of the method's module (imported on first use)."""
        return getattr(import_module(self.module), name)

    def kinds(self) -> set[str]:
        """The kinds of its inputs."""
        return {i.kind for i in self.inputs}

    @property
    def needs_content(self) -> bool:
        """Whether it works on a content image."""
        return "content" in self.kinds()

    @property
    def styles(self) -> str:
        """The style images the page asks for: ``none``, ``one`` or ``many``."""
        kinds = self.kinds()
        return "many" if "styles" in kinds else "one" if "style" in kinds else "none"

    @property
    def scans_every_picture(self) -> bool:
        """It looks through every picture the page has (a folder on the command line)."""
        return "folder" in self.kinds()


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method to every face (a second one of the same name replaces the first)."""
    METHODS[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a method from every face."""
    METHODS.pop(name, None)


def batch_methods() -> dict[str, type]:
    """The methods ``stylekit batch`` runs, with their options classes."""
    return {m.name: m.options for m in METHODS.values() if m.batch}


# Start images an optimisation can take from a package above it (``--init NAME``): NAME -> "module:function",
# imported on first use; the function takes the content, the style tensors and the options, and paints the start.
STARTS = {"fast": "stylekit.feedforward.stylize:painted_start"}


def start_painter(name: str) -> Callable[..., Any] | None:
    """The function that paints the start image ``--init NAME`` (None when NAME is not one of :data:`STARTS`)."""
    if name not in STARTS:
        return None
    module, _, function = STARTS[name].rpartition(":")
    return getattr(import_module(module), function)


def public_functions() -> dict[str, str]:
    """Each public function's name and the module that defines it."""
    found = {}
    for method in METHODS.values():
        for name in method.functions:
            module, _, name = name.rpartition(":")
            found[name] = module or method.module
    return found


CONTENT = Input("content", "content", "CONTENT", "content image")
STYLES = Input("styles", "styles", "STYLE", "style image(s)", "+")
IMAGE = Input("content", "image", "IMAGE", "image to look at")

register(Method(
    "transfer", "Gatys et al. style transfer", "Repaint CONTENT in the style of one or more STYLE images.",
    TransferOptions, RecordOptions, (CONTENT, STYLES), "stylekit.methods.gatys", ("transfer",),
    "Repaint a photo in a style", OPTIMISE, 2.9, 2.0, batch=True, repaints=True,
    known_as="style transfer by optimisation (Gatys et al.)"))
register(Method(
    "texture", "texture synthesis from a style image",
    "Synthesise a texture with the Gram statistics of STYLE (Gatys et al. 2015), starting from noise, at any size; "
    "several STYLEs are blended, or each placed in its region with --masks.",
    TextureOptions, RecordOptions, (Input("styles", "source", "STYLE", "texture(s) or painting(s) to synthesise "
                                          "from; several are blended, or placed by --masks", "+"),),
    "stylekit.methods.texture_synthesis", ("texture",), "Grow a texture from a painting", OPTIMISE, 2.6, 1.5,
    known_as="texture synthesis (Gatys et al. 2015)"))
register(Method(
    "invert", "reconstruct an image from one layer's features",
    "Feature inversion (Mahendran & Vedaldi 2015): from noise, recover an image whose features at a layer match "
    "IMAGE's.", InvertOptions, RecordOptions,
    (Input("content", "image", "IMAGE", "image whose features are inverted"),),
    "stylekit.methods.inversion", ("invert", "invert_sweep"), "Rebuild a photo from what the network sees",
    OPTIMISE, 3.2, 0.0, repaints=True, known_as="feature inversion (Mahendran & Vedaldi)"))
register(Method(
    "dream", "DeepDream", "Amplify what a layer sees in IMAGE (DeepDream), with octaves, jitter, an optional guide "
    "image and zoom loops.", DreamOptions, DreamOutput, (Input("content", "image", "IMAGE", "image to dream on"),),
    "stylekit.methods.deepdream", ("dream", "dream_zoom"), "Dream patterns into a photo", OPTIMISE, 2.5, 0.3,
    repaints=True, more=(ZoomOptions,), known_as="DeepDream"))
register(Method(
    "features", "grids of feature maps", "Draw the activation maps of the chosen channels of each layer.",
    FeaturesOptions, FigureOutput, (IMAGE,), "stylekit.methods.feature_maps", ("features",),
    "What the network sees, layer by layer", QUICK, 1.0, 1.8, known_as="feature maps"))
register(Method(
    "deconv", "deconvnet projections of a layer's strongest activations",
    "Zeiler & Fergus's deconvnet: the strongest activation of each chosen channel of a layer in IMAGE (the others "
    "of the layer set to zero) projected back to pixels through the network run in reverse (unpooling with the "
    "max-pooling switches, rectification, transposed filters); each beside the image patch under it.",
    DeconvOptions, OutputOptions, (IMAGE,), "stylekit.methods.deconv", ("deconv",),
    "What the network picks out in a photo", QUICK, 1.5, 0.9, known_as="deconvnet projections (Zeiler & Fergus)"))
register(Method(
    "top-images", "the image regions that excite each channel most, over a folder",
    "For each channel, the K regions of the images in FOLDER (each one's receptive field) that excite it most, each "
    "beside its deconvnet projection: Zeiler & Fergus's figure. The folder is streamed, so it may hold thousands of "
    "images; unreadable files are skipped with a note.", TopImagesOptions, OutputOptions,
    (Input("folder", "folder", "FOLDER", "folder of images"),), "stylekit.methods.deconv", ("top_images",),
    "What each detector likes best in my pictures", OPTIMISE, 2.0, 3.0, job="top_images_job",
    known_as="top activations over a folder (Zeiler & Fergus)"))
register(Method(
    "visualize", "pictures that a channel responds to most (activation maximisation)",
    "Draw, from faint noise, the picture that most excites a channel of a layer, with lucid's priors "
    "(decorrelated-colour Fourier parameterisation, random jitter, scaling and rotation); --channels draws several "
    "on a sheet, --diversity several different pictures of each.", VisualizeOptions, RecordOptions, (),
    "stylekit.methods.visualize", ("visualize",), "The picture a detector likes best", OPTIMISE, 2.2, 0.5,
    known_as="activation maximisation (lucid)"))
register(Method(
    "fast", "fast feed-forward arbitrary style transfer",
    "Stylise CONTENT (or every image in a folder) in one forward pass of a pretrained network: an arbitrary-style "
    "one (Magenta's, MicroAST or a WCT cascade) with STYLE images, or the 26-style network with --builtin N (see "
    "'stylekit styles').", FastOptions, FastOutput,
    (Input("content", "content", "CONTENT", "content image, or a folder of images (batch mode)"),
     Input("styles", "styles", "STYLE", "style image(s); none with --builtin", "*")),
    "stylekit.feedforward.method",
    ("stylekit.feedforward.stylize:fast", "stylekit.feedforward.stylize:fast_batch"),
    "Repaint a photo in a style, in one pass", QUICK,
    0.6, 0.1, batch=True, worker_bytes=320 * 2**20, repaints=True, known_as="fast style transfer (a trained network)"))
register(Method(
    "train", "train your own fast model on one or more styles",
    "Train a feed-forward model that paints photos in the style of STYLE (several: one model, one row each, blended "
    "at use time with --builtin 0:0.5,1:0.5) in one pass: the transfer's objective (its layers, weights and "
    "--style-loss) on random crops of --images, starting from Magenta's arbitrary network so a CPU gets a good "
    "model in minutes. The model file is written every --checkpoint-every steps and on Ctrl-C (each one a usable "
    "model; --resume continues it); use it with 'stylekit fast CONTENT -o OUT --model MODEL.pt', video, batch and "
    "the web page.", TrainOptions, TrainOutput, (Input("styles", "styles", "STYLE", "style image(s) to learn", "+"),),
    "stylekit.training", ("train",), lane=OPTIMISE, rate=0.4, fixed=5.0))
