"""Options of every method, declared once (torch-free): the CLI, the web form and validation come from them."""
from .choices import (BACKBONES, BUILTIN_NAMES, COLOR_SCALES, CONTENT_LAYERS, DEFAULT_TEMPORAL, DREAM_LAYER,
                      FAST_MODELS, FEATURE_LAYERS, FEATURE_ORDERS, FLOW_METHODS, GRAM_NORMALIZATIONS, INITS,
                      INVERT_LAYER, LINE_SEARCHES, N_BUILTIN, NOISES, OPTIMIZER_CHOICES, PIXEL_SPACES, POOLINGS,
                      PRECISIONS, PRESERVE_COLOR, QUALITIES, REDUCTIONS, STYLE_FACTORS, STYLE_LAYERS, STYLE_LOSSES,
                      STYLE_RESIZES, TV_KINDS, VIDEO_METHODS, WEIGHTS_ENV)
from .common import (DeviceOptions, NetworkOptions, OptimizerSettings, RunOptions, ScheduleOptions,
                     WeightsDirOptions)
from .feedforward import FastOptions, StylesOptions
from .jobs import BatchOptions, VideoOptions
from .optimising import (DreamOptions, InvertOptions, ObjectiveOptions, TextureOptions, TransferOptions,
                         VisualizeOptions, ZoomOptions)
from .training import TrainOptions, TrainOutput
from .outputs import (BatchOutput, DreamOutput, FastOutput, FigureOutput, OutputOptions, RecordOptions, SheetOutput,
                      VideoOutput)
from .presets import PRESETS, Preset, preset_values
from .schema import (MAX_SIDE, SEED_MAX, OptionError, Spec, add_arguments, as_typed, check_value, cli_flag, cli_flags,
                     form_fields, keyword_options, make_options, namer, option, options_from, parse_form, spec_of,
                     specs, validate, web_label, with_preset)
from .server import ServerConfig
from .views import DeconvOptions, FeaturesOptions, LayersOptions, TopImagesOptions

__all__ = ["BACKBONES", "BUILTIN_NAMES", "COLOR_SCALES", "CONTENT_LAYERS",
           "DEFAULT_TEMPORAL", "DREAM_LAYER", "FAST_MODELS", "N_BUILTIN",
           "FEATURE_LAYERS", "FEATURE_ORDERS", "FLOW_METHODS", "GRAM_NORMALIZATIONS", "INITS", "INVERT_LAYER",
           "LINE_SEARCHES", "MAX_SIDE", "NOISES", "OPTIMIZER_CHOICES", "OptimizerSettings", "PIXEL_SPACES", "POOLINGS",
           "PRECISIONS", "PRESERVE_COLOR", "PRESETS", "Preset", "QUALITIES", "REDUCTIONS", "SEED_MAX", "STYLE_FACTORS",
           "STYLE_LAYERS", "STYLE_LOSSES",
           "STYLE_RESIZES", "TV_KINDS", "VIDEO_METHODS", "preset_values", "with_preset",
           "WEIGHTS_ENV", "as_typed", "BatchOptions", "BatchOutput", "DeconvOptions", "DeviceOptions",
           "TopImagesOptions",
           "VisualizeOptions", "DreamOptions", "DreamOutput", "FastOptions", "FastOutput",
           "FeaturesOptions", "FigureOutput", "InvertOptions", "ObjectiveOptions", "TrainOptions", "TrainOutput",
           "LayersOptions", "NetworkOptions", "OptionError",
           "OutputOptions", "RecordOptions", "SheetOutput", "RunOptions", "ScheduleOptions", "ServerConfig",
           "StylesOptions", "Spec",
           "TextureOptions",
           "TransferOptions", "VideoOptions", "VideoOutput", "WeightsDirOptions", "ZoomOptions", "add_arguments",
           "check_value", "cli_flag", "cli_flags", "form_fields", "keyword_options", "make_options", "namer", "option",
           "options_from", "parse_form",
           "spec_of", "specs", "validate", "web_label"]
