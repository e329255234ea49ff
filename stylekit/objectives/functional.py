"""Pure loss functions on features and images.

Notation follows Gatys et al., "Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016):
a layer with N_l channels and M_l = H·W positions has features F (N_l × M_l).
"""
from __future__ import annotations

import torch

GRAM_NORMALIZATIONS = ("none", "hw", "chw")
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


def content_loss(features: torch.Tensor, target: torch.Tensor, relative: bool = RELATIVE) -> torch.Tensor:
    """Mean squared feature difference: Gatys et al. (2016, eq. 1) ½Σ(F−P)² divided by N_l·M_l/2.

    With ``relative`` the result is further divided by the mean square of the target, mean(P²), so a value
    of 1 means "as far from the target as a zero image" whatever the layer's scale.
    """
    loss = (features - target).pow(2).mean()
    if relative:
        loss = loss / target.pow(2).mean().clamp_min(1e-12)
    return loss


def gram_loss(gram: torch.Tensor, target_gram: torch.Tensor, relative: bool = RELATIVE) -> torch.Tensor:
    """Squared Gram difference averaged over the N_l² entries: Σ(G−A)²/N_l².

    With Grams normalised by H·W (``gram_matrix(..., "hw")``) this is 4·E_l of Gatys et al. (2016, eq. 4),
    E_l = Σ(G−A)²/(4N_l²M_l²) on plain Grams. With ``relative`` it is Σ(G−A)²/ΣA² instead, a scale-free
    distance (0 = the target's statistics, 1 = as far as an all-zero Gram).
    """
    diff = (gram - target_gram).pow(2)
    if relative:
        return diff.sum() / target_gram.pow(2).sum().clamp_min(1e-12)
    return diff.mean()


def total_variation(image: torch.Tensor, beta: float = 2.0, eps: float = 1e-8) -> torch.Tensor:
    """Total variation of Mahendran & Vedaldi (2015, eq. 5), averaged over pixels and channels:
    mean(((x[i,j+1]−x[i,j])² + (x[i+1,j]−x[i,j])²)^(β/2)).

    β = 2 is the sum-of-squares smoothness used by neural-style; β = 1 is isotropic TV. ``eps`` keeps the
    gradient finite at flat regions when β < 2.
    """
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    sq = dx.pow(2) + dy.pow(2)
    if beta == 2.0:
        return sq.mean()
    return (sq + eps).pow(beta / 2).mean()


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
