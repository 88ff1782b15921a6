"""The body of the symmetry assertions: prepare, call, check, report.

Private module. :func:`run_check` validates the arguments, hands structured
inputs to :func:`symnet.testing._structured.adapt` (one or more problems over
plain tensors, whose rows are merged into one report), runs the finite
element and Lie derivative checks of :mod:`symnet.testing._engine`, detects
vacuous checks (:mod:`symnet.testing._vacuous`) and raises on failure.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

from symnet.groups import Generator, Group, as_group
from symnet.testing import _engine, _structured
from symnet.testing._calls import Caller, as_outputs, cast_for_check, output_names
from symnet.testing._inputs import _is_single_kind, check_outputs, parse_kinds, prepare
from symnet.testing._tolerances import DtypeTolerance, model_tolerance
from symnet.testing._vacuous import vacuous_reason
from symnet.testing.report import (
    CheckResult,
    SymmetryAssertionError,
    SymmetryReport,
    SymmetryWarning,
)

__all__ = ["run_check", "fn_name", "count_kinds"]

#: Session-wide defaults of the assertions; the pytest plugin sets ``strict`` from
#: ``--symnet-strict`` (or the ini value ``symnet_strict``).
DEFAULTS: dict[str, Any] = {"strict": False}

#: Order of the derivative methods from the most to the least exact (the report names the last).
_METHOD_RANK = {"jvp": 0, "double-vjp": 1, "finite-difference": 2}


def fn_name(fn: Any) -> str:
    """A readable name of the function under test (``"fn"`` for a lambda)."""
    if isinstance(fn, nn.Module):
        return type(fn).__name__
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return "fn" if name == "<lambda>" else name


def count_kinds(kinds: Any) -> int:
    """Number of kinds in ``kinds`` (e3nn's Irreps, a tuple subclass, is one kind)."""
    if _is_single_kind(kinds):
        return 1
    return len(kinds) if isinstance(kinds, (list, tuple)) else 1


def _validate(fn: Any, group: Any, n_samples: Any, dtype: Any) -> None:
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(group, (Group, Generator)):
        raise TypeError(
            f"group must be a symnet.groups.Group or Generator, got {type(group).__name__}"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
        raise ValueError(f"n_samples must be an int >= 0, got {n_samples!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")


def run_check(
    fn: Any,
    group: Group | Generator,
    inputs: Any,
    in_kinds: Any,
    out_kinds: Any,
    *,
    invariant: bool,
    n_samples: int | None,
    rng: torch.Generator,
    dtype: torch.dtype,
    atol: float | None,
    rtol: float | None,
    t: Any,
    check_generators: bool,
    check_elements: bool,
    strict: bool | None,
    fast: bool = False,
) -> SymmetryReport:
    """Check ``fn`` and return its report; raise :class:`SymmetryAssertionError` on failure.

    ``out_kinds`` is ignored when ``invariant``; otherwise it is what the user
    passed (a kind, a tuple of kinds, or a mapping for structured outputs).
    ``n_samples=None`` is 8 (2 with ``fast``); ``strict=None`` is
    :data:`DEFAULTS` ``["strict"]`` (set by the pytest option ``--symnet-strict``).
    """
    if n_samples is None:
        n_samples = 2 if fast else 8
    if strict is None:
        strict = bool(DEFAULTS["strict"])
    n_probes = 1 if fast else _engine.N_PROBES
    _validate(fn, group, n_samples, dtype)
    group = as_group(group)
    if not check_generators and not check_elements:
        raise ValueError(
            "check_generators=False and check_elements=False switch every check off: an empty "
            "check tests nothing; enable at least one"
        )
    tol, note = model_tolerance(fn, dtype, rtol, atol)
    name = fn_name(fn)
    cast = cast_for_check(fn, dtype)
    kinds_name = "kinds" if invariant else "in_kinds"
    problems = _structured.adapt(cast, inputs, in_kinds, None if invariant else out_kinds)
    if problems is None:
        out = (
            None
            if invariant
            else parse_kinds(out_kinds, count_kinds(out_kinds), "out_kinds", "output")
        )
        problems = [
            _structured.Problem(
                fn=lambda *xs: as_outputs(cast(*xs), name),
                inputs=(inputs,) if isinstance(inputs, Tensor) else inputs,
                in_kinds=in_kinds,
                out_kinds=out,
                input_names=(),
                output_names=(),
            )
        ]
        single_tensor = isinstance(inputs, Tensor)
    else:
        single_tensor = False
    report = SymmetryReport(
        fn=name,
        group=repr(group),
        property="invariant" if invariant else "equivariant",
        dtype=dtype,
        tolerance=tol,
        tolerance_note=note,
        strict=strict,
    )
    reasons, methods = [], []
    for p in problems:
        rows, method, reason = _check_problem(
            p, group, name, kinds_name, single_tensor, invariant, n_samples, rng, dtype, tol, t,
            check_generators, check_elements, n_probes, not fast,
        )  # fmt: skip
        report.results += rows
        if method is not None:
            methods.append(method)
        if reason:
            reasons.append(f"{p.label}: {reason}" if p.label else reason)
    if not report.results:
        prep_like = None
        raise ValueError(
            _engine.nothing_checked(group, prep_like, n_samples, check_generators, check_elements)
        )
    report.derivative_method = max(methods, key=_METHOD_RANK.__getitem__) if methods else None
    report.vacuous, report.vacuous_reason = bool(reasons), "; ".join(reasons)
    report.hint = _engine.precision_hint(fn, dtype, report.max_error) if not report.passed else ""
    if not report.passed:
        raise SymmetryAssertionError(report)
    if report.vacuous:
        warnings.warn(
            SymmetryWarning(
                f"{name} {report.property} under {report.group} passed vacuously: "
                f"{report.vacuous_reason}. Pass strict=True to make a vacuous check fail."
            ),
            stacklevel=3,
        )
    return report


def _check_problem(
    p: _structured.Problem,
    group: Group,
    name: str,
    kinds_name: str,
    single_tensor: bool,
    invariant: bool,
    n_samples: int,
    rng: torch.Generator,
    dtype: torch.dtype,
    tol: DtypeTolerance,
    t: Any,
    check_generators: bool,
    check_elements: bool,
    n_probes: int,
    per_factor: bool,
) -> tuple[list[CheckResult], str | None, str]:
    """Rows, derivative method and vacuity reason of one problem over plain tensors."""
    out = None
    if not invariant and p.out_kinds is not None:
        out = parse_kinds(p.out_kinds, count_kinds(p.out_kinds), "out_kinds", "output")
    in_names = p.input_names or None
    if in_names is None and single_tensor:
        in_names = ("inputs",)
    prep = prepare(group, p.inputs, p.in_kinds, dtype, t, kinds_name, out, in_names)
    call = Caller(p.fn, name, prep.names, prep.constants)
    y0 = _engine.first_call(call, prep, name, dtype)
    out_names = list(p.output_names) or output_names(len(y0))
    check_outputs(y0, out, group, name, int(prep.inputs[0].shape[0]), out_names)
    rows: list[CheckResult] = []
    varied = [False] * len(y0)
    method = None
    if check_elements:
        found, varied = _engine.check_elements(
            call, group, prep, y0, out, n_samples, rng, tol, out_names, per_factor
        )
        rows += found
    if check_generators:
        found, method = _engine.check_generators(
            call, group, prep, y0, out, rng, tol, name, out_names, n_probes
        )
        rows += found
    reason = vacuous_reason(call, prep, y0, varied, rng, out_names) if rows else ""
    if p.label:
        rows = [replace(r, name=f"{p.label}: {r.name}") for r in rows]
    return rows, method, reason
