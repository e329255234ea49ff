"""Options of every method, declared once (torch-free): the CLI, the web form and validation come from them."""
from .methods import (BACKBONES, COLOR_SCALES, CONTENT_LAYERS, DEFAULT_TEMPORAL, DREAM_LAYER, FAST_MODELS,
                      FEATURE_LAYERS, FEATURE_ORDERS, FLOW_METHODS, INITS, INVERT_LAYER, OPTIMIZER_CHOICES,
                      POOLINGS, PRESERVE_COLOR, STYLE_LAYERS, VIDEO_METHODS, WEIGHTS_ENV, DeviceOptions, DreamOptions,
                      DreamOutput, FastOptions, FastOutput, FeaturesOptions, FigureOutput, InvertOptions,
                      LayersOptions, NetworkOptions, OutputOptions, RecordOptions, RunOptions, ScheduleOptions,
                      ServerConfig, TextureOptions, TransferOptions, VideoOptions, VideoOutput, WeightsDirOptions,
                      ZoomOptions)
from .schema import (MAX_SIDE, SEED_MAX, OptionError, Spec, add_arguments, check_value, cli_flag, form_fields,
                     make_options, namer, option, options_from, parse_form, spec_of, specs, validate,
                     web_label)

__all__ = ["BACKBONES", "COLOR_SCALES", "CONTENT_LAYERS", "DEFAULT_TEMPORAL", "DREAM_LAYER", "FAST_MODELS",
           "FEATURE_LAYERS", "FEATURE_ORDERS", "FLOW_METHODS", "INITS", "INVERT_LAYER", "MAX_SIDE",
           "OPTIMIZER_CHOICES", "POOLINGS", "PRESERVE_COLOR", "SEED_MAX", "STYLE_LAYERS", "VIDEO_METHODS",
           "WEIGHTS_ENV", "DeviceOptions", "DreamOptions", "DreamOutput", "FastOptions", "FastOutput",
           "FeaturesOptions", "FigureOutput", "InvertOptions", "LayersOptions", "NetworkOptions", "OptionError",
           "OutputOptions", "RecordOptions", "RunOptions", "ScheduleOptions", "ServerConfig", "Spec", "TextureOptions",
           "TransferOptions", "VideoOptions", "VideoOutput", "WeightsDirOptions", "ZoomOptions", "add_arguments",
           "check_value", "cli_flag", "form_fields", "make_options", "namer", "option", "options_from", "parse_form",
           "spec_of", "specs", "validate", "web_label"]
