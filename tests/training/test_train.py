"""Training a fast model: tiny runs on the scratch backbone with 32 px crops (Magenta's shipped transformer is the
starting point, so these also check that the start is what Magenta paints)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

import stylekit
from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.feedforward.magenta import predictor_input
from stylekit.feedforward.shared import load_model
from stylekit.feedforward.trained import read_model_file
from stylekit.feedforward.weights import resolve
from stylekit.io import load_image
from stylekit.optim import Callback, StopRun
from stylekit.options import TrainOptions
from stylekit.options.feedforward import trained_models
from stylekit.training import run_training
from stylekit.training.trainer import Learner, consistency_loss, model_path, shifted_pair

from ..conftest import pattern

TINY = {"backbone": "scratch", "size": 32, "style_size": 64, "batch_size": 2, "seed": 3, "precision": "fp32",
        "checkpoint_every": 0}


def _options(**changes):
    return TrainOptions(**{**TINY, **changes})


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(pattern(64, i, "content")).save(folder / f"p{i}.png")
    return folder


def _run(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _weights(path):
    return read_model_file(path)["network"].state_dict()


def test_a_tiny_training_run_lowers_its_loss(tmp_path, style_path, photos):
    result = run_training([style_path], _options(steps=40, tune="all", lr=0.005, images=str(photos)),
                          str(tmp_path / "m.pt"))
    losses = [h["loss"] for h in result.history]
    assert len(losses) == 40 and not result.interrupted
    assert np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8])
    assert {"style:relu1_1", "content:relu4_2", "tv"} <= set(result.history[0])


@pytest.mark.parametrize("tune", ["vector", "norms", "all"])
def test_each_tune_trains_only_its_part(tune, tmp_path, style_path, photos):
    magenta = load_model("magenta", resolve("magenta", None), torch.device("cpu"))
    path = run_training([style_path], _options(steps=3, tune=tune, lr=0.05, images=str(photos)),
                        str(tmp_path / "m.pt")).path
    net = read_model_file(path)["network"]
    same_transformer = all(torch.equal(a, b.float().contiguous()) for a, b in
                           zip(net.transformer.state_dict().values(), magenta.transformer.state_dict().values()))
    assert same_transformer == (tune != "all")


def test_the_untrained_start_paints_what_magenta_paints(style_path):
    """Each style's row starts as Magenta's projection of the style's own vector: the same picture."""
    magenta = load_model("magenta", resolve("magenta", None), torch.device("cpu")).float()
    style = load_image(style_path).rgb
    vector = magenta.style_vector(predictor_input(style))
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for tune in ("vector", "norms"):
        learner = Learner(magenta, vector, tune)
        with torch.no_grad():
            assert torch.allclose(learner(x, 0), magenta.stylize(x, vector), atol=1e-5)


def test_save_then_load_gives_the_same_output(tmp_path, style_path, photos):
    result = run_training([style_path], _options(steps=3, tune="vector", lr=0.05, images=str(photos)),
                          str(tmp_path / "m.pt"))
    photo = Image.fromarray(pattern(40, 7, "content"))
    first = np.asarray(stylekit.fast(photo, [], model=str(result.path)))
    again = np.asarray(stylekit.fast(photo, model=str(result.path), styles=[]))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - np.asarray(photo).astype(int)).mean() > 1  # it painted something
    data = read_model_file(result.path)
    assert data["styles"][0]["name"] == "style" and data["styles"][0]["thumbnail"].dtype == torch.uint8
    assert data["options"]["steps"] == 3 and data["stylekit"] == stylekit.__version__


class _StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step(self, progress):
        if progress.step == self.step:
            raise StopRun


def test_resume_after_an_interrupt_equals_the_uninterrupted_run(tmp_path, style_path, photos):
    opts = _options(steps=6, tune="all", lr=0.01, images=str(photos))
    whole = run_training([style_path], opts, str(tmp_path / "whole.pt"))
    parted = run_training([style_path], opts, str(tmp_path / "parted.pt"), callbacks=[_StopAt(3)])
    assert parted.interrupted and parted.steps == 3
    assert read_model_file(parted.path)["training"]["done"] is False
    resumed = run_training([style_path], opts, str(tmp_path / "parted.pt"), resume=True)
    assert resumed.steps == 6 and not resumed.interrupted
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history[3:]]
    for key, value in _weights(whole.path).items():
        assert torch.equal(value, _weights(resumed.path)[key]), key


def test_the_temporal_loss_is_zero_for_a_consistent_pair_and_positive_for_a_shifted_one():
    big = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    centre, moved, shift = shifted_pair(big, 8, torch.Generator().manual_seed(5))
    assert shift != (0, 0)
    assert float(consistency_loss(centre, moved, shift)) == 0  # the identity network is perfectly consistent
    assert float(consistency_loss(centre, centre, shift)) > 1e-3  # an output that ignored the motion is not
    assert float(consistency_loss(centre, moved, (0, 0))) > 1e-3


def test_temporal_training_reports_its_term(tmp_path, style_path, photos):
    result = run_training([style_path], _options(steps=2, temporal_weight=10.0, images=str(photos)),
                          str(tmp_path / "m.pt"))
    assert all(h["temporal"] > 0 for h in result.history)


def test_several_styles_give_one_model_blended_at_use_time(tmp_path, capsys, style_path, content_path, photos):
    second = tmp_path / "second.png"
    Image.fromarray(pattern(48, 9, "content")[::-1].copy()).save(second)
    model = tmp_path / "two.pt"
    run_training([style_path, second], _options(steps=2, images=str(photos)), str(model))
    assert [s["name"] for s in read_model_file(model)["styles"]] == ["style", "second"]
    outs = {}
    for mix in ("0", "1", "0:0.5,1:0.5"):
        out = tmp_path / f"out{mix.replace(':', '_').replace(',', '_')}.png"
        code, err = _run(capsys, "fast", content_path, "-o", out, "--model", model, "--builtin", mix)
        assert code == 0, err
        outs[mix] = np.asarray(Image.open(out)).astype(int)
    assert np.abs(outs["0"] - outs["1"]).mean() > 0.5
    code, err = _run(capsys, "fast", content_path, "-o", tmp_path / "x.png", "--model", model, "--builtin", "5")
    assert code == 2 and "--builtin" in err and "2 styles" in err and len(err.strip().splitlines()) == 1


def test_a_name_is_kept_in_the_models_folder_and_listed(tmp_path, capsys, monkeypatch, style_path, content_path,
                                                        photos):
    monkeypatch.setenv("STYLEKIT_MODELS_DIR", str(tmp_path / "models"))
    code, err = _run(capsys, "train", style_path, "-o", "mine", "--images", photos, "--backbone", "scratch",
                     "--size", "32", "--style-size", "64", "--steps", "2", "--batch-size", "1", "-q")
    assert code == 0, err
    assert (tmp_path / "models" / "mine.pt").is_file()
    assert main(["styles"]) == 0
    assert "mine: 0: style (2 steps, --tune norms)" in capsys.readouterr().out
    code, err = _run(capsys, "fast", content_path, "-o", tmp_path / "o.png", "--model", "mine")
    assert code == 0, err
    code, err = _run(capsys, "fast", content_path, "-o", tmp_path / "o.png", "--model", "nobody")
    assert code == 2 and "--model 'nobody'" in err and "models" in err


def _junk_models(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model")
    foreign = tmp_path / "foreign.pt"
    torch.save({"conv.weight": torch.zeros(3, 3)}, foreign)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "stylekit-fast-model", "x": os.system}, evil)  # code: refused by weights_only
    return [junk, foreign, evil]


def test_a_corrupt_or_foreign_model_file_is_one_line_and_exit_2(tmp_path, capsys, style_path, content_path, photos):
    real = run_training([style_path], _options(steps=1, images=str(photos)), str(tmp_path / "real.pt")).path
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(real.read_bytes()[:2000])
    damaged = tmp_path / "damaged.pt"
    data = torch.load(real, weights_only=True)
    data["weights"].pop(next(iter(data["weights"])))
    torch.save(data, damaged)
    for bad in [*_junk_models(tmp_path), truncated, damaged]:
        code, err = _run(capsys, "fast", content_path, "-o", tmp_path / "o.png", "--model", bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (bad, err)
        assert str(bad) in err and "stylekit model" in err
        assert not (tmp_path / "o.png").exists()


def test_train_refuses_to_replace_a_model_and_to_resume_with_other_options(tmp_path, capsys, style_path, photos):
    model = tmp_path / "m.pt"
    base = ["train", style_path, "-o", model, "--images", photos, "--backbone", "scratch", "--size", "32",
            "--style-size", "64", "--batch-size", "1", "-q"]
    assert _run(capsys, *base, "--steps", "2")[0] == 0
    before = model.read_bytes()
    code, err = _run(capsys, *base, "--steps", "2")
    assert code == 2 and "--resume" in err and "--overwrite" in err and model.read_bytes() == before
    code, err = _run(capsys, *base, "--steps", "3", "--resume", "--lr", "0.5")
    assert code == 2 and "--lr" in err and model.read_bytes() == before
    code, err = _run(capsys, *base, "--steps", "3", "--resume")
    assert code == 0, err
    assert read_model_file(model)["training"]["step"] == 3
    code, err = _run(capsys, "train", style_path, "-o", tmp_path / "m.onnx", "--backbone", "scratch")
    assert code == 2 and "-o" in err and ".pt" in err


def test_ctrl_c_keeps_a_usable_model(tmp_path, style_path, photos):
    model = tmp_path / "m.pt"
    cmd = [sys.executable, "-m", "stylekit", "train", str(style_path), "-o", str(model), "--images", str(photos),
           "--backbone", "scratch", "--size", "32", "--style-size", "64", "--batch-size", "1",
           "--steps", "100000",
           "--checkpoint-every", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not model.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    data = read_model_file(model)
    assert data["training"]["done"] is False and data["training"]["step"] >= 1
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp") or ".tmp." in p]
    assert stylekit.fast(Image.fromarray(pattern(32, 2, "content")), [], model=str(model)).size == (32, 32)


def test_model_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEKIT_MODELS_DIR", str(tmp_path / "models"))
    assert model_path(None, ["/x/starry.night.jpg"], None) == tmp_path / "models" / "starry.night.pt"
    assert model_path("v2", [], None) == tmp_path / "models" / "v2.pt"
    assert model_path(str(tmp_path / "m.pt"), [], None) == tmp_path / "m.pt"
    for bad in ("wct", ".hidden", str(tmp_path / "m.onnx")):
        with pytest.raises(StylekitError):
            model_path(bad, [], None)
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("ok.pt", ".ok.pt.pid1.abc.tmp.pt", "x.pt.pt", "magenta.pt", "notes.txt"):
        (folder / name).write_text("")
    assert trained_models() == ["ok"]


def test_a_model_file_with_malformed_entries_is_refused_in_one_line(tmp_path, style_path, photos):
    real = run_training([style_path], _options(steps=1, images=str(photos)), str(tmp_path / "real.pt")).path
    for change in ({"styles": [{"name": 3}]}, {"styles": ["x"]}, {"options": [1]}, {"training": "x"}):
        data = torch.load(real, weights_only=True)
        data.update(change)
        bad = tmp_path / "bad.pt"
        torch.save(data, bad)
        with pytest.raises(StylekitError, match="not a usable stylekit model"):
            read_model_file(bad)


def test_using_a_trained_model_leaves_torchs_global_rng_alone(tmp_path, style_path, photos):
    real = run_training([style_path], _options(steps=1, images=str(photos)), str(tmp_path / "real.pt")).path
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    read_model_file(real)
    stylekit.fast(Image.fromarray(pattern(32, 2, "content")), [], model=str(real))
    assert torch.equal(torch.rand(3), expected)


def test_batch_workers_get_the_trained_model_by_its_absolute_path(tmp_path, monkeypatch, style_path, photos):
    from stylekit.cluster.jobs import _absolute
    from stylekit.options import FastOptions

    run_training([style_path], _options(steps=1, images=str(photos)), str(tmp_path / "m.pt"))
    monkeypatch.chdir(tmp_path)
    assert _absolute(FastOptions(model="m.pt")).model == str((tmp_path / "m.pt").resolve())
    monkeypatch.setenv("STYLEKIT_MODELS_DIR", str(tmp_path))
    assert _absolute(FastOptions(model="m")).model == str((tmp_path / "m.pt").resolve())
