"""Discrete symmetries (permutations): no charge, three other signals.

REFERENCES.md section 1: (i) the invariance residual
``|L(sigma q, sigma qdot) - L(q, qdot)| / scale`` over the generators of the
finite group (a transposition and the N-cycle generate S_N) and sampled
elements; (ii) flow equivariance ``max_t |phi_t(sigma x0) - sigma phi_t(x0)|``
relative to the size of the states; (iii) a state fixed by a transposition
stays fixed along the flow (reported, not part of the verdict, since such a
state puts two particles on top of each other, where many potentials are
singular).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._util import with_time
from symnet.groups import Group, take_element
from symnet.noether.report import Row
from symnet.noether.verdict import Tolerances, decide_discrete

__all__ = ["check_discrete"]


def _kinds(group: Group) -> tuple[str, str]:
    return ("point", "vector") if group.dim is not None or group.discrete else ("global", "global")


def _rel(a: Tensor, b: Tensor, scale: Tensor) -> float:
    return ((a - b).abs().max() / scale.clamp_min(1e-300)).item()


def check_discrete(
    fn: Callable,
    field: Any,
    group: Group,
    q: Tensor,
    v: Tensor,
    t0: float,
    dt: float,
    steps: int,
    method: str,
    tol: Tolerances,
    rng: torch.Generator,
    n_samples: int = 4,
) -> Row:
    """Invariance, flow equivariance and fixed-state preservation for a finite group.

    Parameters
    ----------
    fn : callable
        ``L`` or ``H`` (float64), ``fn(q, v, t) -> (B,)``.
    field : VectorField
        Its vector field.
    group : Group
        A finite group such as ``Permutation()``.
    q, v : Tensor
        Initial states, shape ``(B, *S)``.

    Returns
    -------
    Row
        With ``invariance_error``, ``flow_error``, ``fixed_state_error`` and a verdict.
    """
    from symnet.mechanics import rollout

    f = with_time(fn, 2)
    S = tuple(q.shape[1:])
    kq, kv = _kinds(group)
    t = torch.full((q.shape[0],), float(t0), dtype=q.dtype)
    base = f(q, v, t)
    scale = base.abs().max()
    named = list(group.discrete_generators(S))
    samples = group.sample(n_samples, S, generator=rng)
    named += [(f"sample {i}", take_element(samples, i)) for i in range(n_samples)]
    inv = 0.0
    for _, g in named:
        inv = max(inv, _rel(f(group.act(g, q, kq), group.act(g, v, kv), t), base, scale))

    traj = rollout(field, q, v, dt=dt, steps=steps, method=method, t0=t0)
    state_scale = torch.maximum(traj.q.abs().max(), traj.v.abs().max())
    flow = 0.0
    for _, g in named[: len(named) - n_samples + 1]:
        moved = rollout(
            field,
            group.act(g, q, kq),
            group.act(g, v, kv),
            dt=dt,
            steps=steps,
            method=method,
            t0=t0,
        )
        for x_moved, x, kind in ((moved.q, traj.q, kq), (moved.v, traj.v, kv)):
            image = torch.stack([group.act(g, x_k, kind) for x_k in x])
            flow = max(flow, _rel(x_moved, image, state_scale))

    fixed = _fixed_state_error(field, group, named, q, v, t0, dt, steps, method, kq, kv)
    verdict, reason = decide_discrete(inv, flow, tol)
    if fixed is None:
        reason += "; fixed-state test n/a (singular at coinciding particles)"
    return Row(
        group=repr(group),
        generator=group.name,
        charge="-",
        invariance_error=inv,
        verdict=verdict,
        reason=reason,
        flow_error=flow,
        fixed_state_error=fixed,
    )


def _fixed_state_error(
    field: Any,
    group: Group,
    named: list,
    q: Tensor,
    v: Tensor,
    t0: float,
    dt: float,
    steps: int,
    method: str,
    kq: str,
    kv: str,
) -> float | None:
    """Error of a state fixed by the first discrete generator along the flow (None if singular)."""
    from symnet.mechanics import rollout

    if not named:
        return None
    _, g = named[0]
    qs = 0.5 * (q + group.act(g, q, kq))
    vs = 0.5 * (v + group.act(g, v, kv))
    try:
        traj = rollout(field, qs, vs, dt=dt, steps=steps, method=method, t0=t0)
    except (ValueError, RuntimeError):
        return None
    scale = torch.maximum(traj.q.abs().max(), traj.v.abs().max())
    err = 0.0
    for x, kind in ((traj.q, kq), (traj.v, kv)):
        image = torch.stack([group.act(g, x_k, kind) for x_k in x])
        err = max(err, _rel(x, image, scale))
    return err if err == err else None
