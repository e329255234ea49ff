"""Pure loss functions on features and images.

Notation follows Gatys et al., "Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016):
a layer with N_l channels and M_l = H·W positions has features F (N_l × M_l).
"""
from __future__ import annotations

import torch

from ..options import GRAM_NORMALIZATIONS, REDUCTIONS, STYLE_FACTORS, TV_KINDS

# stylekit's own conventions, the defaults of these functions and of the objectives built on them:
GRAM_NORMALIZE = "chw"  # Grams divided by C·H·W
RELATIVE = True  # distances divided by the target's magnitude (scale-free)


def gram_divisor(channels: int, positions: int, normalize: str = GRAM_NORMALIZE) -> int:
    """What a plain F·Fᵀ over ``positions`` (H·W) positions of ``channels`` channels is divided by."""
    if normalize == "none":
        return 1
    if normalize == "hw":
        return positions
    if normalize == "chw":
        return channels * positions
    raise ValueError(f"unknown Gram normalisation {normalize!r}: use one of {GRAM_NORMALIZATIONS}")


def gram_matrix(features: torch.Tensor, normalize: str = GRAM_NORMALIZE) -> torch.Tensor:
    """Gram matrix G = F·Fᵀ of (C, H, W) or (B, C, H, W) features; (C, C) or (B, C, C) out.

    ``normalize``: ``"none"`` gives the plain F·Fᵀ of Gatys et al. (2016, eq. 3); ``"hw"`` divides by H·W
    (a mean over positions, so Grams of different image sizes compare); ``"chw"`` divides by C·H·W.
    """
    if features.dim() not in (3, 4):
        raise ValueError(f"gram_matrix expects (C,H,W) or (B,C,H,W) features, got {tuple(features.shape)}")
    c, h, w = features.shape[-3:]
    if features.dim() == 4 and not features.is_contiguous() and features.is_contiguous(
            memory_format=torch.channels_last):
        # (B, H·W, C) is a free view of channels-last features: no copy, and the gradient flows back
        # channels-last, so autograd adds it to the next layer's gradient without a layout conversion.
        positions = features.permute(0, 2, 3, 1).reshape(features.shape[0], h * w, c)
        gram = positions.transpose(-1, -2) @ positions
    else:
        flat = features.reshape(*features.shape[:-2], h * w)
        gram = flat @ flat.transpose(-1, -2)
    divisor = gram_divisor(c, h * w, normalize)
    return gram if divisor == 1 else gram / divisor


def reduce(values: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Reduce elementwise squared differences: ``mean``, ``sum``, ``half-sum`` (½Σ, as Gatys et al. write the
    content loss) or ``rms`` (the square root of the mean: a root-mean-square distance)."""
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "half-sum":
        return values.sum() / 2
    if reduction == "rms":
        return values.mean().clamp_min(1e-30).sqrt()
    raise ValueError(f"unknown reduction {reduction!r}: use one of {', '.join(REDUCTIONS)}")


def content_loss(features: torch.Tensor, target: torch.Tensor, relative: bool = RELATIVE,
                 reduction: str = "mean") -> torch.Tensor:
    """Squared feature difference, reduced: ``half-sum`` is Gatys et al. (2016, eq. 1) ½Σ(F−P)², ``mean`` divides
    Σ(F−P)² by the N_l·M_l values.

    With ``relative`` the result is divided by the target reduced the same way (e.g. mean(P²)), so a value of 1
    means "as far from the target as a zero image" whatever the layer's scale.
    """
    loss = reduce((features - target).pow(2), reduction)
    if relative:
        loss = loss / reduce(target.pow(2), reduction).clamp_min(1e-12)
    return loss


def style_factor(kind: str, channels: int, positions: int) -> float:
    """A per-layer factor on a Gram distance: ``none`` (1), ``2hw-squared`` (1/(2·H·W)², the Keras tutorial's)
    or ``4n2m2`` (1/(4·N_l²·M_l²), Gatys et al. 2016 eq. 4), for ``channels`` N_l and ``positions`` M_l = H·W."""
    if kind == "none":
        return 1.0
    if kind == "2hw-squared":
        return 1.0 / (2.0 * positions) ** 2
    if kind == "4n2m2":
        return 1.0 / (4.0 * channels**2 * positions**2)
    raise ValueError(f"unknown style factor {kind!r}: use one of {', '.join(STYLE_FACTORS)}")


def gram_loss(gram: torch.Tensor, target_gram: torch.Tensor, relative: bool = RELATIVE,
              reduction: str = "mean") -> torch.Tensor:
    """Squared Gram difference reduced over the N_l² entries (``mean``: Σ(G−A)²/N_l²).

    With Grams normalised by H·W (``gram_matrix(..., "hw")``) the mean is 4·E_l of Gatys et al. (2016, eq. 4),
    E_l = Σ(G−A)²/(4N_l²M_l²) on plain Grams (which is ``sum`` times ``style_factor("4n2m2", ...)``). With
    ``relative`` it is divided by the target reduced the same way (Σ(G−A)²/ΣA² for mean or sum), a scale-free
    distance (0 = the target's statistics, 1 = as far as an all-zero Gram).
    """
    loss = reduce((gram - target_gram).pow(2), reduction)
    if relative:
        loss = loss / reduce(target_gram.pow(2), reduction).clamp_min(1e-12)
    return loss


def style_loss(features: torch.Tensor, target_features: torch.Tensor, normalize: str = GRAM_NORMALIZE,
               relative: bool = RELATIVE, reduction: str = "mean", factor: str = "none") -> torch.Tensor:
    """The Gram distance of two feature maps of one layer (C, H, W): :func:`gram_loss` of their Grams times
    :func:`style_factor` of the layer (H·W of ``features``). Seed 003's ``style_reconstruction_loss`` is
    ``style_loss(output, base, "none", False, "sum", "2hw-squared")``."""
    gram = gram_matrix(features, normalize)
    positions = features.shape[-2] * features.shape[-1]
    return gram_loss(gram, gram_matrix(target_features, normalize), relative, reduction) * style_factor(
        factor, features.shape[-3], positions)


# ---- style losses beyond the Gram matrix ---------------------------------------------------------------------

W2_EPS = 1e-4  # added to covariances' diagonals, relative to the target's mean channel variance
SQRTM_ITERATIONS = 20  # Newton-Schulz iterations, forward and backward (enough for eigenvalues 1e-6 of the norm)


def moment_sums(features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Sums over positions of (C, H, W) or (1, C, H, W) features, packed (C, C + 1): ``[Σ f·fᵀ | Σ f]`` (they add
    up over tiles; divided by the H·W positions they are :func:`moments`). With ``weights`` (H, W broadcastable,
    e.g. a mask) each position counts that much: ``[Σ w·f·fᵀ | Σ w·f]``, divided by Σw the region's moments."""
    channels = features.shape[-3]
    if weights is None:
        second = gram_matrix(features, "none").reshape(channels, channels)
        return torch.cat([second, features.reshape(channels, -1).sum(-1, keepdim=True)], dim=-1)
    w = weights.reshape(1, -1).to(features.dtype)
    flat = features.reshape(channels, -1)
    second = gram_matrix(features * weights.sqrt().to(features.dtype), "none").reshape(channels, channels)
    return torch.cat([second, (flat * w).sum(-1, keepdim=True)], dim=-1)


def moments(features: torch.Tensor) -> torch.Tensor:
    """First and second raw moments over positions of (C, H, W) or (1, C, H, W) features, packed (C, C + 1):
    ``[E[f·fᵀ] | E[f]]``. Several images' moments blend by a weighted average."""
    return moment_sums(features) / (features.shape[-2] * features.shape[-1])


def _ns_sqrt(a: torch.Tensor, iterations: int) -> torch.Tensor:
    """Coupled Newton-Schulz iteration: Y → √(A/‖A‖), Z → its inverse; returns √A."""
    norm = a.norm()
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    y, z = a / norm, eye
    for _ in range(iterations):
        t = (3 * eye - z @ y) / 2
        y, z = y @ t, t @ z
    return y * norm.sqrt()


def _ns_lyapunov(z: torch.Tensor, g: torch.Tensor, iterations: int) -> torch.Tensor:
    """X with Z·X + X·Z = G (the gradient through √A of a symmetric positive definite A with √A = Z), by the
    Newton-Schulz iteration of Lin & Maji (2017): B → I, C → 2X, starting from B = Z/‖Z‖, C = G/‖Z‖."""
    norm = z.norm()
    eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
    b, c = z / norm, g / norm
    for _ in range(iterations):
        b2 = b @ b
        c = (c @ (3 * eye - b2) - b2 @ c + b @ c @ b) / 2
        b = b @ (3 * eye - b2) / 2
    return c / 2


class _MatrixSqrt(torch.autograd.Function):
    """√A of a symmetric positive definite matrix by Newton-Schulz, with the Lyapunov-equation backward."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, iterations: int) -> torch.Tensor:  # noqa: ANN001 - autograd's
        z = _ns_sqrt(a, iterations)
        ctx.save_for_backward(z)
        ctx.iterations = iterations
        return z

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001 - autograd's
        (z,) = ctx.saved_tensors
        return _ns_lyapunov(z, (g + g.transpose(-1, -2)) / 2, ctx.iterations), None


def sqrtm(a: torch.Tensor, iterations: int = SQRTM_ITERATIONS) -> torch.Tensor:
    """The square root of a symmetric positive definite (C, C) matrix (Newton-Schulz iterations), differentiable."""
    return _MatrixSqrt.apply(a, iterations)


def covariance(m: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """The covariance E[f·fᵀ] − μμᵀ of packed :func:`moments`, plus ``eps`` on the diagonal."""
    mean = m[..., -1:]
    cov = m[..., :-1] - mean @ mean.transpose(-1, -2)
    return cov + eps * torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device) if eps else cov


def w2_eps(target: torch.Tensor, eps: float = W2_EPS) -> float:
    """The absolute diagonal term for a target's packed moments: ``eps`` times its mean channel variance."""
    return eps * float(covariance(target).diagonal().mean().clamp_min(1e-12))


def w2_distance(m: torch.Tensor, target: torch.Tensor, target_cov_sqrt: torch.Tensor | None = None,
                eps: float | None = None, relative: bool = RELATIVE) -> torch.Tensor:
    """Squared Wasserstein-2 (Fréchet) distance between the Gaussians of two packed :func:`moments`:
    ‖μ−μ_t‖² + tr(Σ + Σ_t − 2·(Σ_t^½ Σ Σ_t^½)^½), each covariance plus ``eps``·I (default :func:`w2_eps` of the
    target), the matrix roots by Newton-Schulz. ``target_cov_sqrt``: Σ_t^½ if already computed. With ``relative``
    divided by the target's distance from zero, ‖μ_t‖² + tr(Σ_t)."""
    eps = w2_eps(target) if eps is None else eps
    cov, cov_t = covariance(m, eps), covariance(target, eps)
    root_t = sqrtm(cov_t) if target_cov_sqrt is None else target_cov_sqrt
    mixed = sqrtm(root_t @ cov @ root_t)
    mean_term = (m[..., -1] - target[..., -1]).pow(2).sum()
    loss = mean_term + (cov.diagonal().sum() + cov_t.diagonal().sum() - 2 * mixed.diagonal().sum()).clamp_min(0)
    if relative:
        loss = loss / (target[..., -1].pow(2).sum() + cov_t.diagonal().sum()).clamp_min(1e-12)
    return loss


def w2_loss(features: torch.Tensor, target_features: torch.Tensor, eps: float = W2_EPS,
            relative: bool = RELATIVE) -> torch.Tensor:
    """:func:`w2_distance` between two feature maps' Gaussians (``eps`` relative to the target's variance)."""
    target = moments(target_features)
    return w2_distance(moments(features), target, eps=w2_eps(target, eps), relative=relative)


def mean_std(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation from packed :func:`moments`."""
    mean = m[..., -1]
    var = m[..., :-1].diagonal(dim1=-2, dim2=-1) - mean.pow(2)
    return mean, (var.clamp_min(0) + 1e-8).sqrt()


def meanstd_distance(m: torch.Tensor, target: torch.Tensor, relative: bool = RELATIVE) -> torch.Tensor:
    """Squared distance of the per-channel means and standard deviations (the AdaIN statistics) of two packed
    :func:`moments`, averaged over channels: mean((μ−μ_t)² + (σ−σ_t)²); with ``relative`` divided by
    mean(μ_t² + σ_t²)."""
    mean, std = mean_std(m)
    mean_t, std_t = mean_std(target)
    loss = ((mean - mean_t).pow(2) + (std - std_t).pow(2)).mean()
    if relative:
        loss = loss / (mean_t.pow(2) + std_t.pow(2)).mean().clamp_min(1e-12)
    return loss


def meanstd_loss(features: torch.Tensor, target_features: torch.Tensor, relative: bool = RELATIVE) -> torch.Tensor:
    """:func:`meanstd_distance` of two feature maps."""
    return meanstd_distance(moments(features), moments(target_features), relative)


def random_directions(channels: int, count: int | None = None, generator: torch.Generator | None = None,
                      ) -> torch.Tensor:
    """``count`` (default ``channels``) random unit vectors in feature space, (count, channels)."""
    d = torch.randn(count or channels, channels, generator=generator)
    return d / d.norm(dim=1, keepdim=True)


def project(features: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Every position's features projected on each direction: (P, N) from (C, N), (C, H, W) or (1, C, H, W)."""
    channels = features.shape[0 if features.dim() == 2 else -3]
    return directions.to(features) @ features.reshape(channels, -1)


def quantiles(sorted_values: torch.Tensor, count: int) -> torch.Tensor:
    """``count`` evenly spaced quantiles of each row of sorted values (linear interpolation), (P, count)."""
    n = sorted_values.shape[-1]
    if n == count:
        return sorted_values
    pos = (torch.arange(count, dtype=torch.float64, device=sorted_values.device) + 0.5) * n / count - 0.5
    pos = pos.clamp(0, n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    frac = (pos - lo).to(sorted_values.dtype)
    return sorted_values[..., lo] * (1 - frac) + sorted_values[..., hi] * frac


def sliced_distance(projected: torch.Tensor, target_projected: torch.Tensor,
                    relative: bool = RELATIVE) -> torch.Tensor:
    """The sliced Wasserstein loss of Heitz et al. (CVPR 2021) on projected features (P, N) and (P, N_t): each
    projection sorted, the target's resampled to N quantiles, mean squared difference of the sorted values; with
    ``relative`` divided by the mean square of the target's."""
    mine = projected.sort(dim=-1).values
    theirs = quantiles(target_projected.sort(dim=-1).values, mine.shape[-1])
    loss = (mine - theirs).pow(2).mean()
    if relative:
        loss = loss / theirs.pow(2).mean().clamp_min(1e-12)
    return loss


def weighted_sliced_distance(projected: torch.Tensor, weights: torch.Tensor, target_projected: torch.Tensor,
                             relative: bool = RELATIVE) -> torch.Tensor:
    """:func:`sliced_distance` where each of the N positions of ``projected`` (P, N) counts ``weights`` (N,) (a
    region's soft mask): every projection sorted, the target's quantile taken at each value's place in the
    weighted order, the squared differences averaged with the weights. All weights 1 is :func:`sliced_distance`."""
    mine, order = projected.sort(dim=-1)
    w = weights.reshape(-1).to(mine.dtype)[order]  # (P, N): each value's weight, in its projection's order
    total = w.sum(-1, keepdim=True).clamp_min(1e-12)
    place = (w.cumsum(-1) - w / 2) / total  # where each value sits in its weighted distribution, in (0, 1)
    theirs_sorted = target_projected.sort(dim=-1).values
    n = theirs_sorted.shape[-1]
    pos = (place * n - 0.5).clamp(0, n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    frac = pos - lo
    theirs = theirs_sorted.gather(-1, lo) * (1 - frac) + theirs_sorted.gather(-1, hi) * frac
    loss = ((mine - theirs).pow(2) * w).sum(-1, keepdim=True) / total
    if relative:
        return loss.mean() / (theirs.pow(2) * w / total).sum(-1).mean().clamp_min(1e-12)
    return loss.mean()


def sliced_loss(features: torch.Tensor, target_features: torch.Tensor, directions: torch.Tensor,
                relative: bool = RELATIVE) -> torch.Tensor:
    """:func:`sliced_distance` of two feature maps projected on ``directions`` (P, C)."""
    return sliced_distance(project(features, directions), project(target_features, directions), relative)


def _neighbours(image: torch.Tensor, wrap: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Right and down neighbour differences: where both exist, or (``wrap``) around the edges too, every pixel."""
    if wrap:
        return image.roll(-1, -1) - image, image.roll(-1, -2) - image
    return image[..., :-1, 1:] - image[..., :-1, :-1], image[..., 1:, :-1] - image[..., :-1, :-1]


def total_variation(image: torch.Tensor, beta: float = 2.0, eps: float = 1e-8,
                    reduction: str = "mean", wrap: bool = False) -> torch.Tensor:
    """Total variation of Mahendran & Vedaldi (2015, eq. 5): ((x[i,j+1]−x[i,j])² + (x[i+1,j]−x[i,j])²)^(β/2)
    over the pixels that have both neighbours and every channel, reduced (mean by default).

    β = 2 is the sum-of-squares smoothness of neural-style and of the Keras tutorial (reduction ``sum``); β = 1
    is isotropic TV. ``eps`` keeps the gradient finite at flat regions when β < 2. With ``wrap`` the last row and
    column neighbour the first (a tileable image's seam counts like any other edge).
    """
    dx, dy = _neighbours(image, wrap)
    sq = dx.pow(2) + dy.pow(2)
    return reduce(sq if beta == 2.0 else (sq + eps).pow(beta / 2), reduction)


def abs_variation(image: torch.Tensor, reduction: str = "sum", wrap: bool = False) -> torch.Tensor:
    """Anisotropic total variation, Σ|x[i+1,j]−x[i,j]| + Σ|x[i,j+1]−x[i,j]| over all neighbour pairs and channels:
    ``tf.image.total_variation`` with ``sum`` (per image, summed over the batch); ``mean`` divides by the number
    of values of the image."""
    if wrap:
        dy, dx = (image.roll(-1, -2) - image).abs(), (image.roll(-1, -1) - image).abs()
    else:
        dy = (image[..., 1:, :] - image[..., :-1, :]).abs()
        dx = (image[..., :, 1:] - image[..., :, :-1]).abs()
    if reduction == "mean":
        return (dy.sum() + dx.sum()) / image.numel()
    if reduction in ("sum", "half-sum"):
        return (dy.sum() + dx.sum()) / (2 if reduction == "half-sum" else 1)
    raise ValueError(f"absolute variation reduces by sum, half-sum or mean, not {reduction!r}")


_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_variation(image: torch.Tensor, reduction: str = "mean", wrap: bool = False) -> torch.Tensor:
    """Edge energy |S_x ∗ x| + |S_y ∗ x| of the 3×3 Sobel filters on every channel (edge pixels replicated), reduced:
    the variation loss seed 004's text describes (run a Sobel filter over the styled image and penalise the
    edges it finds)."""
    c = image.shape[-3]
    kx = _SOBEL.to(image)
    weight = torch.stack([kx, kx.t()]).unsqueeze(1).repeat(c, 1, 1, 1)  # (2C, 1, 3, 3)
    flat = image.reshape(-1, c, *image.shape[-2:])
    padded = torch.nn.functional.pad(flat, (1, 1, 1, 1), mode="circular" if wrap else "replicate")
    edges = torch.nn.functional.conv2d(padded, weight, groups=c).abs()
    return reduce(edges.reshape(flat.shape[0], c, 2, *flat.shape[-2:]).sum(2), reduction)


def variation(image: torch.Tensor, kind: str = "squared", reduction: str = "mean", beta: float = 2.0,
              wrap: bool = False) -> torch.Tensor:
    """The variation (smoothness) loss of one kind: ``squared`` (β = 2), ``beta`` (the β-norm of
    :func:`total_variation`), ``abs`` (:func:`abs_variation`) or ``sobel`` (:func:`sobel_variation`); ``wrap``:
    around the edges too (tileable images)."""
    if kind == "squared":
        return total_variation(image, 2.0, reduction=reduction, wrap=wrap)
    if kind == "beta":
        return total_variation(image, beta, reduction=reduction, wrap=wrap)
    if kind == "abs":
        return abs_variation(image, reduction, wrap)
    if kind == "sobel":
        return sobel_variation(image, reduction, wrap)
    raise ValueError(f"unknown variation kind {kind!r}: use one of {', '.join(TV_KINDS)}")


class _NormalizeGradient(torch.autograd.Function):
    """Identity forward; backward divides the incoming gradient by its L1 norm and multiplies by ``scale``."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, scale: float) -> torch.Tensor:  # noqa: ANN001 - autograd's
        ctx.scale = scale
        return features.view_as(features)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001 - autograd's
        return grad * (ctx.scale / (grad.abs().sum() + 1e-8)), None


def normalize_gradient(features: torch.Tensor, scale: float) -> torch.Tensor:
    """``features`` unchanged, but the gradient flowing back through them is L1-normalised and multiplied by
    ``scale``: neural-style's ``-normalize_gradients`` (each loss module's gradient divided by its L1 norm, then
    weighted), when the term after this carries weight ``scale``."""
    return _NormalizeGradient.apply(features, scale)


def temporal_loss(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Short-term temporal loss of Ruder et al. (2016, eq. 7): (1/D)·Σ c·(x − ω)², the squared difference to the
    flow-warped previous frame ``target`` weighted by the per-pixel consistency ``mask`` c (broadcast over
    channels), averaged over all D = C·H·W values."""
    return (mask * (image - target).pow(2)).sum() / image.numel()


def alpha_norm(image: torch.Tensor, alpha: float = 6.0) -> torch.Tensor:
    """Mahendran & Vedaldi's (2015, eq. 4) α-norm bound on pixels, mean(|2x − 1|^α) for x in [0, 1]: near 0
    for mid-range pixels, 1 at the edges of the range, so a large α keeps the image in its natural range."""
    return (image * 2 - 1).abs().pow(alpha).mean()


def activation_l2(features: torch.Tensor, channels: list[int] | None = None) -> torch.Tensor:
    """Half the mean squared activation of (B, C, H, W) features, optionally of some channels only: the
    quantity DeepDream (Mordvintsev et al., 2015) ascends."""
    if channels is not None:
        features = features[:, channels]
    return features.pow(2).mean() / 2


def guided_activation(features: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """DeepDream's guided objective: for every position of ``features`` (B, C, H, W), the largest dot product
    with any position of ``guide`` (C, N), averaged; ascending it grows the patterns the guide contains."""
    flat = features.flatten(2)  # B, C, M
    return (flat.transpose(1, 2) @ guide).amax(dim=2).mean() / flat.shape[1]
