"""Shared validation and pair geometry of the neighbour lists (private).

Every builder (:func:`~symnet.systems.neighbours.all_pairs`,
:func:`~symnet.systems.neighbours.cell_list_pairs`) and every consumer
(:meth:`Pairs.displacements <symnet.systems.neighbours.Pairs.displacements>`)
computes the separation of a pair ``(i, j)`` with ``i < j`` by the one function
:func:`separations`, and decides "within the cutoff" by the one test
``r^2 < cutoff^2`` in the dtype of the positions, so that different builders
find bitwise the same pair set.
"""

from __future__ import annotations

import torch
from torch import Tensor

from symnet._functorch import vmapped
from symnet._validate import real
from symnet.groups.box import PeriodicBox

__all__ = [
    "check_box",
    "check_cutoff",
    "check_finite",
    "check_positions",
    "separations",
    "within",
]


def check_box(box: object) -> PeriodicBox | None:
    """``box`` if it is a :class:`~symnet.groups.PeriodicBox` or ``None``."""
    if box is not None and not isinstance(box, PeriodicBox):
        raise TypeError(
            f"box must be a symnet.groups.PeriodicBox or None, got {type(box).__name__} {box!r}"
        )
    return box


def check_cutoff(cutoff: object, box: PeriodicBox | None, name: str = "cutoff") -> float:
    """``cutoff`` as a positive finite float, at most half the smallest box side."""
    value = real(cutoff, name, positive=True)
    if box is not None:
        value = box.check_cutoff(value, name)
    return value


def check_positions(q: object, box: PeriodicBox | None, name: str = "q") -> Tensor:
    """``q`` if it is a floating-point tensor of shape ``(N, d)`` or ``(B, N, d)``."""
    if not isinstance(q, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (N, d) or (B, N, d), got {type(q).__name__}"
        )
    if not q.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {q.dtype}")
    if q.dim() not in (2, 3) or q.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (N, d) or (B, N, d), got {tuple(q.shape)}")
    if box is not None and q.shape[-1] != box.dim:
        raise ValueError(
            f"{name} must have shape (..., N, {box.dim}) for the {box.dim}-d box {box!r}, "
            f"got {tuple(q.shape)}"
        )
    return q


def check_finite(x: Tensor, name: str = "q") -> None:
    """ValueError unless every entry of ``x`` is finite (one host sync)."""
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must hold finite positions, got NaN or inf")


def nonfinite_configurations(q: Tensor) -> Tensor | None:
    """The mask ``q.shape[:-2]`` of configurations ``(..., N, d)`` holding NaN/inf, or None.

    None when every configuration is finite, and under ``torch.func.vmap``
    (whose batched values cannot be read). A potential gives NaN energy and
    forces for the masked configurations (a diverged rollout then reports its
    step and sample) instead of letting the neighbour list refuse them. One
    host read.
    """
    if vmapped():
        return None
    bad = ~torch.isfinite(q.detach()).flatten(-2).all(-1)
    return bad if bool(bad.any()) else None


def separations(
    flat: Tensor, i: Tensor, j: Tensor, box: PeriodicBox | None, shifts: bool = True
) -> tuple[Tensor, Tensor | None]:
    """Displacements ``q[j] - q[i]`` (minimum image under a box) and the image shifts.

    Parameters
    ----------
    flat : Tensor
        Positions, shape ``(M, d)`` (batched configurations flattened).
    i, j : Tensor
        Flat particle indices, int64, shape ``(P,)``.
    box : PeriodicBox or None
        The periodic box, or ``None`` for open boundaries.
    shifts : bool
        Whether to compute the shifts (else ``None`` is returned for them).

    Returns
    -------
    dx : Tensor
        ``(P, d)``: ``box.minimum_image(q[j] - q[i])``, or ``q[j] - q[i]``.
    shift : Tensor
        ``(P, d)``, detached: integer multiples of the box lengths with
        ``q[j] - q[i] + shift == dx`` (to round-off); zeros without a box.
    """
    raw = flat[j] - flat[i]
    if box is None:
        return raw, torch.zeros_like(raw).detach() if shifts else None
    dx = box.minimum_image(raw)
    if not shifts:
        return dx, None
    with torch.no_grad():
        L = box.lengths.to(dtype=raw.dtype, device=raw.device)
        shift = L * torch.round((dx - raw) / L)
    return dx, shift


def within(dx: Tensor, cutoff: float) -> Tensor:
    """Boolean mask ``|dx|^2 < cutoff^2`` (in ``dx``'s dtype), shape ``dx.shape[:-1]``."""
    return (dx * dx).sum(-1) < cutoff * cutoff
