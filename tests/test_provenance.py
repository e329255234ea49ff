"""Outputs remember how they were made: the PNG chunk / sidecar, `stylekit info` and `stylekit rerun`."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from stylekit import provenance
from stylekit.cli import main

from .conftest import pattern

TINY = ["--size", "32", "--steps", "3", "--backbone", "scratch", "-q"]


@pytest.fixture
def pictures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(pattern(40)).save(tmp_path / "photo.png")
    Image.fromarray(pattern(32, 1, "style")).save(tmp_path / "paint.png")
    return tmp_path


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_a_png_remembers_its_command_options_seed_and_inputs(pictures):
    assert main(["transfer", "photo.png", "paint.png", "-o", "out.png", "--init", "noise", *TINY]) == 0
    settings = provenance.read_settings(pictures / "out.png")
    assert settings["command"] == "transfer" and settings["argv"][:3] == ["transfer", "photo.png", "paint.png"]
    assert isinstance(settings["seed"], int)  # drawn, since none was given
    assert settings["options"]["TransferOptions"]["size"] == 32
    assert settings["options"]["TransferOptions"]["backbone"] == "scratch"
    names = {entry["arg"]: entry for entry in settings["inputs"]}
    assert set(names) == {"photo.png", "paint.png"}  # the output is not an input
    assert len(names["photo.png"]["sha256"]) == 64
    assert settings["torch"] and settings["stylekit"] and "backbone scratch" in settings["models"]


def test_rerun_reproduces_a_drawn_seed_bit_for_bit_from_another_folder(pictures, monkeypatch, capsys):
    assert main(["transfer", "photo.png", "paint.png", "-o", "out.png", "--init", "noise", *TINY]) == 0
    elsewhere = pictures / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["rerun", "../out.png", "-o", "again.png"]) == 0
    assert np.array_equal(pixels(pictures / "out.png"), pixels(elsewhere / "again.png"))
    assert "--seed" in capsys.readouterr().err
    # a third, differently seeded run differs: the equality above is the seed's doing
    assert main(["transfer", str(pictures / "photo.png"), str(pictures / "paint.png"), "-o", "other.png",
                 "--init", "noise", "--seed", "1", *TINY]) == 0
    assert not np.array_equal(pixels(elsewhere / "other.png"), pixels(elsewhere / "again.png"))


def test_rerun_overrides_an_option_and_leaves_the_first_output_alone(pictures):
    assert main(["transfer", "photo.png", "paint.png", "-o", "out.png", "--seed", "3", *TINY]) == 0
    before = (pictures / "out.png").read_bytes()
    assert main(["rerun", "out.png", "--size", "24"]) == 0
    assert Image.open(pictures / "out-rerun.png").size == (24, 24)  # a square photo
    assert (pictures / "out.png").read_bytes() == before
    again = provenance.read_settings(pictures / "out-rerun.png")
    assert again["options"]["TransferOptions"]["size"] == 24 and again["seed"] == 3


def test_info_prints_the_settings_and_says_when_an_input_changed(pictures, capsys):
    assert main(["transfer", "photo.png", "paint.png", "-o", "out.png", "--seed", "5", *TINY]) == 0
    capsys.readouterr()
    assert main(["info", "out.png"]) == 0
    text = capsys.readouterr().out
    assert "stylekit transfer photo.png paint.png -o out.png --seed 5" in text and "seed: 5" in text
    assert "photo.png" in text and "(unchanged)" in text and "style_weight = 10.0" in text
    Image.fromarray(pattern(40, 3, "style")).save(pictures / "photo.png")
    assert main(["info", "out.png"]) == 0
    assert "(changed since)" in capsys.readouterr().out
    assert main(["info", "out.png", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 5


def test_a_jpeg_keeps_its_settings_only_in_a_sidecar_when_asked(pictures, capsys):
    assert main(["transfer", "photo.png", "paint.png", "-o", "plain.jpg", "--seed", "1", *TINY]) == 0
    assert not (pictures / "plain.jpg.json").exists()
    assert main(["info", "plain.jpg"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no stylekit settings" in err and "--sidecar" in err
    assert main(["transfer", "photo.png", "paint.png", "-o", "kept.jpg", "--seed", "1", "--sidecar", *TINY]) == 0
    assert provenance.read_settings(pictures / "kept.jpg")["argv"][-1] == "-q"
    assert main(["rerun", "kept.jpg", "-o", "kept2.jpg"]) == 0
    assert np.array_equal(pixels(pictures / "kept.jpg"), pixels(pictures / "kept2.jpg"))


def test_info_refuses_a_foreign_or_damaged_image_in_one_line(pictures, capsys):
    Image.fromarray(pattern(16)).save(pictures / "foreign.png")
    assert main(["info", "foreign.png"]) == 2
    assert main(["info", "missing.png"]) == 2
    data = provenance.with_settings((pictures / "foreign.png").read_bytes(), "{not json")
    (pictures / "damaged.png").write_bytes(data)
    assert main(["rerun", "damaged.png"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("stylekit: error:") for line in lines)
    assert not (pictures / "damaged-rerun.png").exists()


def test_settings_go_into_existing_png_bytes_without_touching_the_pixels():
    buf = io.BytesIO()
    Image.fromarray(pattern(20)).save(buf, "PNG")
    once = provenance.with_settings(buf.getvalue(), json.dumps({"argv": ["fast"], "n": 1}))
    twice = provenance.with_settings(once, json.dumps({"argv": ["fast"], "n": 2}))
    img = Image.open(io.BytesIO(twice))
    assert json.loads(img.text[provenance.KEYWORD])["n"] == 2  # replaced, not added
    assert np.array_equal(np.asarray(img), pattern(20))
    with pytest.raises(ValueError):
        provenance.with_settings(b"GIF89a", "{}")


def _crafted(folder, settings) -> str:
    buf = io.BytesIO()
    Image.fromarray(pattern(16)).save(buf, "PNG")
    path = folder / "crafted.png"
    path.write_bytes(provenance.with_settings(buf.getvalue(), json.dumps(settings)))
    return str(path)


def test_a_crafted_image_cannot_make_rerun_write_elsewhere_or_run_other_commands(pictures, capsys):
    victim = pictures / "precious.txt"
    victim.write_text("keep me")
    argv = ["transfer", "photo.png", "paint.png", "--hist", str(victim), "--history=" + str(victim), *TINY]
    assert main(["rerun", _crafted(pictures, {"argv": argv, "cwd": str(pictures)}), "-o", "again.png"]) == 0
    assert victim.read_text() == "keep me" and (pictures / "again.png").is_file()
    for command in (["batch", "photo.png", "-o", "out"], ["serve"], ["rerun", "x.png"]):
        assert main(["rerun", _crafted(pictures, {"argv": command}), "-o", "x.png"]) == 2
    for damaged in ({"argv": ["transfer"], "inputs": "nope"}, {"argv": ["transfer"], "options": [1]},
                    {"argv": ["transfer"], "seed": "7"}):
        assert main(["info", _crafted(pictures, damaged)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert sum(line.startswith("stylekit: error:") for line in lines) == 6 and "Traceback" not in "".join(lines)
