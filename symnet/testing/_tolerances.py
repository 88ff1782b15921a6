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
from typing import Any

import torch

__all__ = ["DtypeTolerance", "TOLERANCES", "resolve_tolerance"]


@dataclass(frozen=True)
class DtypeTolerance:
    """Relative and absolute tolerance of the symmetry assertions for one dtype.

    (Not the verdict thresholds of the Noether checker,
    ``symnet.noether.VerdictThresholds``.)

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


#: dtype -> :class:`DtypeTolerance`: float64 ``rtol=1e-9``, float32 ``rtol=1e-4``; ``atol=0``.
TOLERANCES: MappingProxyType[torch.dtype, DtypeTolerance] = MappingProxyType(
    {
        torch.float64: DtypeTolerance(rtol=1e-9),
        torch.float32: DtypeTolerance(rtol=1e-4),
    }
)


def resolve_tolerance(dtype: torch.dtype, rtol: float | None, atol: float | None) -> DtypeTolerance:
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
    tol = DtypeTolerance(
        rtol=float(rtol) if rtol is not None else base.rtol,  # type: ignore[union-attr]
        atol=float(atol) if atol is not None else (base.atol if base is not None else 0.0),
    )
    for name, value in (("rtol", tol.rtol), ("atol", tol.atol)):
        if not (value >= 0.0 and value < float("inf")):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return tol


def __getattr__(name: str) -> Any:
    from symnet._deprecation import renamed_attribute

    return renamed_attribute(
        "symnet.testing", name, {"Tolerance": ("DtypeTolerance", DtypeTolerance)}
    )
