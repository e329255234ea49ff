"""Time estimates and the page's plain wording of messages (no server needed)."""
from __future__ import annotations

import pytest

from stylekit.errors import render
from stylekit.options import DreamOptions, FastOptions, TextureOptions, TransferOptions, cli_flags
from stylekit.web.estimate import Estimator, say_seconds, work
from stylekit.web.routes import in_page_words, settings_shown


def test_work_grows_with_steps_and_pixels_and_follows_the_schedule():
    draft, high = TransferOptions(quality="draft", size=512), TransferOptions(quality="high", size=512)
    assert 0 < work("transfer", draft, (600, 512)) < work("transfer", high, (600, 512))
    assert work("transfer", high, (600, 512)) < work("transfer", TransferOptions(quality="high", size=1024), (600, 512))
    single = TransferOptions(size=256, steps=10, min_size=None)
    mp = 256 * 256 / 1e6  # one scale: its 10 steps and the setup's one, each a little dearer per pixel as it grows
    assert work("transfer", single, (256, 256)) == pytest.approx((10 + 1) * mp * (1 + 0.5 * mp))
    texture = TextureOptions(size=(128, 64), steps=5, min_size=None)
    assert work("texture", texture, None) == pytest.approx(5 * 128 * 64 / 1e6)
    dream = DreamOptions(size=400, octaves=2, octave_scale=2.0, steps=3)
    assert work("dream", dream, (400, 400)) == pytest.approx(3 * (400 * 400 + 200 * 200) / 1e6)
    assert work("fast", FastOptions(content_size=None), (300, 200)) == pytest.approx(0.06)


def test_the_estimate_learns_from_finished_jobs_but_no_job_throws_it_far():
    estimator = Estimator(speed=1.0)
    before = estimator.seconds("transfer", 10.0, "vgg19")
    estimator.observe("transfer", 10.0, before * 20, "vgg19")  # the first loads the network: not learnt from
    assert estimator.seconds("transfer", 10.0, "vgg19") == before
    estimator.observe("transfer", 10.0, before * 2, "vgg19")  # this machine is slower than thought
    slower = estimator.seconds("transfer", 10.0, "vgg19")
    assert before < slower < before * 2
    assert estimator.seconds("transfer", 10.0, "scratch") == before  # another network learns on its own
    for _ in range(20):
        estimator.observe("transfer", 10.0, 1e6, "vgg19")  # absurd runs move it by at most 10x each
    assert estimator.seconds("transfer", 10.0, "vgg19") < 1e6
    estimator.observe("transfer", 0.0, 5.0, "vgg19")  # no work: nothing to learn
    assert Estimator(speed=2.0).seconds("fast", 1.0) > Estimator(speed=1.0).seconds("fast", 1.0)


def test_durations_are_said_as_a_person_says_them():
    assert [say_seconds(s) for s in (0.4, 3.2, 23, 95, 7200)] == \
        ["under a second", "about 3 s", "about 25 s", "about 2 min", "about 2.0 h"]


def test_messages_for_the_page_name_its_labels_not_cli_flags():
    template = "the content image would be 9000x9000 px at `content_size` 9000: lower `content_size`"
    message = in_page_words(template, FastOptions)
    assert message == "the content image would be 9000x9000 px at photo size 9000: lower photo size"
    assert render(template, cli_flags(FastOptions)).endswith("lower --content-size")  # the command line's words
    assert render(template) == "the content image would be 9000x9000 px at content_size 9000: lower content_size"
    shown = dict(settings_shown(TransferOptions(style_weight=20.0, seed=3)))
    assert shown["style weight"] == "20" and shown["random seed"] == "3" and shown["quality"] == "good (normal)"
    assert "content weight" not in shown  # defaults are left out
