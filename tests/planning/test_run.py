"""One run plan: the output size and scales every consumer reads."""
from __future__ import annotations

import pytest

from stylekit.options import TextureOptions, TransferOptions
from stylekit.planning import output_size, run_plan


def test_a_transfer_plan_follows_the_contents_shape_and_the_quality():
    plan = run_plan(TransferOptions(size=512), (300, 400))
    assert plan.output == (384, 512) and [max(s.size) for s in plan.scales] == [256, 362, 512]
    assert [s.steps for s in plan.scales] == list(TransferOptions.QUALITY_STEPS["normal"])
    assert plan.steps == 76
    assert plan.work == pytest.approx(sum(s.steps * s.size[0] * s.size[1] for s in plan.scales) / 1e6)


def test_exact_sizes_and_runs_without_a_content():
    assert run_plan(TransferOptions(size=(100, 200), min_size=None), (300, 400)).output == (100, 200)
    texture = run_plan(TextureOptions(size=96, min_size=None, steps=7))
    assert texture.output == (96, 96) and [(s.size, s.steps) for s in texture.scales] == [((96, 96), 7)]
    assert output_size((64, 32), None) == (64, 32)
    with pytest.raises(ValueError):
        output_size(None, None)


def test_the_web_estimate_and_step_limit_read_the_plan():
    from stylekit.web.estimate import work
    from stylekit.web.tasks import total_steps

    options = TransferOptions(size=512)
    from stylekit.methods.gatys import GROWTH, SETUP_STEPS

    assert work("transfer", options, (300, 400)) == run_plan(options, (300, 400)).effort(SETUP_STEPS, GROWTH)
    assert total_steps(options, (300, 400)) == run_plan(options, (300, 400)).steps == 76


def test_effort_weighs_each_scale_by_its_setup_and_its_size():
    plan = run_plan(TransferOptions(size=512, steps=(4, 2), min_size=256), (512, 512))
    assert plan.effort() == pytest.approx(plan.work)
    sizes = [s.size[0] * s.size[1] / 1e6 for s in plan.scales]
    assert plan.effort(setup=1) == pytest.approx(plan.work + sum(sizes))
    assert plan.effort(growth=1) == pytest.approx(sum(s.steps * m * (1 + m) for s, m in zip(plan.scales, sizes)))
