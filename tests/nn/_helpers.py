"""Shared checks for the symnet.nn tests: equivariance of rep-valued maps.

Rep-valued tensors ``(B, dim)`` are not one of symnet's kinds, so
:func:`rep_errors` checks a map ``fn: rep_in -> rep_out`` through the rep
matrices themselves, with the error formulas of
:mod:`symnet.testing.equivariance`: random elements and the discrete
generators (``fn(x rho_in(g)^T)`` against ``fn(x) rho_out(g)^T``), and the
infinitesimal condition for every Lie algebra generator (one ``jvp``,
normalised by the size of its terms, estimated with Gaussian probes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import jvp

from symnet.groups import Group
from symnet.nn import Rep
from symnet.testing import TOLERANCES


class Reshaped(nn.Module):
    """``layer`` on flattened trailing axes: ``(B, *shape_in) -> (B, *shape_out)``.

    A module (not a closure), so that the symmetry checks cast ``layer`` too.
    """

    def __init__(self, layer: nn.Module, shape_out: tuple[int, ...], flatten: int = 2) -> None:
        super().__init__()
        self.layer, self.shape_out, self.flatten = layer, shape_out, flatten

    def forward(self, x: Tensor) -> Tensor:
        y = self.layer(x.flatten(-self.flatten))
        return y.reshape(*y.shape[:-1], *self.shape_out)


def _amax(x: Tensor) -> float:
    return float(x.detach().abs().max()) if x.numel() else 0.0


def _cast(fn: Callable[[Tensor], Tensor], dtype: torch.dtype) -> Callable[[Tensor], Tensor]:
    if isinstance(fn, nn.Module):
        return copy.deepcopy(fn).to(dtype)
    return fn


def rep_errors(
    fn: Callable[[Tensor], Tensor],
    group: Group,
    rep_in: Rep,
    rep_out: Rep,
    x: Tensor,
    *,
    dtype: torch.dtype = torch.float64,
    n_samples: int = 4,
    seed: int = 0,
) -> dict[str, float]:
    """Relative equivariance errors of ``fn`` per element / generator name."""
    gen = torch.Generator().manual_seed(seed)
    f = _cast(fn, dtype)
    x = x.to(dtype)
    config = (rep_in.particles() or rep_out.particles() or 1, group.dim or 1)
    y = f(x)
    errors: dict[str, float] = {}
    elements = []
    if n_samples:
        batch = group.sample(n_samples, config, generator=gen)
        for k in range(n_samples):
            g = tuple(p[k : k + 1] for p in batch) if isinstance(batch, tuple) else batch[k : k + 1]
            elements.append((f"sample {k}", g))
    elements += group.discrete_generators(config)
    for name, g in elements:
        lhs = f(rep_in.act(g, x))
        rhs = rep_out.act(g, y)
        scale = max(_amax(lhs), _amax(rhs))
        diff = _amax(lhs - rhs)
        errors[name] = diff / scale if scale > 0 else diff
    for name in group.generator_names():
        v = x @ rep_in.lie(name).to(x).T
        _, jv = jvp(f, (x,), (v,))
        dy = y @ rep_out.lie(name).to(y).T
        terms = torch.stack(
            [jvp(f, (x,), (v * torch.randn(x.shape, generator=gen, dtype=dtype),))[1] for _ in "ab"]
        )
        scale = _amax(dy) + _amax(terms.pow(2).mean(0).sqrt())
        diff = _amax(jv - dy)
        errors[name] = diff / scale if scale > 0 else diff
    return errors


def assert_rep_equivariant(
    fn: Callable[[Tensor], Tensor],
    group: Group,
    rep_in: Rep,
    rep_out: Rep,
    x: Tensor,
    *,
    dtype: torch.dtype = torch.float64,
    **kwargs,
) -> dict[str, float]:
    errors = rep_errors(fn, group, rep_in, rep_out, x, dtype=dtype, **kwargs)
    tol = TOLERANCES[dtype].rtol
    bad = {k: v for k, v in errors.items() if not v <= tol}
    assert not bad, f"not equivariant under {group!r} ({dtype}): {bad} > {tol:.0e}"
    return errors


def assert_not_rep_equivariant(
    fn: Callable[[Tensor], Tensor],
    group: Group,
    rep_in: Rep,
    rep_out: Rep,
    x: Tensor,
    *,
    dtype: torch.dtype = torch.float64,
    **kwargs,
) -> None:
    errors = rep_errors(fn, group, rep_in, rep_out, x, dtype=dtype, **kwargs)
    assert max(errors.values()) > 10 * TOLERANCES[dtype].rtol, errors
