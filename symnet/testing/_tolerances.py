"""The tolerance table of the symmetry assertions: one entry per dtype.

A check passes when ``|difference| <= atol + rtol * scale`` (see
:mod:`symnet.testing.equivariance` for ``scale``), i.e. when the relative
error ``|difference| / scale`` is at most ``rtol + atol / scale``.

The defaults are relative, not absolute: an exact symmetry evaluated in
float64 shows relative errors near 1e-15 (round-off grows with depth, hence
the margin), a broken one errors of the order of the breaking term. Peers use
1e-9 (float64) and 1e-3 (float32) absolute (e3nn), 1e-4 relative (EMLP).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import torch

__all__ = ["Tolerance", "TOLERANCES", "resolve_tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """Relative and absolute tolerance of one dtype.

    Parameters
    ----------
    rtol : float
        Allowed relative error ``|difference| / scale``.
    atol : float
        Absolute slack added to ``rtol * scale`` (0 by default: errors are
        relative).
    """

    rtol: float
    atol: float = 0.0

    def __str__(self) -> str:
        return f"rtol={self.rtol:.0e}" + (f", atol={self.atol:.0e}" if self.atol else "")


#: dtype -> :class:`Tolerance`: float64 ``rtol=1e-9``, float32 ``rtol=1e-4``; ``atol=0``.
TOLERANCES: MappingProxyType[torch.dtype, Tolerance] = MappingProxyType(
    {
        torch.float64: Tolerance(rtol=1e-9),
        torch.float32: Tolerance(rtol=1e-4),
    }
)


def resolve_tolerance(dtype: torch.dtype, rtol: float | None, atol: float | None) -> Tolerance:
    """The tolerance in effect: ``TOLERANCES[dtype]`` overridden by ``rtol`` / ``atol``.

    Raises
    ------
    ValueError
        ``dtype`` has no table entry and ``rtol`` is not given, or a tolerance
        is negative or not finite.
    """
    base = TOLERANCES.get(dtype)
    if base is None and rtol is None:
        known = ", ".join(str(d) for d in TOLERANCES)
        raise ValueError(
            f"dtype {dtype} has no default tolerance (known: {known}); pass rtol= explicitly"
        )
    tol = Tolerance(
        rtol=float(rtol) if rtol is not None else base.rtol,  # type: ignore[union-attr]
        atol=float(atol) if atol is not None else (base.atol if base is not None else 0.0),
    )
    for name, value in (("rtol", tol.rtol), ("atol", tol.atol)):
        if not (value >= 0.0 and value < float("inf")):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return tol
