"""Discrete symmetries (permutations): no charge, three other signals.

(docs/theory.md, section 'Discrete symmetries'): (i) the invariance residual
``|L(sigma q, sigma qdot) - L(q, qdot)| / scale`` over the generators of the
finite group (a transposition and the N-cycle generate S_N) and sampled
elements; (ii) flow equivariance ``max_t |phi_t(sigma x0) - sigma phi_t(x0)|``
relative to the size of the states; (iii) a state fixed by a transposition
stays fixed along the flow (reported, not part of the verdict, since such a
state puts two particles on top of each other, where many potentials are
singular).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._progress import CountedBar, NoBar, RolloutTicks
from symnet._util import with_time
from symnet.groups import Group, take_element
from symnet.noether._momenta import act_on_momenta
from symnet.noether.report import Row
from symnet.noether.verdict import VerdictThresholds, decide_discrete

__all__ = ["check_discrete", "chunk_rollout", "discrete_rollouts", "state_size"]


_INDEX = re.compile(r"(batch (?:element|index) )(\d+)")


def chunk_rollout(
    field: Any, q: Tensor, v: Tensor, offset: int, *, bar: Any = None, **kwargs: Any
) -> Any:
    """``rollout`` of the trajectories ``offset, offset + 1, ...`` of a batch, detached.

    The trajectory's tensors hold no autograd graph (a field run in grad mode
    may record one; the checks never need it). A
    :class:`~symnet.mechanics.NonFiniteStateError` or
    :class:`~symnet.mechanics.SingularMassMatrixError` names the batch index
    in the whole batch, not in the chunk. ``bar`` (optional) advances by the
    rollout's steps as it runs (its ``progress`` callback), ``steps`` in all.
    """
    from symnet.mechanics import NonFiniteStateError, SingularMassMatrixError, rollout

    def shifted(err: Exception) -> str:
        return _INDEX.sub(lambda m: m.group(1) + str(int(m.group(2)) + offset), str(err))

    ticks = None if bar is None or isinstance(bar, NoBar) else RolloutTicks(bar, kwargs["steps"])
    try:
        traj = rollout(field, q, v, progress=ticks, **kwargs)
    except NonFiniteStateError as err:
        if not offset:
            raise
        raise NonFiniteStateError(
            shifted(err), step=err.step, batch_index=err.batch_index + offset
        ) from err
    except SingularMassMatrixError as err:
        if not offset or err.batch_index is None:
            raise
        raise SingularMassMatrixError(
            shifted(err),
            batch_index=err.batch_index + offset,
            condition=err.condition,
            step=err.step,
        ) from err
    if ticks is not None:
        ticks.finish()
    return dataclasses.replace(traj, t=traj.t.detach(), q=traj.q.detach(), v=traj.v.detach())


def _kinds(group: Group) -> tuple[str, str]:
    return ("point", "vector") if group.dim is not None or group.discrete else ("global", "global")


def _rel(a: Tensor, b: Tensor, scale: Tensor) -> float:
    return ((a - b).abs().max() / scale.clamp_min(1e-300)).item()


def state_size(q: Tensor, v: Tensor) -> Tensor:
    """Largest entry of ``|q|, |v|`` per step and trajectory, shape ``(T, b)``."""
    return torch.maximum(q.abs().flatten(2).amax(-1), v.abs().flatten(2).amax(-1))


def _mover(group: Group, kind: str, momenta: bool = False) -> Callable[[Any, Tensor], Tensor]:
    """``(g, x) -> g x`` for tensors of ``kind``; momenta as covectors (``p -> M^{-T} p``)."""
    if momenta and kind == "vector":
        return lambda g, x: act_on_momenta(group, g, x)
    return lambda g, x: group.act(g, x, kind)


def _image(g: Any, move: Callable[[Any, Tensor], Tensor], x: Tensor) -> Tensor:
    return torch.stack([move(g, x_k) for x_k in x])


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
    tol: VerdictThresholds,
    rng: torch.Generator,
    n_samples: int = 4,
    chunk_size: int | None = None,
    compile: bool | str = "auto",
    bar: Any = None,
    momenta: bool = False,
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
    chunk_size : int, optional
        Trajectories integrated together (default: all); the result does not
        depend on it.
    compile : bool or "auto"
        The rollouts' ``compile`` (:func:`symnet.mechanics.rollout`); the
        result does not depend on it.
    bar : optional
        A progress bar advanced by the steps of every rollout,
        ``steps * discrete_rollouts(group, S, B, chunk_size, n_samples)`` in all.
    momenta : bool
        ``v`` holds momenta (the Hamiltonian form): they move by the cotangent
        lift ``p -> M^{-T} p`` (:func:`~symnet.noether._momenta.act_on_momenta`),
        the vector action for orthogonal groups such as permutations.

    Returns
    -------
    Row
        With ``invariance_error``, ``flow_error``, ``fixed_state_error`` and a
        verdict; ``inconclusive`` when the rollout diverged (its states grew
        by more than :data:`symnet.noether.verdict.GROWTH`).
    """
    f = with_time(fn, 2)
    S = tuple(q.shape[1:])
    B = q.shape[0]
    chunk = B if chunk_size is None else max(1, min(B, chunk_size))
    kq, kv = _kinds(group)
    mq, mv = _mover(group, kq), _mover(group, kv, momenta)
    t = torch.full((B,), float(t0), dtype=q.dtype, device=q.device)
    base = f(q, v, t)
    scale = base.abs().max()
    named = list(group.discrete_generators(S))
    samples = group.sample(n_samples, S, rng=rng)
    named += [(f"sample {i}", take_element(samples, i)) for i in range(n_samples)]
    inv = 0.0
    for _, g in named:
        inv = max(inv, _rel(f(mq(g, q), mv(g, v), t), base, scale))

    counted = None if bar is None or isinstance(bar, NoBar) else CountedBar(bar)
    run = {"dt": dt, "steps": steps, "method": method, "t0": t0, "compile": compile}
    run["bar"] = counted
    floor = max(1e-3 * float(torch.maximum(q.abs().max(), v.abs().max())), 1e-300)
    state_scale = torch.zeros((), dtype=q.dtype, device=q.device)
    worst = torch.zeros((), dtype=q.dtype, device=q.device)
    growth_t = torch.ones((), dtype=q.dtype, device=q.device)
    for start in range(0, B, chunk):
        sl = slice(start, min(B, start + chunk))
        qc, vc = q[sl].clone(), v[sl].clone()
        traj = chunk_rollout(field, qc, vc, start, **run)
        size = state_size(traj.q, traj.v)
        growth_t = torch.fmax(growth_t, (size.amax(0) / size[0].clamp_min(floor)).max())  # as max()
        state_scale = torch.maximum(state_scale, size.max())
        for _, g in named[: len(named) - n_samples + 1]:
            moved = chunk_rollout(field, mq(g, qc), mv(g, vc), start, **run)
            for x_moved, x, move in ((moved.q, traj.q, mq), (moved.v, traj.v, mv)):
                worst = torch.maximum(worst, (x_moved - _image(g, move, x)).abs().max())
    # read once, after every chunk: the flow error and the growth
    flow, growth = torch.stack([worst / state_scale.clamp_min(1e-300), growth_t]).tolist()

    fixed = _fixed_state_error(field, named, q, v, mq, mv, chunk, run)
    if counted is not None:  # a fixed-state run stopped early: the bar ends where it should
        counted.top_up(steps * discrete_rollouts(group, S, B, chunk, n_samples))
    verdict, reason = decide_discrete(inv, flow, tol, growth)
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


def discrete_rollouts(
    group: Group, S: tuple[int, ...], B: int, chunk_size: int | None, n_samples: int = 4
) -> int:
    """Number of rollouts (of ``steps`` steps each) that :func:`check_discrete` runs.

    Per chunk: the trajectories, their images under every discrete generator
    and one sampled element, and the fixed-state run. Used to size a progress bar.
    """
    chunk = B if chunk_size is None else max(1, min(B, chunk_size))
    n_gens = len(list(group.discrete_generators(S)))
    moved = n_gens + (1 if n_samples else 0)
    return len(range(0, B, chunk)) * (1 + moved + (1 if n_gens + n_samples else 0))


def _fixed_state_error(
    field: Any,
    named: list,
    q: Tensor,
    v: Tensor,
    mq: Callable[[Any, Tensor], Tensor],
    mv: Callable[[Any, Tensor], Tensor],
    chunk: int,
    run: dict[str, Any],
) -> float | None:
    """Error of a state fixed by the first discrete generator along the flow (None if singular)."""
    if not named:
        return None
    _, g = named[0]
    qs = 0.5 * (q + mq(g, q))
    vs = 0.5 * (v + mv(g, v))
    scale = torch.zeros((), dtype=q.dtype, device=q.device)
    worst = torch.zeros((), dtype=q.dtype, device=q.device)
    for start in range(0, q.shape[0], chunk):
        sl = slice(start, start + chunk)
        try:
            traj = chunk_rollout(field, qs[sl], vs[sl], start, **run)
        except (ValueError, RuntimeError):
            return None
        scale = torch.maximum(scale, state_size(traj.q, traj.v).max())
        for x, move in ((traj.q, mq), (traj.v, mv)):
            worst = torch.maximum(worst, (x - _image(g, move, x)).abs().max())
    err = (worst / scale.clamp_min(1e-300)).item()
    return err if err == err else None
