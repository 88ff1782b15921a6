"""Rollouts: integrate a vector field over a fixed time grid.

:func:`rollout` advances a batch of initial states with any registered method
and returns a :class:`Trajectory`. It costs the method's field evaluations
plus a handful of tensor operations per step: the time grid is computed once,
stage times are skipped for fields that ignore time, states are collected and
stacked once at the end, and the NaN/inf check runs on blocks of 64 steps.

Host synchronisation: the fixed-step loop reads nothing from the device per
step. The NaN/inf check and the field's own checks (the conditioning of a
Lagrangian field's mass matrix, deferred: :mod:`symnet.mechanics._deferred`)
are read together once per block of 64 steps, and the first flagged step is
run again, checked, to raise the error it would have raised. Two methods
decide on the host by nature: "implicit_midpoint" reads one number per
fixed-point iteration (when to stop) and "dopri5" makes torchdiffeq's
accept/reject and step-size decisions (about a dozen reads per internal
step, none added by symnet).

Compiled rollouts: ``compile=True`` runs the steps through ``torch.compile``
(whole steps of the explicit fixed-step methods, the field alone for
"implicit_midpoint" and "dopri5"), ``compile="auto"`` (the default) does so
when the measured eager cost of the remaining steps pays for compiling; see
:mod:`symnet.mechanics.compiled` and ``docs/mechanics.md``, "Compiled rollouts".

Gradients: a rollout follows PyTorch's ambient grad mode, like any tensor
operation. When the initial state or the field's parameters require grad and
grad mode is on, the whole rollout is recorded so that a model can be trained
through it (keep such rollouts short); wrap the call in ``torch.no_grad()``
for inference and long rollouts.

References
----------
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from symnet._util import check_tensor, format_shape
from symnet._validate import integer, real
from symnet.mechanics._deferred import Deferred
from symnet.mechanics._errors import NonFiniteStateError
from symnet.mechanics._stepping import CHECK_EVERY, AutoRule, run_fixed
from symnet.mechanics.compiled import CompiledFunction, can_trace_now, compiled_copy
from symnet.mechanics.field import VectorField, as_time, as_vector_field
from symnet.mechanics.methods import Integrator, get_integrator

__all__ = ["Trajectory", "rollout"]


@dataclass(frozen=True)
class Trajectory:
    """States of a rollout on the grid ``t0 + k dt``, ``k = 0, every, ..., steps``.

    Attributes
    ----------
    t : Tensor, shape (K, B)
        Times; ``K = steps // every + 1`` unless the rollout stopped early.
    q : Tensor, shape (K, B, *S)
        Positions.
    v : Tensor, shape (K, B, *S)
        Velocities for an acceleration field; for a Hamiltonian field the
        momenta ``p`` (also available as :attr:`p`).
    method : str
        Integration method.
    dt : float
        Step size.
    stopped_at : int or None
        With ``on_nonfinite="return"``: the step of the first non-finite
        state, which is not included (the trajectory holds the recorded
        states of steps ``0 .. stopped_at - 1``); ``None`` when the rollout
        completed. A step, not a row: with ``every > 1`` row ``k`` is step
        ``k * every``.
    """

    t: Tensor
    q: Tensor
    v: Tensor
    method: str
    dt: float
    stopped_at: int | None = None

    @property
    def p(self) -> Tensor:
        """Alias of :attr:`v`: the momenta, for a rollout of a Hamiltonian field."""
        return self.v

    def __len__(self) -> int:
        return self.q.shape[0]

    def __repr__(self) -> str:
        stop = "" if self.stopped_at is None else f", stopped_at={self.stopped_at}"
        return (
            f"Trajectory(q={format_shape(self.q.shape)}, method={self.method!r}, "
            f"dt={self.dt}{stop})"
        )


def _first_nonfinite(xs: Tensor, ys: Tensor) -> tuple[int, int] | None:
    """``(step, batch index)`` of the first NaN/inf in ``xs``/``ys`` (K, B, *S), or None."""
    bad = ~(
        torch.isfinite(xs.detach()).flatten(2).all(-1)
        & torch.isfinite(ys.detach()).flatten(2).all(-1)
    )
    if not bool(bad.any()):
        return None
    step = int(bad.any(dim=1).nonzero()[0, 0])
    return step, int(bad[step].nonzero()[0, 0])


def rollout(
    field: VectorField | Any,
    q0: Tensor,
    v0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "rk4",
    t0: float | Tensor = 0.0,
    on_nonfinite: str = "raise",
    compile: bool | str = "auto",
    progress: Callable[[int, int], None] | None = None,
    every: int = 1,
    **options: Any,
) -> Trajectory:
    """Integrate a batch of initial states over ``steps`` steps of size ``dt``.

    Parameters
    ----------
    field : VectorField or callable
        A :class:`VectorField` (e.g. from :func:`lagrangian_vector_field` or
        :func:`hamiltonian_vector_field`), or a plain callable ``f(q, v)`` /
        ``f(q, v, t)`` returning the acceleration as a Tensor of shape
        (B, *S) and the states' dtype (treated as a second-order field,
        :class:`SecondOrderField`). Any other output (a (B, 1) or 0-d tensor,
        a missing batch axis, another dtype) is an error naming the field,
        never broadcast into the state. The field must not write into its
        arguments.
    q0 : Tensor, shape (B, *S)
        Initial positions. Not modified: the field only sees copies.
    v0 : Tensor, shape (B, *S)
        Initial velocities; for a Hamiltonian field, initial momenta. Not modified.
    dt : real number
        Step size (negative integrates backwards); finite and non-zero. An
        int, float, numpy scalar or 0-d tensor; not bool or str.
    steps : int
        Number of steps (>= 0; 0 returns the initial state alone). Any
        integer type (numpy integers, 0-d integer tensors, anything with
        ``__index__``); not bool.
    method : str, default "rk4"
        One of :data:`integrators`: "euler", "symplectic_euler", "leapfrog",
        "rk4", "implicit_midpoint", "yoshida4", "dopri5". The splitting
        methods ("symplectic_euler", "leapfrog", "yoshida4") need an
        acceleration independent of the velocity, or a separable Hamiltonian;
        this is measured at the initial state and a ValueError points to
        "implicit_midpoint" otherwise.
    t0 : real number or Tensor of shape () or (B,), default 0
        Initial time(s); finite.
    on_nonfinite : {"raise", "return"}
        On NaN/inf in the state: raise :class:`NonFiniteStateError` naming the
        step and batch index, or return the trajectory up to the last finite
        state with ``stopped_at`` set.
    compile : {"auto", True, False}, default "auto"
        Run the steps through ``torch.compile``: True always (after the
        first step, which stays eager and checked), False never, "auto" when
        the eager time of the remaining steps, measured on three steps after
        the first, predicts more than 30 s (0.1 s when the compiled function
        is already cached), and never for a rollout that records an
        autograd graph. Results agree with eager to round-off; a compiler
        failure runs eagerly with one :class:`~symnet.mechanics.CompileWarning`.
        See ``docs/mechanics.md``, "Compiled rollouts".
    progress : callable, optional
        ``progress(done, total)`` with ``total = steps``, called at least
        every 64 steps as the rollout advances and once at the end, with
        ``done == total`` (also when it stopped at a non-finite state).
    every : int, default 1
        Record the initial state and every ``every``-th state after it
        (steps ``0, every, 2 every, ..., steps``); ``steps`` must be a
        multiple of ``every``. The states in between are computed and
        checked for NaN/inf as usual, then dropped, so a fixed-step rollout
        holds ``steps // every + 1`` states plus at most one block of 64
        (a long rollout of a large system fits in memory). The recorded
        states equal rows ``::every`` of the ``every=1`` rollout exactly.
        "dopri5" computes its whole output grid (its dense output) and
        keeps every ``every``-th point.
    **options
        Options of the method (``tol``, ``max_iter`` for "implicit_midpoint";
        ``rtol``, ``atol``, ``max_num_steps`` for "dopri5": at most 1000
        internal steps per ``dt`` by default); others raise TypeError.

    Returns
    -------
    Trajectory
        ``t`` (K, B), ``q`` and ``v`` (K, B, *S) with ``K = steps // every + 1``.

    Raises
    ------
    TypeError
        ``dt``, ``steps`` or ``t0`` of the wrong type; ``progress`` not
        callable; a field that returns
        something else than a Tensor (a pair for a Hamiltonian field) or
        another dtype than the states.
    ValueError
        Unknown method (the message lists them), bad shapes (of the states
        or of the field's output), NaN/inf in the initial state or ``t0``,
        ``steps < 0``, ``every < 1`` or ``steps`` not a multiple of
        ``every``, ``dt`` zero or not finite, ``compile`` not one of
        True, False, "auto"; a splitting method on a field that does not
        split, a field that writes into its arguments.
    NonFiniteStateError
        A state became NaN/inf (``on_nonfinite="raise"``). A state that grows
        large but stays finite is not an error here.
    SingularMassMatrixError, ConvergenceError
        From the field or the implicit solve (the message names the step);
        "dopri5" exceeding ``max_num_steps`` between two grid points.

    Notes
    -----
    The graph is recorded when grad mode is on and the states require grad
    (see the module docstring). A NaN/inf state is detected within 64 steps
    of its appearance and reported at its exact step, and so is a singular
    mass matrix (its flags are read once per 64 steps, not per step);
    compiled or not, the same errors are raised at the same step.

    Examples
    --------
    >>> import torch
    >>> traj = rollout(lambda q, v: -q, torch.ones(4, 1), torch.zeros(4, 1), dt=0.1, steps=10)
    >>> traj.q.shape, traj.t.shape
    (torch.Size([11, 4, 1]), torch.Size([11, 4]))
    >>> rollout(lambda q, v: -q, torch.ones(4, 1), torch.zeros(4, 1), dt=0.1, steps=10, every=5).t[
    ...     :, 0
    ... ]
    tensor([0.0000, 0.5000, 1.0000])
    """
    integrator = get_integrator(method)(**options)
    field = as_vector_field(field)
    y_name = "p0" if field.order == 1 else "v0"
    check_tensor(q0, "q0", ndim_min=1)
    check_tensor(v0, y_name, ndim_min=1)
    if q0.shape != v0.shape:
        raise ValueError(
            f"q0 and {y_name} must have the same shape (B, *S), got "
            f"{format_shape(q0.shape)} and {format_shape(v0.shape)}"
        )
    if q0.dtype != v0.dtype:
        raise ValueError(f"q0 and {y_name} must have the same dtype, got {q0.dtype} and {v0.dtype}")
    steps = integer(steps, "steps")
    if steps < 0:
        raise ValueError(f"steps must be >= 0 (0 returns the initial state alone), got {steps}")
    every = integer(every, "every")
    if every < 1:
        raise ValueError(f"every must be >= 1 (record every every-th state), got {every}")
    if steps % every:
        raise ValueError(
            f"steps must be a multiple of every (states 0, every, ..., steps are recorded), "
            f"got steps={steps} and every={every}"
        )
    dt = real(dt, "dt", finite=False)
    if not math.isfinite(dt) or dt == 0:
        raise ValueError(f"dt must be finite and non-zero, got {dt}")
    if not isinstance(on_nonfinite, str) or on_nonfinite not in ("raise", "return"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'return', got {on_nonfinite!r}")
    if compile is not True and compile is not False and not _is_auto(compile):
        raise ValueError(f"compile must be True, False or 'auto', got {compile!r}")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be None or a callable progress(done, total), got {progress!r}"
        )
    t_start = as_time(t0, q0, "t0")
    check_tensor(t_start, "t0")
    offsets = dt * torch.arange(steps + 1, dtype=q0.dtype, device=q0.device)
    times = t_start.unsqueeze(0) + offsets.unsqueeze(1)
    # the field only ever sees copies: whatever it does, the caller's tensors stay as they are
    q0, v0 = q0.clone(), v0.clone()
    t_start = times[0].clone()

    if steps and integrator.splitting:
        field.check_splittable(q0, v0, t_start, integrator.name)

    if integrator.adaptive:
        xs, ys = _run_deferred(integrator, field, q0, v0, t_start, dt, steps, compile, progress)
        bad = _first_nonfinite(xs, ys)
        if every > 1:
            xs, ys = xs[::every].contiguous(), ys[::every].contiguous()
    else:
        rec, finite = run_fixed(
            field, integrator, q0, v0, times, dt, steps, compile, progress, every=every
        )
        xs, ys = rec.stacked()
        bad = None if finite else rec.first_nonfinite()
    if progress is not None:
        progress(steps, steps)

    grid = times if every == 1 else times[::every].contiguous()
    if bad is None:
        return Trajectory(grid, xs, ys, integrator.name, dt)
    k, b = bad
    if on_nonfinite == "raise":
        raise NonFiniteStateError(
            f"rollout with {integrator.name!r} produced a non-finite state at step {k} "
            f"(t = {float(times[k, b]):.6g}) in batch element {b}; reduce dt, check the field "
            "there, or pass on_nonfinite='return' to get the trajectory up to step "
            f"{k - 1}",
            step=k,
            batch_index=b,
        )
    rows = (k - 1) // every + 1  # the recorded steps before k
    return Trajectory(grid[:rows], xs[:rows], ys[:rows], integrator.name, dt, stopped_at=k)


def _is_auto(mode: Any) -> bool:
    return isinstance(mode, str) and mode == "auto"


def _run_deferred(
    integrator: Integrator,
    field: VectorField,
    q0: Tensor,
    v0: Tensor,
    t0: Tensor,
    dt: float,
    steps: int,
    mode: bool | str,
    progress: Callable[[int, int], None] | None,
) -> tuple[Tensor, Tensor]:
    """:func:`_run_adaptive` with the field's checks deferred to the end.

    The evaluations read no error flags from the device
    (:mod:`symnet.mechanics._deferred`); when one was flagged, the whole
    solve runs again with the checks on, which raises the error of an
    undeferred run (a rare path: twice the cost, only on the way to an error).
    """
    deferred = Deferred()
    try:
        with deferred.step(0):
            out = _run_adaptive(integrator, field, q0, v0, t0, dt, steps, mode, progress)
    except Exception:
        if deferred.first_bad() is not None:
            _run_adaptive(integrator, field, q0, v0, t0, dt, steps, False, None)
        raise
    if deferred.first_bad() is not None:
        return _run_adaptive(integrator, field, q0, v0, t0, dt, steps, False, None)
    return out


def _run_adaptive(
    integrator: Integrator,
    field: VectorField,
    q0: Tensor,
    v0: Tensor,
    t0: Tensor,
    dt: float,
    steps: int,
    mode: bool | str,
    progress: Callable[[int, int], None] | None,
) -> tuple[Tensor, Tensor]:
    """An adaptive method's states, its field compiled as ``mode`` says.

    With ``"auto"`` the field starts eager and is switched to compiled when
    the solver's progress over the first grid points predicts enough eager
    time (:class:`~symnet.mechanics._stepping.AutoRule`).
    """
    if not mode or not steps or isinstance(field.fn, CompiledFunction):  # as it is
        return integrator.integrate(field, q0, v0, t0, dt, steps, progress=_every(progress))
    run = compiled_copy(field, enabled=mode is True)
    if mode is True:
        return integrator.integrate(run, q0, v0, t0, dt, steps, progress=_every(progress))
    compiled = run.fn
    rule: AutoRule | None = AutoRule()
    report = _every(progress)

    def tick(done: int, total: int) -> None:
        nonlocal rule
        if report is not None:
            report(done, total)
        if rule is None:
            return
        if not compiled.traceable or compiled.recorded_graph or not can_trace_now(q0):
            rule = None  # never compiled: not traceable, or an autograd graph is recorded
            return
        decided = rule.tick(done, total, lambda: False)
        if decided is not None:
            compiled.enabled, rule = decided, None

    return integrator.integrate(run, q0, v0, t0, dt, steps, progress=tick)


def _every(progress: Callable[[int, int], None] | None) -> Callable[[int, int], None] | None:
    """``progress`` called when ``done`` passes a multiple of 64 (never with done == total)."""
    if progress is None:
        return None
    last = [0]

    def report(done: int, total: int) -> None:
        if done < total and done // CHECK_EVERY > last[0] // CHECK_EVERY:
            last[0] = done
            progress(done, total)

    return report
