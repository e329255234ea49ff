"""The coarse-to-fine schedule: counted from the coarsest scale up, so every output size ends converged."""
import pytest
from PIL import Image

from stylekit.io import MIN_SIDE
from stylekit.methods.gatys import run_transfer
from stylekit.options import TransferOptions, TextureOptions
from stylekit.optim import schedule
from tests.conftest import pattern

NORMAL = TransferOptions.QUALITY_STEPS["normal"]


def longs(plan):
    return [max(s.size) for s in plan]


def test_a_small_output_starts_its_pyramid_below_it():
    plan = schedule((192, 256), 256, 256, NORMAL)
    assert longs(plan) == [128, 181, 256]
    assert [s.steps for s in plan] == list(NORMAL)  # the coarsest scale gets the most steps, as at 512


@pytest.mark.parametrize("size", [64, 96, 128, 256, 300, 384, 512, 1024, 2048, 4096])
def test_every_size_gets_every_entry_coarsest_first(size):
    plan = schedule((300, 400), size, 256, NORMAL)
    assert plan[-1].size[1] == size and longs(plan) == sorted(longs(plan))
    assert [s.steps for s in plan][:3] == list(NORMAL) and all(s.steps == NORMAL[-1] for s in plan[3:])
    assert all(b / a <= 2 ** 0.5 + 0.02 for a, b in zip(longs(plan), longs(plan)[1:]))
    assert min(min(s.size) for s in plan) >= MIN_SIDE


def test_min_size_still_sets_the_coarsest_scale_of_large_outputs():
    assert longs(schedule((384, 512), 512, 256, NORMAL)) == [256, 362, 512]
    assert longs(schedule((384, 512), 1024, 256, NORMAL)) == [256, 362, 512, 724, 1024]
    assert [s.steps for s in schedule((384, 512), 1024, 256, NORMAL)] == [*NORMAL, NORMAL[-1], NORMAL[-1]]


def test_one_number_single_scale_and_the_smallest_images():
    assert [s.steps for s in schedule((300, 400), 512, 128, 7)] == [7] * 5
    assert [(s.size, s.steps) for s in schedule((300, 400), 512, None, NORMAL)] == [((384, 512), NORMAL[0])]
    # 20x20 cannot go below 16 px: one scale, with the coarsest entry's steps
    assert [(s.size, s.steps) for s in schedule((20, 20), 20, 256, NORMAL)] == [((20, 20), NORMAL[0])]
    # a 16:1 strip: the short side limits the pyramid to the scales that keep 16 px
    plan = schedule((32, 512), 512, 128, NORMAL)
    assert min(min(s.size) for s in plan) >= MIN_SIDE and [s.steps for s in plan] == list(NORMAL)


def test_quality_picks_the_steps_and_given_steps_win():
    assert TransferOptions().per_scale() == NORMAL
    assert TransferOptions(quality="draft").per_scale() == TransferOptions.QUALITY_STEPS["draft"]
    assert TransferOptions(quality="high", steps=(5, 2)).per_scale() == (5, 2)
    assert TextureOptions(quality="high").per_scale() == TextureOptions.QUALITY_STEPS["high"]
    draft, normal, high = (sum(TransferOptions.QUALITY_STEPS[q]) for q in ("draft", "normal", "high"))
    assert draft < normal < high


def _final_loss(tmp_path, **options):
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    Image.fromarray(pattern(128, 0, "content")).save(content)
    Image.fromarray(pattern(128, 1, "style")).save(style)
    base = dict(backbone="scratch", style_layers=("relu1_1", "relu2_1", "relu3_1"), content_layers=("relu3_1",),
                seed=0, early_stopping=False, size=128)
    return run_transfer(content, style, TransferOptions(**{**base, **options})).history[-1]["loss"]


def test_a_small_size_run_converges_as_far_as_the_big_sizes_coarsest_scale(tmp_path):
    """At 128 px (below --min-size) the default schedule runs every entry of the normal steps on 64, 91 and 128 px,
    and ends at least as low as the first entry's steps at 128 px itself (what a 512-px run gives its coarsest
    scale); the old schedule gave a 128-px run only the last entry, meant for the finest scale."""
    scheduled = _final_loss(tmp_path)
    coarsest_steps = _final_loss(tmp_path, min_size=None, steps=NORMAL[0])
    old = _final_loss(tmp_path, min_size=None, steps=8)  # the old schedule's last entry, then 8
    assert scheduled <= coarsest_steps * 1.05
    assert scheduled < 0.7 * old
