"""The two checks behind the symmetry assertions: finite elements and Lie derivatives.

Private module; the error formulas are documented in
:mod:`symnet.testing.equivariance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import jvp

from symnet.groups import Element, Group, take_element
from symnet.testing._inputs import Prepared, output_names
from symnet.testing._tolerances import DtypeTolerance
from symnet.testing.report import CheckResult

__all__ = [
    "check_elements",
    "check_generators",
    "e3nn_hint",
    "first_call",
    "nothing_checked",
]

#: Number of Gaussian probes estimating the size of the Lie derivative's terms.
N_PROBES = 2


def _to(g: Element, device: torch.device) -> Element:
    if isinstance(g, tuple):
        return tuple(_to(x, device) for x in g)
    return g.to(device)


def _row(
    check: str, name: str, output: str, diff: Tensor, scale: Tensor, tol: DtypeTolerance
) -> CheckResult:
    d, s = float(diff), float(scale)
    if not (math.isfinite(d) and math.isfinite(s)):
        # NaN or inf in an output at the transformed inputs (or in the Lie derivative):
        # a failure, never a pass (inf - inf is NaN, and inf <= rtol * inf would hold)
        return CheckResult(check, name, output, float("nan"), tol.rtol, False)
    error = d / s if s > 0 else (0.0 if d == 0 else float("inf"))
    allowed = tol.rtol + tol.atol / s if s > 0 else (float("inf") if tol.atol > 0 else tol.rtol)
    return CheckResult(check, name, output, error, allowed, d <= tol.atol + tol.rtol * s)


def _amax(x: Tensor) -> Tensor:
    return x.abs().max() if x.numel() else x.new_zeros(())


def check_elements(
    call: Callable[..., tuple[Tensor, ...]],
    group: Group,
    prep: Prepared,
    y0: tuple[Tensor, ...],
    out_kinds: tuple | None,
    n_samples: int,
    rng: torch.Generator,
    tol: DtypeTolerance,
) -> list[CheckResult]:
    """Rows for ``n_samples`` random elements and every discrete generator, each output.

    Each element (batch 1) acts on the whole batch of inputs and on the outputs
    (equivariance) or not at all (invariance, ``out_kinds is None``).
    """
    device = prep.inputs[0].device
    elements: list[tuple[str, str, Element]] = []
    if n_samples > 0:
        batch = group.sample(n_samples, prep.config_shape, rng=rng)
        elements += [
            ("sample", f"sample {k}", take_element(batch, k, device)) for k in range(n_samples)
        ]
    for dname, g in group.discrete_generators(prep.config_shape):
        elements.append(("discrete", dname, _to(g, device)))
    names = output_names(len(y0))
    rows = []
    for check, ename, g in elements:
        moved = tuple(
            group.act(g, x, k, t=prep.t) for x, k in zip(prep.inputs, prep.kinds, strict=True)
        )
        lhs = call(*moved)
        if len(lhs) != len(y0):
            raise ValueError(
                f"fn returned {len(lhs)} outputs at transformed inputs, {len(y0)} before"
            )
        for j, (a, y) in enumerate(zip(lhs, y0, strict=True)):
            b = (
                y
                if out_kinds is None
                else group.act_output(g, y, out_kinds[j], prep.config_shape, t=prep.t)
            )
            if a.shape != b.shape:
                raise ValueError(
                    f"fn output {names[j]} changed shape under {ename}: {tuple(a.shape)} vs "
                    f"{tuple(b.shape)}"
                )
            diff = _amax(a.detach() - b.detach())
            scale = torch.maximum(_amax(a.detach()), _amax(b.detach()))
            rows.append(_row(check, ename, names[j], diff, scale, tol))
    return rows


def check_generators(
    call: Callable[..., tuple[Tensor, ...]],
    group: Group,
    prep: Prepared,
    y0: tuple[Tensor, ...],
    out_kinds: tuple | None,
    rng: torch.Generator,
    tol: DtypeTolerance,
    fn_name: str,
) -> list[CheckResult]:
    """Rows for every Lie algebra generator and output: ``J v - dy`` over the terms' size.

    One ``jvp`` along the infinitesimal action on all inputs gives the Lie
    derivative; :data:`N_PROBES` more, along ``v * z`` with Gaussian ``z``,
    estimate the size of its individual terms.
    """
    names = output_names(len(y0))
    rows = []
    for gen_x in group.generators(prep.config_shape):
        v = tuple(
            group.act_infinitesimal(gen_x, x, k, t=prep.t)
            for x, k in zip(prep.inputs, prep.kinds, strict=True)
        )
        y, Jv = _jvp(call, prep.inputs, v, fn_name)
        probes = []
        for _ in range(N_PROBES):
            z = tuple(
                torch.randn(x.shape, generator=rng, dtype=x.dtype).to(x.device) for x in prep.inputs
            )
            probes.append(
                _jvp(
                    call, prep.inputs, tuple(vi * zi for vi, zi in zip(v, z, strict=True)), fn_name
                )[1]
            )
        for j in range(len(y0)):
            if out_kinds is None:
                dy = torch.zeros_like(y[j])
            else:
                dy = group.act_infinitesimal(gen_x, y[j].detach(), out_kinds[j], t=prep.t)
            residual = Jv[j].detach() - dy
            terms = torch.stack([p[j].detach() for p in probes]).pow(2).mean(0).sqrt()
            scale = _amax(dy) + _amax(terms)
            rows.append(_row("generator", gen_x.name, names[j], _amax(residual), scale, tol))
    return rows


def _jvp(
    call: Callable[..., tuple[Tensor, ...]],
    primals: tuple[Tensor, ...],
    tangents: tuple[Tensor, ...],
    fn_name: str,
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    try:
        return jvp(call, primals, tangents)
    except (RuntimeError, NotImplementedError) as err:
        raise RuntimeError(
            f"the Lie derivative of {fn_name} needs forward-mode AD (torch.func.jvp), which "
            f"failed: {err}. Pass check_generators=False to test finite elements only."
        ) from err


_E3NN_HINT = (
    "fn contains e3nn modules with float32 buffers; e3nn builds its Clebsch-Gordan "
    "coefficients in torch's default dtype, accurate to about 1e-7 even after .double(). "
    "Build the module under symnet.groups.utils.default_dtype(torch.float64) for a "
    "float64 check, or check with dtype=torch.float32."
)


def e3nn_hint(fn: Any, dtype: torch.dtype) -> str:
    """The e3nn remedy when ``fn`` holds e3nn modules with float32 buffers (float64 check)."""
    if dtype != torch.float64 or not isinstance(fn, nn.Module):
        return ""
    has_e3nn = any(type(m).__module__.startswith("e3nn") for m in fn.modules())
    low = any(b.is_floating_point() and b.dtype != torch.float64 for b in fn.buffers())
    return _E3NN_HINT if has_e3nn and low else ""


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
