"""DeepDream: the chosen activation rises, guides, seeds, zoom loops, the command; scratch backbone, tiny sizes."""
import re
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from PIL import Image

import stylekit
from stylekit.backbones import load_scratch
from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.io import load_image
from stylekit.methods.deepdream import dream_zoom, run_dream
from stylekit.objectives import activation_l2, guided_activation
from stylekit.options import DreamOptions


def _activation(image, layer="relu3_1", channels=None):
    net = load_scratch()
    return activation_l2(net(load_image(image).rgb, [layer])[layer], channels).item()


def test_dream_raises_the_chosen_activation(content_path):
    opts = DreamOptions(layer="relu3_1", size=48, octaves=2, steps=8, backbone="scratch", seed=0)
    result = run_dream(content_path, opts)
    assert _activation(result.image) > 1.5 * _activation(content_path)
    picked = run_dream(content_path, DreamOptions(**{**vars(opts), "channels": [3, 7]}))
    gain_picked = _activation(picked.image, channels=[3, 7]) / _activation(content_path, channels=[3, 7])
    assert gain_picked > 1.5


def test_dream_guide_and_seed(content_path, style_path):
    opts = DreamOptions(layer="relu2_1", size=40, octaves=1, steps=6, backbone="scratch", seed=2, guide=style_path)
    a, b = run_dream(content_path, opts), run_dream(content_path, opts)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    net = load_scratch()
    guide = net(load_image(style_path).rgb, ["relu2_1"])["relu2_1"][0].flatten(1)
    score = lambda img: guided_activation(net(load_image(img).rgb, ["relu2_1"])["relu2_1"], guide).item()  # noqa
    assert score(a.image) > score(content_path)


def test_dream_bad_channel(content_path):
    with pytest.raises(StylekitError, match=r"channel 99 is out of range for relu1_1, which has 16 channels"):
        run_dream(content_path, DreamOptions(layer="relu1_1", channels=[99], backbone="scratch"))


def test_dream_zoom_gif_and_mp4(tmp_path, content_path, capsys):
    frames = dream_zoom(content_path, 3, zoom=1.2, frame_steps=2, size=32, octaves=1, steps=2, backbone="scratch")
    assert len(frames) == 3 and all(f.size == (32, 32) for f in frames)
    gif = tmp_path / "loop.gif"
    args = ["dream", str(content_path), "--size", "32", "--octaves", "1", "--steps", "2", "--backbone", "scratch",
            "--zoom-frames", "4", "--frame-steps", "1", "-q"]
    assert main([*args, "-o", str(gif)]) == 0
    assert Image.open(gif).n_frames == 4
    mp4 = tmp_path / "loop.mp4"
    assert main([*args, "-o", str(mp4)]) == 0
    with av.open(str(mp4)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4
    assert main([*args, "-o", str(tmp_path / "loop.png")]) == 2
    assert "the extension must be one of .gif, .mp4" in capsys.readouterr().err


def test_dream_cli_single_image(tmp_path, content_path):
    out = tmp_path / "d.png"
    assert main(["dream", str(content_path), "--size", "40", "--octaves", "2", "--steps", "2", "--layer", "relu2_1",
                 "--channels", "0,1", "--backbone", "scratch", "--seed", "0", "-o", str(out), "-q"]) == 0
    assert Image.open(out).size == (40, 40)


def test_dream_keyword_python_api(content_path):
    assert stylekit.dream(content_path, size=32, octaves=1, steps=2, backbone="scratch").size == (32, 32)
    with pytest.raises(TypeError, match="unknown option"):
        stylekit.dream(content_path, octves=2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_zoom_loop_stopped_by_a_signal_keeps_its_frames_and_exits_130(tmp_path, content_path, sig):
    out = tmp_path / "zoom.gif"
    cmd = [sys.executable, "-m", "stylekit", "dream", str(content_path), "-o", str(out), "--zoom-frames", "500",
           "--frame-steps", "2", "--size", "48", "--octaves", "1", "--steps", "2", "--backbone", "scratch"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    line = ""
    while "frames done" not in line and time.time() < deadline and proc.poll() is None:
        line = proc.stderr.readline()
    assert proc.poll() is None, line
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept = re.search(r"frame (\d+) of 500: (\d+) frames kept", err)
    assert kept and kept.group(1) == kept.group(2) and "Traceback" not in err, err
    with Image.open(out) as gif:
        assert gif.n_frames == int(kept.group(1)) >= 1
