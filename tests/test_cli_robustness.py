"""Careless and hostile command lines, across every command: one line, exit 2, nothing lost or left behind."""
from __future__ import annotations

import shutil
import signal

import pytest
from PIL import Image

from stylekit import console
from stylekit.cli import main

from .conftest import bomb

SCRATCH = ["--backbone", "scratch", "-q"]


def commands(content, style, out):
    """Each command with small settings, writing to ``out``."""
    return {
        "transfer": ["transfer", content, style, "--size", "32", "--steps", "2", "--single-scale", *SCRATCH],
        "texture": ["texture", style, "--size", "32", "--steps", "2", "--single-scale", *SCRATCH],
        "invert": ["invert", content, "--size", "32", "--steps", "2", *SCRATCH],
        "dream": ["dream", content, "--size", "32", "--steps", "1", "--octaves", "1", *SCRATCH],
        "features": ["features", content, "--size", "32", *SCRATCH],
    }


def run(capsys, args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_outputs_that_cannot_be_written_are_refused_before_work(tmp_path, capsys, content_path, style_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    for name, args in commands(content_path, style_path, None).items():
        for output, extra, message in [("/proc/out.png", [], "cannot write in /proc"),
                                       (folder, [], "is a folder"),
                                       (tmp_path / "o.png", ["--history", folder], "is a folder")]:
            if name == "features" and extra:
                continue  # features writes no history
            code, err = run(capsys, [*args, "-o", output, *extra])
            assert code == 2 and err.count("\n") == 1 and message in err, (name, output, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content.png", "existing", "style.png"]
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("case", ["-o CONTENT", "-o OUT --history CONTENT", "-o OUT --history OUT"])
def test_no_output_may_overwrite_an_input(tmp_path, capsys, content_path, style_path, case):
    photo = content_path.read_bytes()
    files = {"CONTENT": content_path, "OUT": tmp_path / "o.png"}
    extra = [files.get(word, word) for word in case.split()]
    code, err = run(capsys, [*commands(content_path, style_path, None)["transfer"], *extra])
    assert code == 2 and err.count("\n") == 1 and ("is one of the inputs" in err or "are both" in err), err
    assert content_path.read_bytes() == photo and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("case", ["transfer BIG STYLE", "transfer CONTENT BIG", "texture BIG", "invert BIG",
                                  "dream BIG", "features BIG", "transfer CONTENT STYLE --init BIG",
                                  "dream CONTENT --guide BIG"])
def test_decompression_bombs_are_refused_for_every_input(tmp_path, capsys, content_path, style_path, case):
    big = tmp_path / "big.png"
    bomb(big)
    files = {"BIG": big, "CONTENT": content_path, "STYLE": style_path}
    args = [files.get(word, word) for word in case.split()]
    code, err = run(capsys, [*args, "--size", "32", "-o", tmp_path / "o.png", *SCRATCH])
    assert code == 2 and err.count("\n") == 1, err
    assert "big.png is 900.0 megapixels" in err and "STYLEKIT_MAX_PIXELS" in err, err
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("args, message", [
    (["dream", "{c}", "--octave-scale", "1e308"], "--octave-scale: must be between 1 and 4"),
    (["dream", "{c}", "--lr", "1e300"], "--lr: must be > 0 and <= 1"),
    (["dream", "{c}", "--seed", "99999999999999999999999"], "--seed: must be between 0"),
    (["transfer", "{c}", "{s}", "--style-scale", "1000"], "--style-scale: must be > 0 and <= 16"),
    (["texture", "{s}", "--steps", "1e9"], "--steps: must be a whole number"),
    (["invert", "{c}", "--steps", "1000000000"], "--steps: must be between 1 and 100000"),
])
def test_numbers_are_checked_against_a_sensible_range(tmp_path, capsys, content_path, style_path, args, message):
    filled = [a.format(c=content_path, s=style_path) for a in args]
    code, err = run(capsys, [*filled, "-o", tmp_path / "o.png", *SCRATCH])
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_a_second_ctrl_c_while_the_result_is_written_still_writes_it(tmp_path, capsys, content_path, style_path,
                                                                   monkeypatch):
    import stylekit.io as io_module

    real_save = io_module.save_image

    def interrupted_twice(image, path, *a):
        signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, a moment after the first
        return real_save(image, path, *a)

    class FirstCtrlC:
        def on_scale_start(self, *a) -> None:
            pass

        def on_step(self, progress) -> None:
            if progress.step == 2:
                signal.raise_signal(signal.SIGINT)

        def on_item(self, progress) -> None:
            pass

    real_callbacks = console.callbacks_for
    monkeypatch.setattr(console, "callbacks_for", lambda *a, **k: [*real_callbacks(*a, **k), FirstCtrlC()])
    monkeypatch.setattr(io_module, "save_image", interrupted_twice)
    out = tmp_path / "o.png"
    args = ["transfer", content_path, style_path, "--size", "32", "--steps", "20", "--single-scale",
            "--no-early-stopping", "--backbone", "scratch", "-o", out]
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN itself when pytest runs as a background job
    code, err = run(capsys, args)
    assert code == 130 and "wrote the best result so far" in err and Image.open(out).size == (32, 32)
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored after the run


def test_interrupted_loops_keep_what_they_finished(tmp_path, capsys, content_path, style_path, monkeypatch):
    from stylekit.methods import deepdream, inversion

    calls = {"zoom": 0, "invert": 0}
    real_zoom, real_invert = deepdream.zoom_in, inversion.run_invert

    def zoom_then_stop(*a):
        calls["zoom"] += 1
        if calls["zoom"] == 2:
            raise KeyboardInterrupt  # Ctrl-C between two frames' optimisations
        return real_zoom(*a)

    def invert_then_stop(*a, **k):
        calls["invert"] += 1
        if calls["invert"] == 3:
            raise KeyboardInterrupt
        return real_invert(*a, **k)

    monkeypatch.setattr(deepdream, "zoom_in", zoom_then_stop)
    monkeypatch.setattr(inversion, "run_invert", invert_then_stop)
    gif = tmp_path / "loop.gif"
    code, err = run(capsys, [*commands(content_path, style_path, None)["dream"], "--zoom-frames", "50",
                             "--frame-steps", "1", "-o", gif])
    assert code == 130 and "wrote the best result so far" in err and Image.open(gif).n_frames == 2
    sheet = tmp_path / "sweep.png"
    code, err = run(capsys, [*commands(content_path, style_path, None)["invert"], "--layers",
                             "relu1_1,relu2_1,relu3_1", "-o", sheet])
    assert code == 130 and Image.open(sheet).size[0] == 32 * 3  # the original and the two finished layers


def test_fast_batch_never_collides_never_restylises_its_outputs_and_skips_what_exists(
        tmp_path, capsys, weights_dir, content_path, style_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.open(content_path).save(folder / "a.png")
    Image.open(content_path).convert("RGB").save(folder / "a.jpg")
    shutil.copy(content_path, folder / "b.png")
    args = ["fast", folder, style_path, "-o", folder]
    code, err = run(capsys, args)
    assert code == 0 and "wrote 3 images" in err
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["a.jpg", "a.png", "a_jpg_stylized.png", "a_png_stylized.png", "b.png", "b_stylized.png"]
    code, err = run(capsys, args)  # again, into the same folder
    assert code == 0 and "wrote 0 images" in err and "3 skipped" in err
    assert sorted(p.name for p in folder.iterdir()) == names
    stamp = (folder / "b_stylized.png").stat().st_mtime_ns
    code, err = run(capsys, [*args, "--overwrite"])
    assert code == 0 and "wrote 3 images" in err and (folder / "b_stylized.png").stat().st_mtime_ns >= stamp
    assert sorted(p.name for p in folder.iterdir()) == names


@pytest.mark.parametrize("model", ["microast", "wct"])
def test_fast_models_refuse_or_adapt_tiny_and_extreme_shapes(tmp_path, capsys, weights_dir, style_path, model):
    out = tmp_path / "o.png"
    for shape in [(1, 1), (2, 2), (20, 3), (8, 400), (400, 8)]:
        image = tmp_path / "odd.png"
        Image.new("RGB", shape[::-1], (90, 120, 200)).save(image)
        code, err = run(capsys, ["fast", image, style_path, "--model", model, "-o", out])
        assert code == 2 and err.count("\n") == 1 and "every side must be at least 16 px" in err, (shape, err)
        assert not out.exists()
    code, err = run(capsys, ["fast", image, style_path, "--model", model, "--content-size", "2000", "-o", out])
    assert code == 0 and Image.open(out).size == (40, 2000)  # 400x8 at 2000 px is 2000x40: fine
    code, err = run(capsys, ["fast", image, style_path, "--model", model, "--content-size", "2000",
                             "--style-size", "16", "-o", out, "-q"])
    if model == "wct":  # a 16-px style is brought up to the 32 px its deepest level needs, with a note
        assert code == 0 and "needs at least 32 px per side: using 32x32" in err and err.count("\n") == 1
    else:
        assert code == 0 and err == ""
