"""The tolerance table of the symmetry assertions: one entry per dtype.

A check passes when ``|difference| <= atol + rtol * scale`` (see
:mod:`symnet.testing.equivariance` for ``scale``), i.e. when the relative
error ``|difference| / scale`` is at most ``rtol + atol / scale``.

The defaults are relative, not absolute: an exact symmetry evaluated in
float64 shows relative errors near 1e-15 (round-off grows with depth, hence
the margin), a broken one errors of the order of the breaking term. Peers use
1e-9 (float64) and 1e-3 (float32) absolute (e3nn), 1e-4 relative (EMLP).

**Modules with float32 constants.** A module built in float32 and checked in
float64 is cast, but the values of its buffers stay float32-accurate: e3nn's
Clebsch-Gordan coefficients and normalisation constants are off by up to
float32's half-ulp (6e-8 relative), so a correct module shows relative errors
of 1e-9 to 1e-7 in a float64 check (measured: ``FullyConnectedTensorProduct(
"1o", "1o", "0e + 1e + 2e")`` up to 1.1e-8, larger tensor products up to
4.4e-8, a tensor product + ``Gate`` + ``Linear`` network up to 1e-8, the
``gate_points_2101.Network`` up to 1.1e-8), while a broken one shows 1e-2 to 1. Such a module (a
floating parameter or buffer of lower precision than the check, or a
float64 buffer whose non-integer values are all exactly float32 numbers) is
judged with :data:`FLOAT32_CONSTANTS_RTOL` = 1e-5 (about 100 float32 ulps, over 200x
above the largest correct error measured, three orders of magnitude below a
broken module's) unless ``rtol``/``atol`` are passed; the report says so in
``tolerance_note``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "DtypeTolerance",
    "FLOAT32_CONSTANTS_RTOL",
    "TOLERANCES",
    "low_precision_constants",
    "modules_of",
    "resolve_tolerance",
]

#: Relative tolerance of a float64 check of a module whose constants are float32-accurate.
FLOAT32_CONSTANTS_RTOL = 1e-5


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


def modules_of(fn: Any) -> list[nn.Module]:
    """The modules ``fn`` is or calls.

    Itself, the owner of a bound method, or the modules a plain function reaches
    through its closure or the globals it names (``lambda d: net(d)``).
    """
    if isinstance(fn, nn.Module):
        return [fn]
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, nn.Module):
        return [owner]
    if not inspect.isfunction(fn):
        return []
    try:
        refs = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return []
    values = [*refs.nonlocals.values(), *refs.globals.values()]
    return [v for v in values if isinstance(v, nn.Module)]


def _float32_exact(b: Tensor) -> bool:
    """A float64 buffer whose non-integer values are all float32 numbers (float32-accurate)."""
    if b.dtype != torch.float64 or b.numel() == 0:
        return False
    b = b.detach()
    fractional = b[b != b.round()]
    return fractional.numel() > 0 and bool((fractional.float().double() == fractional).all())


def low_precision_constants(fn: Any, dtype: torch.dtype) -> str:
    """Why ``fn``'s constants are less accurate than ``dtype``, or ``""``.

    ``fn`` (an ``nn.Module``, a method of one, or a function calling modules
    it holds in its closure or names as globals) has a floating parameter or
    buffer of lower precision than ``dtype``, or a float64 buffer whose
    non-integer values are all exactly float32 numbers (a module built in
    float32 and then converted with ``.double()``).
    """
    modules = modules_of(fn)
    if not modules or dtype != torch.float64:
        return ""
    buffers = [b for m in modules for b in m.buffers()]
    tensors = [p for m in modules for p in m.parameters()] + buffers
    low = sorted(
        {str(t.dtype).replace("torch.", "") for t in tensors if t.is_floating_point()} - {"float64"}
    )
    if low:
        return f"the module holds {'/'.join(low)} parameters or buffers"
    if any(_float32_exact(b) for b in buffers):
        return "the module's float64 buffers hold float32-accurate values"
    return ""


def model_tolerance(
    fn: Any, dtype: torch.dtype, rtol: float | None, atol: float | None
) -> tuple[DtypeTolerance, str]:
    """The tolerance for ``fn`` and a note saying why when it is not the dtype's default.

    A float64 check of a module with float32-accurate constants
    (:func:`low_precision_constants`) uses :data:`FLOAT32_CONSTANTS_RTOL`
    unless ``rtol`` or ``atol`` is given.
    """
    if rtol is None and atol is None:
        why = low_precision_constants(fn, dtype)
        if why:
            default = resolve_tolerance(dtype, None, None)
            note = (
                f"rtol={FLOAT32_CONSTANTS_RTOL:.0e} instead of {default} because {why}: its "
                f"constants are float32-accurate (about 1e-7), which a correct module shows as "
                f"relative errors up to ~1e-7; pass rtol= to override"
            )
            return resolve_tolerance(dtype, FLOAT32_CONSTANTS_RTOL, None), note
    return resolve_tolerance(dtype, rtol, atol), ""


def __getattr__(name: str) -> Any:
    from symnet._deprecation import renamed_attribute

    return renamed_attribute(
        "symnet.testing", name, {"Tolerance": ("DtypeTolerance", DtypeTolerance)}
    )
