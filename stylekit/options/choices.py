"""The choices every option offers, its bounds and the default layers (torch-free), so the modules that implement
them and the front ends that offer them read one definition."""
from __future__ import annotations

BACKBONES = ("vgg19", "vgg16", "scratch")
POOLINGS = ("max", "avg")
PRESERVE_COLOR = ("none", "luminance", "histogram")
OPTIMIZER_CHOICES = ("lbfgs", "adam", "sgd")
INITS = ("content", "noise", "style", "fast")
FAST_MODELS = ("magenta", "microast", "wct")
N_BUILTIN = 26  # styles of the 26-style network (--builtin)
# Their plain names, chosen from what each looks like (palette and stroke) on the landscape photo: the page's sheet
# of built-in styles (stylekit/web/previews.py) and its result cards name them so.
BUILTIN_NAMES = (
    "sunny pastel patches", "yellow stained glass", "charcoal and sky blots", "bright shattered shards",
    "sunset pastel", "orange and blue collage", "dark blue spots", "primary colour blocks", "pastel pencil sketch",
    "teal and red leaf print", "rusty brown paint", "sepia pen drawing", "lilac watercolour", "lime and teal dabs",
    "icy blue wash", "pastel cell mosaic", "blue and orange streaks", "red and orange bricks", "tan woodcut",
    "starry blue swirls", "red and black flames", "pink pop-art shapes", "blue ink wash", "misty green dusk",
    "blue wave woodblock", "dark mottled oils",
)
VIDEO_MODEL = "magenta"  # the video's default fast model: the only one above 8 fps end to end (docs/examples.md)
STYLE_SIZE = 512  # default long side of style images for microast and wct
MAGENTA_STYLE_SIZE = 384  # ... and for magenta, whose predictor reads a 256x256 window of it (docs/examples.md)
VIDEO_METHODS = ("fast", "transfer")
FLOW_METHODS = ("dis", "farneback")
FEATURE_ORDERS = ("index", "mean", "max", "std")
COLOR_SCALES = ("shared", "per-map")
# Loss conventions (see stylekit.objectives.functional), pixel spaces and optimizer details (stylekit.optim).
GRAM_NORMALIZATIONS = ("chw", "hw", "none")
REDUCTIONS = ("mean", "sum", "half-sum", "rms")
STYLE_FACTORS = ("none", "2hw-squared", "4n2m2")
TV_KINDS = ("squared", "abs", "beta", "sobel")
PIXEL_SPACES = ("unit", "255", "preprocessed")
NOISES = ("uniform", "centered", "faint")
LINE_SEARCHES = ("none", "strong-wolfe")
STYLE_RESIZES = ("long-side", "content")
QUALITIES = ("draft", "normal", "high")
STYLE_LOSSES = ("gram", "w2", "sliced", "meanstd")
PRECISIONS = ("auto", "fp32", "bf16")
COLORMAPS = ("viridis", "gray", "magma", "inferno", "plasma", "cividis", "gray_r", "coolwarm", "jet")
WEIGHTS_ENV = "STYLEKIT_WEIGHTS_DIR"
MODELS_ENV = "STYLEKIT_MODELS_DIR"  # the trained models' folder (--models-dir)
MODEL_SUFFIX = ".pt"  # a trained model file's extension
TUNES = ("vector", "norms", "all")  # what training a fast model changes (--tune)
# Upper bounds that no sensible run reaches; past them a number is a typo, refused before any work.
WEIGHT_MAX = 1e12
LR_MAX = 1e4
STEPS_MAX = 100_000

# Default layers, by name (see 'stylekit layers').
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
FEATURE_LAYERS = STYLE_LAYERS
DREAM_LAYER = "relu4_2"
INVERT_LAYER = "relu4_2"
DECONV_LAYER = "relu4_1"

DEFAULT_TEMPORAL = {"fast": 0.5, "transfer": 200.0}
BATCH_CHUNK_OVERLAP = 8  # frames run before a video chunk to carry the temporal state across its first frame
