"""The two checks behind the symmetry assertions: finite elements and Lie derivatives.

Private module; the error formulas are documented in
:mod:`symnet.testing.equivariance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet.groups import Element, Group, take_element
from symnet.testing._calls import Caller, output_names
from symnet.testing._derivative import LieDerivative
from symnet.testing._inputs import Prepared
from symnet.testing._stacked import act_each, stacked
from symnet.testing._tolerances import (
    FLOAT32_CONSTANTS_RTOL,
    TOLERANCES,
    DtypeTolerance,
    low_precision_constants,
    modules_of,
)
from symnet.testing.report import CheckResult

__all__ = [
    "check_elements",
    "check_generators",
    "precision_hint",
    "factor_samples",
    "first_call",
    "nothing_checked",
]

#: Number of Gaussian probes estimating the size of the Lie derivative's terms.
N_PROBES = 2

#: Relative change under a group element above which an output counts as varying
#: with the inputs (not vacuous) without an extra evaluation.
CHANGED = 1e-6


def _to(g: Element, device: torch.device) -> Element:
    if isinstance(g, tuple):
        return tuple(_to(x, device) for x in g)
    return g.to(device)


def _row(
    check: str,
    name: str,
    output: str,
    diff: Tensor,
    scale: Tensor,
    tol: DtypeTolerance,
    extra: float = 0.0,
    factor: str = "",
) -> CheckResult:
    """One row: passes when ``diff <= atol + rtol * scale + extra`` (``extra``: an error bound)."""
    d, s = float(diff), float(scale)
    if not (math.isfinite(d) and math.isfinite(s) and math.isfinite(extra)):
        # NaN or inf in an output at the transformed inputs (or in the Lie derivative):
        # a failure, never a pass (inf - inf is NaN, and inf <= rtol * inf would hold)
        return CheckResult(check, name, output, float("nan"), tol.rtol, False, factor)
    slack = tol.atol + extra
    error = d / s if s > 0 else (0.0 if d == 0 else float("inf"))
    allowed = tol.rtol + slack / s if s > 0 else (float("inf") if slack > 0 else tol.rtol)
    return CheckResult(check, name, output, error, allowed, d <= slack + tol.rtol * s, factor)


def _amax(x: Tensor) -> Tensor:
    return x.abs().max() if x.numel() else x.new_zeros(())


def factor_samples(n_samples: int) -> int:
    """Random elements of each continuous factor of a product tested alone: ``n_samples // 8``.

    At least 1 when ``n_samples >= 1`` (1 by default), 0 when ``n_samples == 0``.
    The product's own samples already move every factor at once; these few
    exist so that a failure names the factor that breaks.
    """
    return 0 if n_samples == 0 else max(1, n_samples // 8)


def _elements(
    group: Group, prep: Prepared, n_samples: int, rng: torch.Generator, per_factor: bool
) -> list[tuple[str, str, str, Element]]:
    """``(check, name, factor, element)``: product samples, factor samples, discrete generators."""
    device = prep.inputs[0].device
    cfg = prep.config_shape
    elements: list[tuple[str, str, str, Element]] = []
    if n_samples > 0:
        batch = group.sample(n_samples, cfg, rng=rng)
        elements += [
            ("sample", f"sample {k}", "", take_element(batch, k, device)) for k in range(n_samples)
        ]
    factors = group.factors
    n_each = factor_samples(n_samples) if len(factors) > 1 and per_factor else 0
    for i, f in enumerate(factors):
        if n_each == 0 or not f.generator_names():
            continue  # a finite factor is tested alone by its discrete generators
        batch = f.sample(n_each, cfg, rng=rng)
        label = getattr(f, "name", "") or type(f).__name__.lower()
        for k in range(n_each):
            parts = [_to(h.identity(1, cfg), device) for h in factors]
            parts[i] = take_element(batch, k, device)
            elements.append(("sample", f"{label} sample {k}", repr(f), tuple(parts)))
    for dname, g in group.discrete_generators(cfg):
        elements.append(("discrete", dname, "", _to(g, device)))
    return elements


def check_elements(
    call: Callable[..., tuple[Tensor, ...]],
    group: Group,
    prep: Prepared,
    y0: tuple[Tensor, ...],
    out_kinds: tuple | None,
    n_samples: int,
    rng: torch.Generator,
    tol: DtypeTolerance,
    names: list[str] | None = None,
    per_factor: bool = True,
) -> tuple[list[CheckResult], list[bool]]:
    """Rows for the random elements and every discrete generator, each output.

    ``n_samples`` random elements of ``group``; for a product group also
    :func:`factor_samples` random elements of each continuous factor alone
    (rows ``"rotation sample 0"``, so a failure names the factor; not with
    ``per_factor=False``); then the
    discrete generators. Each element (batch 1) acts on the whole batch of
    inputs and on the outputs (equivariance) or not at all (invariance,
    ``out_kinds is None``).

    Returns
    -------
    rows : list of CheckResult
    varied : list of bool
        Per output: some element changed it by more than ``rtol`` (relative),
        so it depends on the inputs (see :mod:`symnet.testing._vacuous`).
    """
    names = names or output_names(len(y0))
    rows = []
    varied = [False] * len(y0)
    elements = _elements(group, prep, n_samples, rng, per_factor)
    gs = [g for _, _, _, g in elements]
    per_input = [
        act_each(lambda g, x, k=k: group.act(g, x, k, t=prep.t), gs, x, prep.t)
        for x, k in zip(prep.inputs, prep.kinds, strict=True)
    ]
    sets = [tuple(moved[i] for moved in per_input) for i in range(len(gs))]
    if out_kinds is None:
        targets = [tuple(y.detach() for y in y0)] * len(gs)
    else:
        per_output = [
            act_each(
                lambda g, y, k=k: group.act_output(g, y, k, prep.config_shape, t=prep.t),
                gs,
                y.detach(),
                prep.t,
            )
            for y, k in zip(y0, out_kinds, strict=True)
        ]
        targets = [tuple(b[i] for b in per_output) for i in range(len(gs))]
    batch = int(prep.inputs[0].shape[0])
    stackable = getattr(call, "stackable", True)
    blocks = stacked(call, [prep.inputs, *sets], batch, reference=y0) if stackable else None
    for i, (check, ename, factor, _) in enumerate(elements):
        lhs = blocks[i + 1] if blocks is not None else call(*sets[i])
        what = (check, ename, factor)
        found = _element_rows(lhs, targets[i], what, tol, names)
        if blocks is not None and not all(r.passed for r in found):
            # a failure seen in the stack is confirmed on the element alone (a model whose
            # numerics depend on the batch size must not fail for that reason)
            lhs = call(*sets[i])
            found = _element_rows(lhs, targets[i], what, tol, names)
            if all(r.passed for r in found) and isinstance(call, Caller):
                call.stackable = False  # the stack was wrong: no more stacking for this fn
                blocks = None
        rows += found
        for j, (a, y) in enumerate(zip(lhs, y0, strict=True)):
            if not varied[j] and a.shape == y.shape:
                a, y = a.detach(), y.detach()
                change = float(_amax(a - y))
                varied[j] = change > CHANGED * float(torch.maximum(_amax(a), _amax(y)))
    return rows, varied


def _element_rows(
    lhs: tuple[Tensor, ...],
    rhs: tuple[Tensor, ...],
    what: tuple[str, str, str],
    tol: DtypeTolerance,
    names: list[str],
) -> list[CheckResult]:
    """The rows of one element: ``fn(g.x)`` (``lhs``) against ``g.y0`` (or ``y0``, ``rhs``)."""
    check, ename, factor = what
    if len(lhs) != len(rhs):
        raise ValueError(f"fn returned {len(lhs)} outputs at transformed inputs, {len(rhs)} before")
    rows = []
    for j, (a, b) in enumerate(zip(lhs, rhs, strict=True)):
        if a.shape != b.shape:
            raise ValueError(
                f"fn output {names[j]} changed shape under {ename}: {tuple(a.shape)} vs "
                f"{tuple(b.shape)}"
            )
        a = a.detach()
        scale = torch.maximum(_amax(a), _amax(b))
        rows.append(_row(check, ename, names[j], _amax(a - b), scale, tol, factor=factor))
    return rows


def check_generators(
    call: Caller,
    group: Group,
    prep: Prepared,
    y0: tuple[Tensor, ...],
    out_kinds: tuple | None,
    rng: torch.Generator,
    tol: DtypeTolerance,
    fn_name: str,
    names: list[str] | None = None,
    n_probes: int = N_PROBES,
) -> tuple[list[CheckResult], str | None]:
    """Rows for every Lie algebra generator and output: ``J v - dy`` over the terms' size.

    The Lie derivative ``J v`` comes from the first method of
    :mod:`symnet.testing._derivative` that can trace ``fn`` (returned as the
    second value; None when the group has no generators); :data:`N_PROBES`
    more directions, ``v * z`` with Gaussian ``z``, estimate the size of its
    individual terms. Integer inputs (labels, indices) get no tangent.
    """
    names = names or output_names(len(y0))
    gens = group.generators(prep.config_shape)
    if not gens:
        return [], None
    free = [i for i, fixed in enumerate(prep.fixed) if not fixed]
    if not free:
        return [], None
    f = call.fixing(
        [(i, x) for i, (x, fx) in enumerate(zip(prep.inputs, prep.fixed, strict=True)) if fx]
    )
    primals = tuple(prep.inputs[i] for i in free)

    def moved(gen: Any, s: float) -> tuple[Tensor, ...]:
        """All the inputs moved by ``exp(s X)``."""
        param = torch.tensor([s], dtype=primals[0].dtype, device=primals[0].device)
        g = group.exp(gen, param, prep.config_shape)
        return tuple(
            group.act(g, x, k, t=prep.t) for x, k in zip(prep.inputs, prep.kinds, strict=True)
        )

    lie = LieDerivative(f, primals, call, prep.inputs, moved, y0)
    vs = [
        tuple(group.act_infinitesimal(gen, prep.inputs[i], prep.kinds[i], t=prep.t) for i in free)
        for gen in gens
    ]
    probe_dirs = []
    for v in vs:
        for _ in range(n_probes):
            z = tuple(
                torch.randn(x.shape, generator=rng, dtype=x.dtype).to(x.device) for x in primals
            )
            probe_dirs.append(tuple(vi * zi for vi, zi in zip(v, z, strict=True)))
    rows = _generator_rows(
        lie, gens, vs, probe_dirs, n_probes, group, prep, y0, out_kinds, tol, names
    )
    if lie.used_stack and not all(r.passed for r in rows):
        # confirm a failure seen in a stacked evaluation direction by direction
        lie.allow_stack = call.stackable = False
        rows = _generator_rows(
            lie, gens, vs, probe_dirs, n_probes, group, prep, y0, out_kinds, tol, names
        )
    return rows, lie.method


def _generator_rows(
    lie: LieDerivative,
    gens: list[Any],
    vs: list[tuple[Tensor, ...]],
    probe_dirs: list[tuple[Tensor, ...]],
    n_probes: int,
    group: Group,
    prep: Prepared,
    y0: tuple[Tensor, ...],
    out_kinds: tuple | None,
    tol: DtypeTolerance,
    names: list[str],
) -> list[CheckResult]:
    """One row per generator and output from the derivatives ``lie`` computes."""
    derivs = lie.along_all(gens, vs, probe_dirs)
    rows = []
    for gi, gen_x in enumerate(gens):
        Jv, errs = derivs[gi]
        probes = [lie.probe_results[gi * n_probes + p] for p in range(n_probes)]
        for j in range(len(y0)):
            if out_kinds is None:
                dy = torch.zeros_like(y0[j])
            else:
                dy = group.act_infinitesimal(gen_x, y0[j].detach(), out_kinds[j], t=prep.t)
            residual = Jv[j] - dy
            terms = (
                torch.stack([p[j] for p in probes]).pow(2).mean(0).sqrt() if probes else Jv[j].abs()
            )
            scale = _amax(dy) + _amax(terms)
            rows.append(
                _row("generator", gen_x.name, names[j], _amax(residual), scale, tol, errs[j])
            )
    return rows


_PRECISION_HINT = (
    "{why}, so its constants are accurate to about 1e-7 only, and errors between "
    "1e-9 and {band:.0e} are what a correct module shows in a float64 check. Build the "
    "module in float64 (under symnet.groups.utils.default_dtype(torch.float64){e3nn}), "
    "check with dtype=torch.float32, or leave rtol at its default (rtol={band:.0e} for "
    "such modules)."
)


def precision_hint(fn: Any, dtype: torch.dtype, max_error: float) -> str:
    """The float32-constants remedy, only for an error in the band it can explain.

    Returns ``""`` unless ``fn`` has low-precision constants
    (:func:`~symnet.testing._tolerances.low_precision_constants`) and the
    worst error lies between the float64 tolerance and
    :data:`~symnet.testing._tolerances.FLOAT32_CONSTANTS_RTOL` (an error of
    1e-1 is a broken module, not a precision issue).
    """
    why = low_precision_constants(fn, dtype)
    if not why or not (TOLERANCES[torch.float64].rtol < max_error <= FLOAT32_CONSTANTS_RTOL):
        return ""
    e3nn = any(
        type(m).__module__.startswith("e3nn") for top in modules_of(fn) for m in top.modules()
    )
    return _PRECISION_HINT.format(
        why=why[0].upper() + why[1:],
        band=FLOAT32_CONSTANTS_RTOL,
        e3nn="; e3nn computes its Clebsch-Gordan coefficients in the default dtype" if e3nn else "",
    )


def nothing_checked(
    group: Group, prep: Any, n_samples: int, check_generators: bool, check_elements: bool
) -> str:
    """Why a check produced no rows (an empty check is an error, not a pass)."""
    reasons, remedies = [], []
    if check_elements:
        reasons.append(
            f"n_samples={n_samples} random elements and {group!r} has no discrete generators"
        )
        remedies.append("pass n_samples >= 1")
    else:
        reasons.append("check_elements=False")
        remedies.append("enable check_elements")
    if check_generators:
        reasons.append(f"{group!r} has no Lie algebra generators")
    else:
        reasons.append("check_generators=False")
        remedies.append("enable check_generators")
    return (
        f"nothing was checked: {'; '.join(reasons)}. An empty check tests nothing: "
        f"{' or '.join(remedies)}"
    )


def first_call(call: Any, prep: Any, name: str, dtype: torch.dtype) -> tuple[Tensor, ...]:
    """``fn`` at the untransformed inputs; a dtype error is explained, naming the remedy."""
    try:
        return call(*prep.inputs)
    except RuntimeError as err:
        text = str(err).lower()
        if "dtype" not in text and not ("double" in text and "float" in text):
            raise
        other = "torch.float32" if dtype == torch.float64 else "torch.float64"
        raise TypeError(
            f"{name} failed on the {dtype} inputs of the check with a dtype mismatch ({err}). "
            f"The check casts the inputs, and a module's parameters and buffers, to {dtype}; a "
            f"tensor held elsewhere (a plain attribute, a closure, a global) keeps its dtype: "
            f"register it as a buffer, create it in the input's dtype (x.new_tensor(...), "
            f"dtype=x.dtype), or run the check in that tensor's dtype (e.g. "
            f"dtype={other})"
        ) from err
