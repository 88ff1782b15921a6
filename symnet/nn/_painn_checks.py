"""Input checks and masking helpers of the PaiNN layers (private)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_mask", "check_points", "check_vector_input", "check_vectors", "masked"]


def check_vectors(v: Tensor, name: str, lead: tuple[int, ...], channels: int, d: int) -> None:
    """``v`` must have shape ``(*lead, channels, d)``, else a ValueError naming ``name``."""
    want = (*lead, channels, d)
    if tuple(v.shape) != want:
        raise ValueError(
            f"{name} must have shape (..., N, C, d) = {want} (C = {channels} vector channels), "
            f"got {tuple(v.shape)}"
        )


def check_vector_input(v: Tensor | None, lead: tuple[int, ...], channels: int, d: int) -> None:
    """``v`` ``(*lead, channels, d)`` exactly when ``channels > 0``, else a ValueError."""
    if channels == 0 and v is not None:
        raise ValueError(
            "v was given but the model has in_vector_features=0; build it with "
            "in_vector_features=C to pass C vector channels"
        )
    if channels and v is None:
        raise ValueError(
            f"this model was built with in_vector_features={channels}: pass v of shape "
            "(..., N, C, d)"
        )
    if v is not None:
        check_vectors(v, "v", lead, channels, d)


def check_points(h: Tensor, x: Tensor, features: int) -> None:
    """``h`` ``(..., N, features)`` and ``x`` ``(..., N, d)``, else a ValueError naming them."""
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., N, d), got {tuple(x.shape)}")
    if h.shape[:-1] != x.shape[:-1]:
        raise ValueError(
            f"h (..., N, F) and x (..., N, d) must agree on (..., N): h {tuple(h.shape)}, "
            f"x {tuple(x.shape)}"
        )
    if h.shape[-1] != features:
        raise ValueError(
            f"h must have {features} features on its last axis, got shape {tuple(h.shape)}"
        )


def check_mask(mask: Tensor | None, x: Tensor) -> None:
    """``mask`` must be None or boolean of shape ``x.shape[:-1]`` ``(..., N)``."""
    if mask is None:
        return
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a boolean tensor, got {got}")
    if mask.shape != x.shape[:-1]:
        raise ValueError(
            f"mask must have shape {tuple(x.shape[:-1])} (..., N), got {tuple(mask.shape)}"
        )


def masked(mask: Tensor, *ts: Tensor, fill: tuple[Tensor, ...] | None = None) -> tuple[Tensor, ...]:
    """Per-particle tensors ``(..., N, ...)`` with padded particles' entries replaced.

    By 0 (before any arithmetic: padding may hold NaN), or by those of ``fill``.
    """
    out = []
    for k, t in enumerate(ts):
        keep = mask.reshape(*mask.shape, *[1] * (t.dim() - mask.dim()))
        out.append(torch.where(keep, t, 0.0 if fill is None else fill[k]))
    return tuple(out)
