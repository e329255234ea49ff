"""``stylekit neural-style``: every neural_style.lua flag maps to the option it means, and a command line runs."""
from __future__ import annotations

import pytest

from stylekit import cli
from stylekit.errors import StylekitError
from stylekit.neural_style import FLAGS, IGNORED, translate
from stylekit.options import PRESETS


def _translate(*argv: str, cuda: bool = False):
    args = cli.build_parser().parse_args(["neural-style", *argv])
    return translate(args, cuda)


def test_defaults_are_neural_styles():
    run = _translate()
    o = run.options
    assert (o.size, o.content_weight, o.style_weight, o.tv_weight, o.steps) == (512, 5.0, 100.0, 1e-3, (1000,))
    assert (o.init, o.noise, o.optimizer, o.lr, o.lbfgs_history, o.pooling) == ("noise", "faint", "lbfgs", 1.0,
                                                                                 100, "max")
    assert (o.content_layers, o.style_layers) == (("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1",
                                                                   "relu5_1"))
    assert (o.gram_normalize, o.pixel_space, o.relative, o.min_size, o.seed) == ("chw", "255", False, None,
                                                                                 None)
    assert (run.output.output, run.output.save_every, run.print_iter) == ("out.png", 100, 50)
    assert run.content is None and run.styles is None  # the built-in examples
    preset = {k: v for k, v in PRESETS["neural-style"].values.items() if hasattr(o, k)}
    assert {k: getattr(o, k) for k in preset} == {**preset, "steps": (1000,)}


# flag, value, field of the options (or of the output, or the translation), expected value
TABLE = [
    ("-style_image", "a.jpg,b.jpg", "styles", ["a.jpg", "b.jpg"]),
    ("-style_blend_weights", "3,1", "style_blend_weights", (3.0, 1.0)),
    ("-content_image", "c.jpg", "content", "c.jpg"),
    ("-image_size", "256", "size", 256),
    ("-gpu", "-1", "device", "cpu"),
    ("-content_weight", "20", "content_weight", 20.0),
    ("-style_weight", "1e3", "style_weight", 1000.0),
    ("-tv_weight", "0", "tv_weight", 0.0),
    ("-num_iterations", "50", "steps", (50,)),
    ("-normalize_gradients", None, "normalize_gradients", True),
    ("-init", "image", "init", "content"),
    ("-optimizer", "adam", "optimizer", "adam"),
    ("-learning_rate", "5", "lr", 1.0),  # L-BFGS steps by 1 whatever -learning_rate says (neural-style's)
    ("-lbfgs_num_correction", "7", "lbfgs_history", 7),
    ("-print_iter", "10", "print_iter", 10),
    ("-save_iter", "0", "save_every", 0),
    ("-output_image", "x.png", "output", "x.png"),
    ("-style_scale", "0.5", "style_scale", 0.5),
    ("-original_colors", "1", "preserve_color", "luminance"),
    ("-pooling", "avg", "pooling", "avg"),
    ("-seed", "123", "seed", 123),
    ("-content_layers", "relu3_2,relu4_2", "content_layers", ("relu3_2", "relu4_2")),
    ("-style_layers", "relu1_1,relu2_1", "style_layers", ("relu1_1", "relu2_1")),
]


def _field(run, name):
    for holder in (run.options, run.output, run):
        if hasattr(holder, name):
            return getattr(holder, name)
    raise AssertionError(name)


@pytest.mark.parametrize("flag,value,name,expected", TABLE, ids=[row[0] for row in TABLE])
def test_each_flag_sets_what_it_means(flag, value, name, expected):
    argv = [flag] if value is None else [flag, value]
    if flag == "-style_blend_weights":
        argv += ["-style_image", "a.jpg,b.jpg"]
    assert _field(_translate(*argv), name) == expected


def test_every_flag_of_neural_style_lua_is_in_the_table():
    mapped = {row[0] for row in TABLE} | {"-init_image"}
    assert {flag for flag, *_ in FLAGS} == mapped


def test_adam_learning_rate_and_init_image_and_gpu_fallback():
    run = _translate("-optimizer", "adam", "-learning_rate", "5", "-init", "image", "-init_image", __file__,
                     "-gpu", "0")
    assert (run.options.lr, run.options.init, run.options.device) == (5.0, __file__, "cpu")
    assert any("no CUDA GPU" in note for note in run.notes)
    assert _translate("-gpu", "1", cuda=True).options.device == "cuda:1"


@pytest.mark.parametrize("flag,value", [(flag, None if kind is None else "x") for flag, kind, _ in IGNORED])
def test_torch_internals_are_noted_and_ignored(flag, value):
    run = _translate(*([flag] if value is None else [flag, value]))
    noted = [note for note in run.notes if flag in note]
    assert len(noted) == 1 and "ignored" in noted[0]


@pytest.mark.parametrize("argv,message", [
    (["-optimizer", "sgd"], "-optimizer must be one of lbfgs, adam"),
    (["-init", "zeros"], "-init must be one of random, image"),
    (["-style_weight", "-3"], "-style_weight must be between 0"),
    (["-image_size", "4"], "-image_size must be between 16"),
    (["-gpu", "x"], "-gpu must be a GPU index"),
    (["-original_colors", "2"], "-original_colors must be 0 or 1"),
])
def test_bad_values_name_the_neural_style_flag(argv, message):
    with pytest.raises(StylekitError, match=message):
        _translate(*argv)


def test_a_blog_post_command_line_runs(tmp_path, content_path, style_path, capsys):
    out = tmp_path / "out.png"
    code = cli.main(["neural-style", "-style_image", str(style_path), "-content_image", str(content_path),
                     "-output_image", str(out), "-image_size", "32", "-num_iterations", "6", "-print_iter", "3",
                     "-save_iter", "3", "-gpu", "-1", "-seed", "1", "-backend", "cudnn", "-cudnn_autotune",
                     "-model_file", "models/VGG_ILSVRC_19_layers.caffemodel"])
    captured = capsys.readouterr()
    assert code == 0 and out.is_file()
    # as neural_style.lua's maybe_save: every -save_iter but the last iteration, which takes the plain name
    assert (tmp_path / "out_3.png").is_file() and not (tmp_path / "out_6.png").exists()
    assert sorted(p.name for p in tmp_path.glob("out*")) == ["out.png", "out_3.png"]
    assert "Iteration 3 / 6" in captured.out and "Style 5 loss" in captured.out and "Total loss" in captured.out
    assert captured.err.count("ignored") == 3
