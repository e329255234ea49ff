"""What a new user meets in the first hour: progress in a log file, lists piped into head, help that agrees with
the docs, keyword options in help(), and errors that say what to do."""
from __future__ import annotations

import subprocess
import sys

import pytest

import stylekit
from stylekit import cli
from stylekit.cli import build_parser, main
from stylekit.errors import StylekitError
from stylekit.io import outputs

SCRATCH = ["--backbone", "scratch"]


def test_progress_off_a_terminal_is_a_line_per_scale(tmp_path, capsys, content_path, style_path, monkeypatch):
    monkeypatch.setattr(cli.ProgressBar, "EVERY", 0.0)  # a step line each time (every 10 s in real runs)
    out = tmp_path / "o.png"
    assert main(["transfer", str(content_path), str(style_path), "-o", str(out), "--size", "48", "--min-size", "24",
                 "--steps", "3,2", "--no-early-stopping", *SCRATCH]) == 0
    err = capsys.readouterr().err.splitlines()
    scales = [line for line in err if line.startswith("stylekit: scale ")]
    assert len(scales) == 3 and "24x24 px, up to 3 steps" in scales[0] and "48x48 px, up to 2" in scales[2], err
    steps = [line for line in err if line.startswith("stylekit: step ")]
    assert len(steps) == 7 and steps[-1].startswith("stylekit: step 7/7, loss ") and err[-1] == f"wrote {out}"


def test_quiet_prints_no_progress(tmp_path, capsys, content_path, style_path):
    assert main(["transfer", str(content_path), str(style_path), "-o", str(tmp_path / "o.png"), "--size", "32",
                 "--steps", "2", "--single-scale", "-q", *SCRATCH]) == 0
    assert capsys.readouterr().err == ""


def test_an_early_ctrl_c_says_which_scale_it_reached(tmp_path, capsys, content_path, style_path, monkeypatch):
    step = cli.ProgressBar.on_step

    def interrupt_at_step_two(self, progress):
        step(self, progress)
        if progress.step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.ProgressBar, "on_step", interrupt_at_step_two)
    out = tmp_path / "o.png"
    assert main(["transfer", str(content_path), str(style_path), "-o", str(out), "--size", "48", "--min-size", "24",
                 "--steps", "4,4", "--no-early-stopping", "-q", *SCRATCH]) == 130
    err = capsys.readouterr().err
    assert "stopped at scale 1 of 3 (24x24 px, a coarse scale enlarged to the output size), step 2 of 12" in err
    assert out.is_file()


def test_a_list_piped_into_a_closed_reader_ends_quietly():
    process = subprocess.Popen([sys.executable, "-m", "stylekit", "layers", "--backbone", "scratch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # as `| head` does once it has its lines (long before stylekit has imported)
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and "Traceback" not in err and "BrokenPipe" not in err


def test_help_agrees_with_the_docs():
    def help_of(command: str) -> str:
        parser = build_parser()
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]
        return " ".join(sub.format_help().split())

    fast, transfer = help_of("fast"), help_of("transfer")
    assert "magenta: Magenta's arbitrary stylisation (Ghiasi et al. 2017), the fastest" in fast
    assert "microast: tiny" not in fast
    assert "draft (a preview in about a third of normal's time)" in transfer  # README: about a third
    assert "--no-early-stopping run every step; by default: end a scale" in transfer
    assert "--no-clamp clamp only when saving; by default: keep pixels in range" in transfer


@pytest.mark.parametrize("name, keyword", [("transfer", "style_weight=10.0"), ("texture", "size="),
                                           ("invert", "tv_weight="), ("dream", "octaves="),
                                           ("fast", "model='microast'"), ("features", "color_scale='shared'"),
                                           ("video", "method="),
                                           ("deconv", "top="), ("top_images", "k="), ("visualize", "channel="),
                                           ("batch", "workers=")])
def test_public_functions_list_their_keyword_options_with_defaults(name, keyword):
    doc = getattr(stylekit, name).__doc__
    assert "Keyword options (name=default: meaning):" in doc and f"\n    {keyword}" in doc, doc[-400:]


def test_a_folder_that_takes_no_files_is_said_so(tmp_path, monkeypatch):
    import errno

    def refuse(**kwargs):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(outputs.tempfile, "mkstemp", refuse)
    with pytest.raises(StylekitError, match="it takes no new files: a system or virtual folder") as err:
        outputs.check_writable_folder(tmp_path, "-o")
    assert "No such file" not in str(err.value)


def test_an_animation_output_without_zoom_frames_names_the_flag(tmp_path, capsys, content_path):
    assert main(["dream", str(content_path), "-o", str(tmp_path / "x.mp4"), *SCRATCH]) == 2
    err = capsys.readouterr().err
    assert "add --zoom-frames N" in err and err.count("\n") == 1 and not (tmp_path / "x.mp4").exists()
