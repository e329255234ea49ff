"""Pixel spaces: clamping keeps the image in [0, 1] and leaves the values already inside alone."""
import pytest
import torch

from stylekit.methods.common import CAFFE
from stylekit.optim.space import RANGE_255, UNIT


@pytest.mark.parametrize("space", [UNIT, RANGE_255, CAFFE], ids=lambda s: s.name)
def test_clamp_keeps_values_inside_and_brings_the_rest_to_the_nearest_bound(space):
    gen = torch.Generator().manual_seed(0)
    inside = torch.rand((1, 3, 6, 7), generator=gen)
    values = space.to_space(inside)
    assert torch.allclose(space.clamp(values), values, atol=1e-4 * space.value_range)
    outside = torch.rand((1, 3, 6, 7), generator=gen) * 3 - 1  # RGB in [-1, 2]: about two thirds out of range
    clamped = space.to_unit(space.clamp(space.to_space(outside)))
    assert clamped.min() >= -1e-6 and clamped.max() <= 1 + 1e-6
    assert torch.allclose(clamped, outside.clamp(0, 1), atol=1e-5)
