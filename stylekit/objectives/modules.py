"""Objectives as a small algebra: leaves hold targets, ``+`` sums, ``-`` subtracts (and negates), scalar ``*``
weights, every term is reported.

An objective maps an image and its backbone features to a scalar loss; :meth:`Objective.terms` gives each
weighted term by name so progress callbacks can show them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..optim.space import UNIT, PixelSpace
from . import functional as F

Features = Mapping[str, torch.Tensor]


class Objective:
    """Base class: subclasses set ``name`` and ``layers`` and implement :meth:`terms`."""

    name: str = "objective"
    layers: frozenset[str] = frozenset()

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        """Each weighted term of the loss, by name."""
        raise NotImplementedError

    def __call__(self, image: torch.Tensor, features: Features) -> torch.Tensor:
        return sum(self.terms(image, features).values())

    def __add__(self, other: Objective) -> Objective:
        return Sum([self, other])

    def __mul__(self, weight: float) -> Objective:
        return Weighted(self, float(weight))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return Weighted(self, -1.0)

    def __sub__(self, other: Objective) -> Objective:
        return Sum([self, -other])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


def total(parts: Sequence[Objective]) -> Objective:
    """The sum of one or more objectives."""
    if not parts:
        raise ValueError("no objectives to sum")
    return parts[0] if len(parts) == 1 else Sum(list(parts))


class Sum(Objective):
    """Sum of objectives; term names are made unique with a numeric suffix where they collide."""

    def __init__(self, parts: list[Objective]) -> None:
        flat: list[Objective] = []
        for part in parts:
            flat.extend(part.parts if isinstance(part, Sum) else [part])
        self.parts = flat
        self.name = " + ".join(p.name for p in flat)
        self.layers = frozenset().union(*(p.layers for p in flat))

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for part in self.parts:
            for key, value in part.terms(image, features).items():
                name, n = key, 2
                while name in out:
                    name, n = f"{key}#{n}", n + 1
                out[name] = value
        return out


class Weighted(Objective):
    """An objective times a scalar."""

    def __init__(self, inner: Objective, weight: float) -> None:
        if isinstance(inner, Weighted):
            inner, weight = inner.inner, inner.weight * weight
        self.inner, self.weight = inner, weight
        self.name, self.layers = inner.name, inner.layers

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        return {k: v * self.weight for k, v in self.inner.terms(image, features).items()}


class ContentLoss(Objective):
    """Feature reconstruction at one layer (see :func:`functional.content_loss`); with ``grad_scale`` its
    gradient is L1-normalised and multiplied by it (see :func:`functional.normalize_gradient`)."""

    def __init__(self, layer: str, target: torch.Tensor, relative: bool = F.RELATIVE, reduction: str = "mean",
                 grad_scale: float | None = None) -> None:
        self.layer, self.target, self.relative = layer, target.detach(), relative
        self.reduction, self.grad_scale = reduction, grad_scale
        self.name, self.layers = f"content:{layer}", frozenset([layer])

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        feats = features[self.layer]
        if self.grad_scale is not None:
            feats = F.normalize_gradient(feats, self.grad_scale)
        return {self.name: F.content_loss(feats, self.target, self.relative, self.reduction)}


class StyleLoss(Objective):
    """Match a statistic of one layer's features to a style target's; ``grad_scale`` as for :class:`ContentLoss`.

    Subclasses say how the statistic is computed (:meth:`statistic`, raw: summed over positions, or one column per
    position when ``combine`` is ``"cat"``) and how far it is from the target (:meth:`distance`), so the same
    loss is computed whole or tile by tile (:mod:`stylekit.objectives.tiled`).
    """

    combine = "sum"  # how tiles' statistics join: "sum" (over positions) or "cat" (positions side by side)

    def __init__(self, layer: str, relative: bool = F.RELATIVE, grad_scale: float | None = None,
                 mask: torch.Tensor | None = None) -> None:
        self.layer, self.relative, self.grad_scale = layer, relative, grad_scale
        self.name, self.layers = f"style:{layer}", frozenset([layer])
        self.mask = None if mask is None else mask.detach().reshape(1, 1, *mask.shape[-2:])
        self._grids: dict[tuple[int, int], torch.Tensor] = {}
        self.area = 0  # positions of the layer's whole grid, set by positions()

    def prepare(self) -> None:
        """Called once per loss evaluation, before any :meth:`statistic` (sliced draws its directions here)."""

    def region(self, grid: tuple[int, int]) -> torch.Tensor | None:
        """The mask (guided style, Gatys et al. 2017) brought down to a layer's (h, w) grid by area averaging,
        (1, 1, h, w); None without a mask. Tiles take their part of the whole grid's."""
        if self.mask is None:
            return None
        if grid not in self._grids:
            mask = self.mask.float()
            if mask.shape[-2] < grid[0] or mask.shape[-1] < grid[1]:
                mask = torch.nn.functional.interpolate(mask, size=grid, mode="bilinear", align_corners=False)
            self._grids[grid] = torch.nn.functional.interpolate(mask, size=grid, mode="area")
        return self._grids[grid]

    def positions(self, grid: tuple[int, int]) -> torch.Tensor | int:
        """How many positions of a layer's (h, w) grid the term covers: h·w, or the mask's sum there."""
        region = self.region(grid)
        self.area = grid[0] * grid[1]  # the whole layer's, for statistics that sum rather than average
        return self.area if region is None else region.sum().clamp_min(1e-6)

    def statistic(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """The raw statistic of (1, C, H, W) features (e.g. F·Fᵀ), before dividing by the positions; with
        ``weights`` (1, 1, H, W: the mask there) each position counts that much."""
        raise NotImplementedError

    def distance(self, statistic: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        """This term's loss given the image's raw statistic over ``positions`` H·W (a mask's sum)."""
        raise NotImplementedError

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        self.prepare()
        feats = features[self.layer]
        if self.grad_scale is not None:
            feats = F.normalize_gradient(feats, self.grad_scale)
        grid = (feats.shape[-2], feats.shape[-1])
        return {self.name: self.distance(self.statistic(feats, self.region(grid)), self.positions(grid))}


class GramLoss(StyleLoss):
    """Match the Gram matrix of one layer to a target Gram (see :func:`functional.gram_loss`), times the
    layer's ``factor`` (see :func:`functional.style_factor`); ``grad_scale`` as for :class:`ContentLoss`."""

    def __init__(self, layer: str, target_gram: torch.Tensor, normalize: str = F.GRAM_NORMALIZE,
                 relative: bool = F.RELATIVE, reduction: str = "mean", factor: str = "none",
                 grad_scale: float | None = None, mask: torch.Tensor | None = None) -> None:
        super().__init__(layer, relative, grad_scale, mask)
        self.target, self.normalize, self.reduction, self.factor = target_gram.detach(), normalize, reduction, factor

    def statistic(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        if weights is not None:  # the guided Gram: Σ w·f·fᵀ over the region
            features = features * weights.sqrt().to(features.dtype)
        return F.gram_matrix(features, "none")

    def distance(self, statistic: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        channels = statistic.shape[-1]
        if self.mask is not None:  # a region's Gram as if it covered the layer: sums compare with the target's
            statistic, positions = statistic * (self.area / positions), self.area
        gram = statistic / F.gram_divisor(channels, positions, self.normalize)
        factor = F.style_factor(self.factor, channels, positions)
        return F.gram_loss(gram, self.target, self.relative, self.reduction) * factor


class _MomentLoss(StyleLoss):
    """A style loss on the first and second moments of the features (target: packed :func:`functional.moments`,
    blended over several styles by a weighted average)."""

    def __init__(self, layer: str, target_moments: torch.Tensor, relative: bool = F.RELATIVE,
                 grad_scale: float | None = None, mask: torch.Tensor | None = None) -> None:
        super().__init__(layer, relative, grad_scale, mask)
        self.target = target_moments.detach()

    def statistic(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return F.moment_sums(features, weights)


class W2Loss(_MomentLoss):
    """Wasserstein-2 distance between the Gaussians of the image's and the target's features (see
    :func:`functional.w2_distance`); the target's covariance root is computed once."""

    def __init__(self, layer: str, target_moments: torch.Tensor, relative: bool = F.RELATIVE,
                 grad_scale: float | None = None, eps: float = F.W2_EPS, mask: torch.Tensor | None = None) -> None:
        super().__init__(layer, target_moments, relative, grad_scale, mask)
        self.eps = F.w2_eps(self.target, eps)
        self.target_root = F.sqrtm(F.covariance(self.target, self.eps))

    def distance(self, statistic: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        return F.w2_distance(statistic / positions, self.target, self.target_root, self.eps, self.relative)


class MeanStdLoss(_MomentLoss):
    """Per-channel means and standard deviations matched to the target's (see :func:`functional.meanstd_distance`)."""

    def statistic(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        flat = features.reshape(features.shape[-3], -1)
        w = 1 if weights is None else weights.reshape(1, -1).to(flat.dtype)
        # only the diagonal of E[f·fᵀ] is needed: pack it as a diagonal matrix for meanstd_distance
        return torch.cat([torch.diag_embed((flat.pow(2) * w).sum(-1)), (flat * w).sum(-1, keepdim=True)], dim=-1)

    def distance(self, statistic: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        return F.meanstd_distance(statistic / positions, self.target, self.relative)


class SlicedLoss(StyleLoss):
    """Sliced Wasserstein distance to the target's features (see :func:`functional.sliced_distance`), with fresh
    random directions, as many as channels, at every evaluation (from ``generator``, so runs repeat with a seed).
    ``target_features``: (C, N) samples of the style (several styles: their mixture)."""

    combine = "cat"

    def __init__(self, layer: str, target_features: torch.Tensor, relative: bool = F.RELATIVE,
                 grad_scale: float | None = None, generator: torch.Generator | None = None,
                 mask: torch.Tensor | None = None) -> None:
        super().__init__(layer, relative, grad_scale, mask)
        channels = target_features.shape[0 if target_features.dim() == 2 else -3]
        self.target = target_features.detach().reshape(channels, -1)
        self.generator = generator or torch.Generator().manual_seed(0)
        # drawn by prepare(), before every evaluation
        self.directions = self.target_projected = torch.empty(0)

    def prepare(self) -> None:
        self.directions = F.random_directions(self.target.shape[0], generator=self.generator).to(self.target)
        self.target_projected = F.project(self.target, self.directions)

    def statistic(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        projected = F.project(features, self.directions)
        if weights is None:
            return projected
        return torch.cat([projected, weights.reshape(1, -1).to(projected.dtype)])  # each position's weight, last

    def distance(self, statistic: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        if self.mask is not None:
            return F.weighted_sliced_distance(statistic[:-1], statistic[-1], self.target_projected, self.relative)
        return F.sliced_distance(statistic, self.target_projected, self.relative)


class TotalVariation(Objective):
    """Smoothness of the image itself (see :func:`functional.variation`), measured in pixel ``space`` (e.g. 0-255
    or the network's preprocessed values, so a tutorial's weight means what it meant there); RGB [0, 1] by
    default; ``wrap``: around the edges too (tileable images)."""

    def __init__(self, beta: float = 2.0, kind: str | None = None, reduction: str = "mean",
                 space: PixelSpace = UNIT, wrap: bool = False) -> None:
        self.beta, self.reduction, self.space, self.wrap = beta, reduction, space, wrap
        self.kind = kind or ("squared" if beta == 2.0 else "beta")
        self.name = "tv"

    def value(self, image: torch.Tensor) -> torch.Tensor:
        """The loss of ``image`` (RGB in [0, 1])."""
        seen = image if self.space is UNIT else self.space.to_space(image)
        return F.variation(seen, self.kind, self.reduction, self.beta, self.wrap)

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        return {self.name: self.value(image)}


class TemporalLoss(Objective):
    """Distance to a warped previous frame where the flow is reliable (see :func:`functional.temporal_loss`);
    target (1, 3, H, W) and mask (1, 1, H, W) are resized to the image's size when it differs (multi-scale)."""

    def __init__(self, target: torch.Tensor, mask: torch.Tensor) -> None:
        self.target, self.mask = target, mask
        self.name = "temporal"

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        target, mask = self.target, self.mask
        if target.shape[-2:] != image.shape[-2:]:
            size = tuple(image.shape[-2:])
            target = torch.nn.functional.interpolate(target, size=size, mode="bilinear", align_corners=False)
            mask = torch.nn.functional.interpolate(mask, size=size, mode="bilinear", align_corners=False)
        return {self.name: F.temporal_loss(image, target.to(image), mask.to(image))}


class AlphaNorm(Objective):
    """Pixel range regulariser (see :func:`functional.alpha_norm`)."""

    def __init__(self, alpha: float = 6.0) -> None:
        self.alpha = alpha
        self.name = "alpha"

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        return {self.name: F.alpha_norm(image, self.alpha)}


class ActivationLoss(Objective):
    """Minus the mean squared activation of a layer (or of some of its channels): minimising it is DeepDream's
    ascent (see :func:`functional.activation_l2`)."""

    def __init__(self, layer: str, channels: list[int] | None = None) -> None:
        self.layer, self.channels = layer, channels
        self.name, self.layers = f"activation:{layer}", frozenset([layer])

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        return {self.name: -F.activation_l2(features[self.layer], self.channels)}


class GuidedActivationLoss(Objective):
    """Minus DeepDream's guided objective towards a guide image's features (see
    :func:`functional.guided_activation`)."""

    def __init__(self, layer: str, guide_features: torch.Tensor) -> None:
        self.layer, self.guide = layer, guide_features.detach().flatten(1)
        self.name, self.layers = f"guide:{layer}", frozenset([layer])

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        return {self.name: -F.guided_activation(features[self.layer], self.guide)}


def _items(features: torch.Tensor, batch: int | None) -> torch.Tensor:
    return features if batch is None else features[batch:batch + 1]


class ChannelActivation(Objective):
    """Minus the mean activation of one channel of a layer (of one image of the batch, or of all): minimising it
    is lucid's ``channel`` objective, activation maximisation."""

    def __init__(self, layer: str, channel: int, batch: int | None = None) -> None:
        self.layer, self.channel, self.batch = layer, channel, batch
        self.name, self.layers = f"channel:{layer}:{channel}", frozenset([layer])

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        return {self.name: -_items(features[self.layer], self.batch)[:, self.channel].mean()}


class NeuronActivation(Objective):
    """Minus one unit's activation: channel ``channel`` at position (``y``, ``x``) of a layer (default: the
    centre), of one image of the batch or averaged over all (lucid's ``neuron`` objective)."""

    def __init__(self, layer: str, channel: int, y: int | None = None, x: int | None = None,
                 batch: int | None = None) -> None:
        self.layer, self.channel, self.y, self.x, self.batch = layer, channel, y, x, batch
        self.name, self.layers = f"neuron:{layer}:{channel}", frozenset([layer])

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        f = _items(features[self.layer], self.batch)[:, self.channel]
        y = f.shape[-2] // 2 if self.y is None else self.y
        x = f.shape[-1] // 2 if self.x is None else self.x
        return {self.name: -f[:, y, x].mean()}


class Diversity(Objective):
    """The mean cosine similarity between the Gram matrices of some images of the batch at a layer (lucid's
    ``diversity``, as a loss): minimising it pushes the images apart in style. Scaled by the mean magnitude of
    ``channel`` in those images (held constant), so its weight is relative to that channel's activation."""

    def __init__(self, layer: str, batch: list[int], channel: int | None = None) -> None:
        self.layer, self.batch, self.channel = layer, list(batch), channel
        self.name, self.layers = f"diversity:{layer}", frozenset([layer])

    def terms(self, image: torch.Tensor, features: Features) -> dict[str, torch.Tensor]:
        f = features[self.layer][self.batch]
        if len(self.batch) < 2:
            return {self.name: f.sum() * 0}
        grams = torch.nn.functional.normalize(F.gram_matrix(f).flatten(1), dim=1)
        similarity = grams @ grams.T
        n = len(self.batch)
        mean = (similarity.sum() - similarity.diagonal().sum()) / (n * (n - 1))
        scale = f[:, self.channel].mean().abs().detach() if self.channel is not None else 1.0
        return {self.name: mean * scale}
