"""Finite-element invariance errors of the checked generators.

Private module of :mod:`symnet.noether.checker`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from symnet._util import with_time
from symnet.groups import Generator, take_element
from symnet.noether._momenta import act_on_momenta

__all__ = ["finite_errors"]


def finite_errors(
    fn: Callable,
    gens: list[Generator],
    q: Tensor,
    v: Tensor,
    t: Tensor,
    n: int,
    rng: torch.Generator,
    *,
    momenta: bool = False,
) -> dict[str, float | None]:
    """``max |f(g x) - f(x)| / max |f(x)|`` over ``n`` elements ``exp(s X)`` of each generator.

    Elements of the generator's one-parameter subgroup, ``s ~ N(0, 1)``, acting
    through its group's finite action. ``None`` where that does not apply:
    generators without a group (custom vector fields) and quasi-symmetries,
    which change ``L`` by a total derivative. With ``momenta`` (the Hamiltonian
    form) ``v`` holds momenta, moved by the cotangent lift ``p -> M^{-T} p`` of
    the point map ``q -> M q`` (:func:`~symnet.noether._momenta.act_on_momenta`),
    not as vectors.
    """
    f = with_time(fn, 2)
    S = tuple(q.shape[1:])
    base = f(q, v, t)
    scale = base.abs().max().clamp_min(1e-300)
    out: dict[str, float | None] = {}
    for gen in gens:
        group = gen.group
        if group is None or gen.has_boundary:
            out[gen.name] = None
            continue
        kq, kv = ("point", "vector") if group.dim is not None else ("global", "global")
        s = torch.randn(n, generator=rng, dtype=torch.float64)
        elements = group.exp(gen, s, S)
        worst = 0.0
        for i in range(n):
            g = take_element(elements, i)
            qg = group.act(g, q, kq, t=t)
            if momenta and kv == "vector":
                vg = act_on_momenta(group, g, v, t=t)
            else:
                vg = group.act(g, v, kv, t=t)
            err = ((f(qg, vg, group.act(g, t, "time")) - base).abs().max() / scale).item()
            worst = max(worst, err if err == err else math.inf)  # NaN: not shown invariant
        out[gen.name] = worst
    return out
