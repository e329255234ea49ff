import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from stylekit.cli import main

SMALL = ["--backbone", "scratch", "--size", "40", "--steps", "4", "--single-scale", "--seed", "1",
         "--style-layers", "relu1_1,relu2_1,relu3_1", "--content-layers", "relu3_1", "-q"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_transfer_main_options(capsys, tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    hist = tmp_path / "h.json"
    code, _, err = run(capsys, "transfer", content_path, style_path, style_path, "-o", out, *SMALL,
                       "--style-blend-weights", "2,1", "--style-layer-weights", "1,2,3", "--optimizer", "adam",
                       "--lr", "0.05", "--init", "noise", "--pooling", "avg", "--preserve-color", "histogram",
                       "--style-scale", "0.8", "--tv-weight", "1", "--content-weight", "2", "--style-weight", "5",
                       "--save-every", "2", "--history", hist, "--device", "cpu")
    assert code == 0, err
    assert Image.open(out).size == (40, 40)
    assert sorted(p.name for p in tmp_path.glob("out_*.png")) == ["out_00002.png", "out_00004.png"]
    history = json.loads(hist.read_text())
    assert len(history) == 4 and "style:relu2_1" in history[0]


def test_multiscale_and_luminance(capsys, tmp_path, content_path, style_path):
    out = tmp_path / "o.jpg"
    code, _, err = run(capsys, "transfer", content_path, style_path, "-o", out, *SMALL[:-1], "--size", "48",
                       "--min-size", "24", "--steps", "3,2", "--preserve-color", "luminance", "--optimizer", "sgd",
                       "--tile", "64")
    assert code == 0, err
    assert Image.open(out).size == (48, 48)
    assert f"wrote {out}" in err


def test_seed_reproducible_from_cli(capsys, tmp_path, content_path, style_path):
    outs = []
    for name in ("a.png", "b.png"):
        code = run(capsys, "transfer", content_path, style_path, "-o", tmp_path / name, *SMALL, "--init", "noise")[0]
        assert code == 0
        outs.append(np.asarray(Image.open(tmp_path / name)))  # the pixels (the files differ in their settings)
    assert np.array_equal(outs[0], outs[1])


def test_layers_command(capsys):
    code, out, _ = run(capsys, "layers", "--backbone", "scratch")
    assert code == 0 and out.splitlines()[:2] == ["conv1_1", "relu1_1"]


def _bad_inputs(tmp_path, content, style):
    text = tmp_path / "text.jpg"
    text.write_text("not an image")
    cut = tmp_path / "cut.jpg"
    Image.open(content).save(tmp_path / "full.jpg")
    cut.write_bytes((tmp_path / "full.jpg").read_bytes()[:500])
    out = tmp_path / "out.png"
    return [
        ([tmp_path / "missing.png", style, "-o", out], "no such file"),
        ([tmp_path, style, "-o", out], "is a folder"),
        ([text, style, "-o", out], "not an image"),
        ([content, cut, "-o", out], "damaged or truncated"),
        ([content, style, "-o", out, "--size", "0"], "argument --size: must be between 16 and 65536, got 0"),
        ([content, style, "-o", out, "--size", "100000"], "must be between 16 and 65536"),
        ([content, style, "-o", out, "--size", "60000"], "use --size"),
        ([content, style, "-o", out, "--style-layers", "relu1_1,relu9_1"], "valid layers: conv1_1"),
        ([content, style, "-o", out, "--style-weight", "-1"], "must be between 0 and 1e+12, got -1"),
        ([content, style, "-o", out, "--content-weight", "nan"], "must be a finite number, got nan"),
        ([content, style, "-o", out, "--style-layer-weights", "1,-2"], "must be between 0 and 1e+12, got -2"),
        ([content, style, "-o", out, "--device", "tpu"], "device"),
        ([content, style, "-o", out, "--device", "cuda:7"], "CUDA"),
        ([content, style, "-o", tmp_path / "nowhere" / "out.png"], "does not exist"),
        ([content, style, "-o", tmp_path / "out.gifx"], "extension"),
        ([content, style, "-o", out, "--init", "sparkles"], "--init must be"),
        ([content, style, "-o", out, "--tile", "20"], "--tile must be"),
        ([content, style, "-o", out, "--backbone", "vgg16", "--weights", tmp_path / "nope.pth"], "does not exist"),
    ]


def test_every_bad_input_is_one_line_and_exit_2(capsys, tmp_path, content_path, style_path):
    for args, message in _bad_inputs(tmp_path, content_path, style_path):
        code, out, err = run(capsys, "transfer", "--backbone", "scratch", "-q", *args)
        lines = err.strip().splitlines()
        assert code == 2, (args, err)
        assert len(lines) == 1 and message in lines[0] and lines[0].startswith("stylekit"), (args, err)
        assert "Traceback" not in err
        assert not (tmp_path / "out.png").exists()


def test_bad_input_in_a_subprocess(tmp_path, style_path):
    proc = subprocess.run([sys.executable, "-m", "stylekit", "transfer", str(tmp_path / "nope.jpg"), str(style_path),
                           "-o", str(tmp_path / "o.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"stylekit: error: {tmp_path / 'nope.jpg'}: no such file"


def test_ctrl_c_writes_best_image(tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    cmd = [sys.executable, "-m", "stylekit", "transfer", str(content_path), str(style_path), "-o", str(out),
           "--backbone", "scratch", "--size", "48", "--single-scale", "--steps", "100000", "--no-early-stopping",
           "--save-every", "1", "--intermediates", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(tmp_path.glob("out_*.png")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "best result so far" in err and "Traceback" not in err
    assert Image.open(out).size == (48, 48)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_missing_extra_is_named_in_one_line(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("av", "starlette") else
                        real(name, *a))
    assert main(["serve", "--port", "0"]) == 2
    assert "needs the web extra (starlette not installed): pip install 'stylekit[web]'" in capsys.readouterr().err
    assert main(["video", str(tmp_path / "in.mp4"), str(tmp_path / "s.png"), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "pip install 'stylekit[video]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_preset_runs_with_the_scratch_backbone_and_flags_override_it(tmp_path, capsys, content_path, style_path):
    out = tmp_path / "o.png"
    code, _, err = run(capsys, "transfer", str(content_path), str(style_path), "-o", str(out), "--preset",
                       "sgd-simple", "--backbone", "scratch", "--size", "32", "--steps", "12", "--save-every", "6",
                       "--save-name", "{stem}_at_iteration_{step}", "--history", str(tmp_path / "h.json"))
    assert code == 0 and Image.open(out).size == (32, 32), err
    assert (tmp_path / "o_at_iteration_6.png").is_file() and (tmp_path / "o_at_iteration_12.png").is_file()
    history = json.loads((tmp_path / "h.json").read_text())
    assert len(history) == 12 and "content:block5_conv2" in history[0]  # the preset's layers, our steps


def test_presets_lists_every_preset_and_shows_one(capsys):
    code, listing, _ = run(capsys, "presets")
    names = [line.split()[0] for line in listing.splitlines()]
    assert code == 0 and names == ["sgd-simple", "tf-eager", "noise-init", "keras-lbfgs", "tf-adam", "gatys2016",
                                   "neural-style"]
    code, shown, _ = run(capsys, "presets", "keras-lbfgs")
    assert code == 0 and "--style-factor 2hw-squared" in shown and "VGG16" in shown
    code, help_text, _ = run(capsys, "transfer", "--preset", "tf-adam", "--help")
    assert code == 0 and "default: 224x224" in help_text.replace("\n", " ").replace("  ", " ")
    code, _, err = run(capsys, "presets", "nope")
    assert code == 2 and "unknown preset 'nope'" in err


def test_a_literal_recipe_in_stylekits_conventions_warns_in_one_line(tmp_path, capsys, content_path, style_path):
    out = tmp_path / "o.png"  # seed 000's weights without its preset: stylekit's scale-free losses barely move
    code, _, err = run(capsys, "transfer", content_path, style_path, "-o", out, *SMALL[:4], "--steps", "12",
                       "--single-scale", "--no-early-stopping", "--content-weight", "2e-5", "--style-weight", "1e-4",
                       "--tv-weight", "0")
    warned = [line for line in err.splitlines() if line.startswith("stylekit: warning:")]
    assert code == 0 and out.is_file() and len(warned) == 2 and "unchanged" in warned[1]
    assert "seed 000's sgd-simple numbers" in warned[0] and "--preset sgd-simple" in warned[0]
