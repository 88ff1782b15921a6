"""The two checks behind the symmetry assertions: finite elements and Lie derivatives.

Private module; the error formulas are documented in
:mod:`symnet.testing.equivariance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import jvp

from symnet.groups import Element, Group, Kind, Permutation, take_element
from symnet.testing._inputs import Prepared, output_names
from symnet.testing._report import CheckResult
from symnet.testing._tolerances import Tolerance

__all__ = ["check_elements", "check_generators"]

#: Number of Gaussian probes estimating the size of the Lie derivative's terms.
N_PROBES = 2


def _to(g: Element, device: torch.device) -> Element:
    if isinstance(g, tuple):
        return tuple(_to(x, device) for x in g)
    return g.to(device)


def _act_output(group: Group, g: Element, y: Tensor, kind: Kind, prep: Prepared) -> Tensor:
    """Act on an output; permutations skip a particle axis of another length than N."""
    N = prep.config_shape[0]
    if kind.particle_axis and y.shape[-2] != N:
        if isinstance(group, Permutation):
            return y.clone()
        if isinstance(g, tuple):
            shape = (int(y.shape[-2]), prep.config_shape[1])
            g = tuple(
                f.identity(1, shape).to(gi.device) if isinstance(f, Permutation) else gi
                for f, gi in zip(group.factors, g, strict=True)
            )
    return group.act(g, y, kind, t=prep.t)


def _row(
    check: str, name: str, output: str, diff: Tensor, scale: Tensor, tol: Tolerance
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
    gen: torch.Generator,
    tol: Tolerance,
) -> list[CheckResult]:
    """Rows for ``n_samples`` random elements and every discrete generator, each output.

    Each element (batch 1) acts on the whole batch of inputs and on the outputs
    (equivariance) or not at all (invariance, ``out_kinds is None``).
    """
    device = prep.inputs[0].device
    elements: list[tuple[str, str, Element]] = []
    if n_samples > 0:
        batch = group.sample(n_samples, prep.config_shape, generator=gen)
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
            b = y if out_kinds is None else _act_output(group, g, y, out_kinds[j], prep)
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
    gen: torch.Generator,
    tol: Tolerance,
    fn_name: str,
) -> list[CheckResult]:
    """Rows for every Lie algebra generator and output: ``J v - dy`` over the terms' size.

    One ``jvp`` along the infinitesimal action on all inputs gives the Lie
    derivative; :data:`N_PROBES` more, along ``v * z`` with Gaussian ``z``,
    estimate the size of its individual terms.
    """
    names = output_names(len(y0))
    rows = []
    for gname in group.generator_names():
        v = tuple(
            group.act_infinitesimal(gname, x, k, t=prep.t)
            for x, k in zip(prep.inputs, prep.kinds, strict=True)
        )
        y, Jv = _jvp(call, prep.inputs, v, fn_name)
        probes = []
        for _ in range(N_PROBES):
            z = tuple(
                torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device) for x in prep.inputs
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
                dy = group.act_infinitesimal(gname, y[j].detach(), out_kinds[j], t=prep.t)
            residual = Jv[j].detach() - dy
            terms = torch.stack([p[j].detach() for p in probes]).pow(2).mean(0).sqrt()
            scale = _amax(dy) + _amax(terms)
            rows.append(_row("generator", gname, names[j], _amax(residual), scale, tol))
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
