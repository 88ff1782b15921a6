"""``check`` and ``check_hamiltonian``: the Noether checker.

For every generator the checker measures (docs/theory.md, section 'Noether
charges', section 'Balance law' and section 'Verdict rules'):

1. the invariance error: the relative Lie derivative ``|R - dF/dt| / scale``
   at the initial states and along the trajectories, and the finite-element
   error ``|L(g x) - L(x)| / max|L|`` for sampled group elements;
2. the charge along trajectories integrated at ``dt`` and ``dt/2``: its
   relative drift ``max_t |Q(t) - Q(0)| / S_Q`` at both steps, and the
   measured order ``log2(drift(dt) / drift(dt/2))``;
3. the balance-law residual ``max_t |Q(t) - Q(0) - integral_0^t rate| / S_Q``
   (composite Simpson quadrature on the ``dt/2`` grid);

and turns them into a verdict (:mod:`symnet.noether.verdict`). Discrete
groups get an invariance residual, a flow-equivariance error and a
fixed-state test (:mod:`symnet.noether.discrete`). The stages are those of
:mod:`symnet.noether.pipeline`, which :func:`symnet.noether.check_charges`
shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet import _distributed
from symnet._deprecation import MISSING, renamed_argument
from symnet._progress import progress as progress_bar
from symnet._rng import RNG
from symnet._util import cast_callable
from symnet.groups import Generator, SymmetrySet, resolve_symmetries
from symnet.noether._finite import finite_errors
from symnet.noether._quantities import (
    check_masses,
    hamiltonian_charge_values,
    kinetic_masses,
    lagrangian_charge_values,
    probe_function,
)
from symnet.noether._setup import Setup, validate_options
from symnet.noether.discrete import check_discrete, discrete_rollouts
from symnet.noether.pipeline import (
    Measurements,
    chunk_and_memory,
    evaluate_charges,
    make_report,
    measure_along_trajectories,
    prepare_states,
    verdict_row,
)
from symnet.noether.report import NoetherReport
from symnet.noether.verdict import VerdictThresholds

__all__ = ["check", "check_hamiltonian"]


# ---------------------------------------------------------------- the stages


def _field(form: str, f64: Callable, field: Any) -> Any:
    from symnet.mechanics import (
        HamiltonianField,
        VectorField,
        hamiltonian_vector_field,
        lagrangian_vector_field,
    )

    if field is None:
        return (
            lagrangian_vector_field(f64) if form == "lagrangian" else hamiltonian_vector_field(f64)
        )
    if form == "hamiltonian" and callable(field) and not isinstance(field, VectorField):
        # a plain callable is Hamilton's equations (q, p, t) -> (qdot, pdot) here, not the
        # acceleration field that rollout takes a plain callable for
        return HamiltonianField(field)
    return field


def _run(
    form: str,
    fn: Callable,
    symmetries: Any,
    q0: Tensor,
    v0: Tensor,
    options: dict[str, Any],
    masses: Any,
    field: Any,
) -> NoetherReport:
    setup = validate_options(form, fn, options)  # 1. options
    q, v = prepare_states(q0, v0, setup.state_names)  # 2. states
    B, S = q.shape[0], tuple(q.shape[1:])
    # names and shapes first (a boost by name gets placeholder masses here), then the
    # memory bound: both before fn is evaluated
    counted = resolve_symmetries(symmetries, S, masses=1.0 if masses is None else masses)
    steps = setup.run.steps
    chunk = chunk_and_memory(setup.chunk_size, B, steps, q[0].numel(), len(counted.generators))
    f64 = cast_callable(fn, torch.float64)
    t_init = torch.full((B,), setup.run.t0, dtype=torch.float64, device=q.device)
    # a user's field runs in the ambient grad mode (it may use torch.autograd); everything
    # else keeps no graph (the torch.func transforms inside ignore no_grad)
    field_grad = field is not None and torch.is_grad_enabled()
    with torch.no_grad():
        # 3. probe: output shape, mutation, differentiability and lost gradients, up front
        probe_function(f64, q, v, t_init, setup.fname, setup.arg_names)
        inferred: list[Tensor] = []

        def infer() -> Tensor:
            inferred.append(kinetic_masses(f64, q, v, t_init, form, setup.fname))
            return inferred[-1]

        # a boost by name without masses: read them from fn's kinetic Hessian (needs fn)
        sym = resolve_symmetries(symmetries, S, masses=masses, infer_masses=infer)
        return _checks(
            setup, chunk, f64, sym, q, v, t_init, _field(form, f64, field), field_grad, inferred
        )


def _checks(
    setup: Setup,
    chunk: int,
    f64: Callable,
    sym: SymmetrySet,
    q: Tensor,
    v: Tensor,
    t_init: Tensor,
    field: Any,
    field_grad: bool,
    inferred: list[Tensor],
) -> NoetherReport:
    """Stages 4 to 7 (arguments validated): rollouts, charges, reductions, verdicts."""
    form, fname, run = setup.form, setup.fname, setup.run
    values = lagrangian_charge_values if form == "lagrangian" else hamiltonian_charge_values
    gens = sym.generators
    sharded = setup.distributed and _distributed.active()
    part = _distributed.shard(q.shape[0]) if sharded else slice(0, q.shape[0])
    n_chunks = len(range(part.start, part.stop, chunk)) if gens else 0

    def evaluate(qs: Tensor, vs: Tensor, ts: Tensor, rates: bool) -> list:
        return evaluate_charges(f64, gens, qs, vs, ts, values, fname, rates)

    def masses_hold(coarse: Any) -> None:
        if inferred:  # masses read from fn: the kinetic Hessian must hold along the run
            end = (coarse.q[-1], coarse.v[-1], coarse.t[-1])
            check_masses(f64, *end, inferred[0], form, fname)

    # the bar counts integration steps: 3 * steps per chunk (the runs at dt and dt/2),
    # steps per rollout of the discrete checks
    S, B = tuple(q.shape[1:]), q.shape[0]
    discrete = sum(discrete_rollouts(g, S, B, chunk) for g in sym.discrete)
    total = run.steps * (3 * n_chunks + discrete)
    # closed on errors too, so that an error message does not land on the bar's line
    with progress_bar(setup.progress, total, "noether check", unit="step") as bar:
        bar.set_postfix({"stage": "invariance"}, refresh=False)
        finite = finite_errors(
            f64, gens, q, v, t_init, setup.n_elements, setup.rng, momenta=form == "hamiltonian"
        )
        m = measure_along_trajectories(
            field,
            q,
            v,
            run=run,
            names=[g.name for g in gens],
            evaluate=evaluate,
            chunk=chunk,
            field_grad=field_grad,
            bar=bar,
            after_rollout=masses_hold,
            distributed=setup.distributed,
        )
        rows = [_row(gen, m, finite[gen.name], setup) for gen in gens]
        for group in sym.discrete:
            bar.set_postfix({"stage": group.name}, refresh=False)
            with torch.set_grad_enabled(field_grad):
                row = check_discrete(
                    f64, field, group, q, v, run.t0, run.dt, run.steps, run.method,
                    setup.thresholds, setup.rng, chunk_size=chunk, compile=run.compile, bar=bar,
                    momenta=form == "hamiltonian",
                )  # fmt: skip
            rows.append(row)
    return make_report(rows, m, form=form, run=run, thresholds=setup.thresholds)


def _row(gen: Generator, m: Measurements, finite: float | None, setup: Setup) -> Any:
    return verdict_row(
        m.evidence(gen.name, finite, setup.order),
        setup.thresholds,
        generator=gen.name,
        charge=gen.charge_label,
        group=repr(gen.group) if gen.group is not None else None,
    )


# ---------------------------------------------------------------- public functions


def check(
    L: Callable,
    symmetries: Any,
    q0: Tensor,
    qdot0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "rk4",
    t0: float = 0.0,
    thresholds: VerdictThresholds | None = None,
    n_elements: int = 8,
    rng: RNG = None,
    progress: bool = False,
    masses: Any = None,
    field: Any = None,
    chunk_size: int | None = None,
    compile: bool | str = "auto",
    distributed: bool = True,
    seed: Any = MISSING,
    tolerances: Any = MISSING,
) -> NoetherReport:
    """Check a Lagrangian's symmetries and their Noether charges.

    Parameters
    ----------
    L : callable or nn.Module
        ``L(q, qdot)`` or ``L(q, qdot, t)`` returning shape ``(B,)``. It is
        evaluated in float64 on a cast copy; the user's module is not modified.
    symmetries : Group, Generator, str or a list of them
        Groups are expanded into their generators (products too); finite
        groups (permutations) get the discrete checks. Names: ``"translation"``,
        ``"rotation"``, ``"time"``, ``"boost"``, ``"permutation"`` or a
        generator name such as ``"rotation_z"``.
    q0, qdot0 : Tensor
        Initial states, shape ``(B, *S)``; not modified.
    dt : float
        Step of the coarse rollout; the fine one uses ``dt / 2``.
    steps : int
        Steps of the coarse rollout (the fine one takes ``2 * steps``).
    method : str
        Integrator (``symnet.mechanics``); its order enters the verdict.
    t0 : float
        Initial time.
    thresholds : VerdictThresholds, optional
        Verdict thresholds (``tolerances=`` is the deprecated name).
    n_elements : int
        Group elements sampled for the finite-element test.
    rng : int or torch.Generator, optional
        Seed or generator of the sampled group elements (default: seed 0);
        ``seed=`` is the deprecated name.
    progress : bool
        Show a progress bar (on stderr), counted in integration steps: it
        advances as each rollout runs (at ``dt`` and ``dt/2``, every chunk).
    masses : float or Tensor, optional
        Masses of a boost given by name (``"boost"``, ``"boost_x"``), a
        positive number or shape ``(N,)``. Default: read from ``L``, whose
        kinetic Hessian ``d2L/dqdot2`` must be ``diag(m_1, ..., m_N) x I_d``
        with the same masses at the initial states and at the end of the run
        (to relative ``1e-8``); otherwise a ValueError asks for them. A
        ``Boost(dim, masses)`` group carries its own masses.
    field : callable, optional
        The dynamics to integrate, ``f(q, qdot, t) -> qddot`` (or a
        ``symnet.mechanics`` vector field); default: the Euler-Lagrange
        equations of ``L`` (:func:`symnet.mechanics.lagrangian_vector_field`).
        Pass a system's closed-form ``acceleration`` to check ``L`` against
        known dynamics at lower cost.
    chunk_size : int, optional
        Trajectories integrated and evaluated together; peak memory grows
        with it (about ``100 * steps * (n + 2 G)`` bytes per trajectory for
        ``n`` numbers per state and ``G`` generators). Default: as many as
        fit in 1 GiB. The verdicts and numbers do not depend on it (up to
        the adaptive steps of ``"dopri5"``, chosen per chunk).
    compile : bool or "auto"
        How the rollouts run (:func:`symnet.mechanics.rollout`): ``False``
        eager, ``True`` compiled with ``torch.compile``, ``"auto"`` compiled
        when that pays off (long runs). The verdicts do not depend on it:
        compiled and eager rollouts agree to round-off, and a compiler
        failure falls back to eager with one warning.
    distributed : bool
        When a ``torch.distributed`` process group of several processes is
        initialised (e.g. under ``torchrun``), shard the trajectories across
        the ranks and gather their results, so that every rank returns the
        same report as one process on the whole batch (docs/scaling.md);
        every rank must then call ``check`` with the same arguments. False:
        each rank checks the whole batch on its own. Progress bars show on
        rank 0 only.

    Returns
    -------
    NoetherReport
        ``rows``, ``verdicts``, ``charges`` (each ``(steps + 1, B)``), a table
        via ``str``, ``to_json()`` and ``plot(path)``.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf states, ``L`` returning a shape other than ``(B,)``,
        ``L`` or ``field`` writing into their inputs, an autodiff gradient of
        ``L`` that misses part of its dependence (``torch.no_grad()``,
        ``.detach()``; a ``GradientMismatchError``), a group whose dimension
        does not fit ``S``, an unknown method or symmetry name (the message
        lists the valid ones), a boost by name whose masses cannot be read
        from ``L``, a check that cannot fit in memory (the message gives the
        memory it needs), a singular mass matrix along the rollout, a number
        of the wrong type or range (``dt=True``, ``steps=2.0``; integers may be
        of any integer type, ``numpy.int64`` included), ``compile`` other than
        True, False or ``"auto"``.
    TypeError
        ``L`` is not callable or not differentiable with ``torch.func``.
    NonFiniteStateError
        A rollout reached NaN/inf (a run that stays finite but diverges gets
        ``inconclusive`` verdicts instead).
    """
    where = "symnet.noether.check"
    rng = renamed_argument("seed", "rng", seed, rng, where=where)
    thresholds = renamed_argument("tolerances", "thresholds", tolerances, thresholds, where=where)
    options = {
        "dt": dt, "steps": steps, "method": method, "t0": t0, "thresholds": thresholds,
        "n_elements": n_elements, "rng": rng, "progress": progress, "chunk_size": chunk_size,
        "compile": compile, "distributed": distributed,
    }  # fmt: skip
    return _run("lagrangian", L, symmetries, q0, qdot0, options, masses, field)


def check_hamiltonian(
    H: Callable,
    symmetries: Any,
    q0: Tensor,
    p0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "leapfrog",
    t0: float = 0.0,
    thresholds: VerdictThresholds | None = None,
    n_elements: int = 8,
    rng: RNG = None,
    progress: bool = False,
    masses: Any = None,
    field: Any = None,
    chunk_size: int | None = None,
    compile: bool | str = "auto",
    distributed: bool = True,
    seed: Any = MISSING,
    tolerances: Any = MISSING,
) -> NoetherReport:
    """Check a Hamiltonian's symmetries: charges ``Q = p . xi - F - tau H``.

    Same parameters and report as :func:`check`, with momenta ``p0`` instead
    of velocities and ``H(q, p)`` or ``H(q, p, t)`` instead of ``L``. The
    default method, leapfrog, needs a separable ``H``; use
    ``"implicit_midpoint"`` otherwise. A ``field`` given here is Hamilton's
    equations ``f(q, p, t) -> (qdot, pdot)``, each of shape ``(B, *S)`` (a
    system's ``phase_velocity``), or a :class:`symnet.mechanics.HamiltonianField`.
    The masses of a boost given by name are read from ``d2H/dp2``, which must
    be ``diag(1/m_1, ..., 1/m_N) x I_d``.
    """
    where = "symnet.noether.check_hamiltonian"
    rng = renamed_argument("seed", "rng", seed, rng, where=where)
    thresholds = renamed_argument("tolerances", "thresholds", tolerances, thresholds, where=where)
    options = {
        "dt": dt, "steps": steps, "method": method, "t0": t0, "thresholds": thresholds,
        "n_elements": n_elements, "rng": rng, "progress": progress, "chunk_size": chunk_size,
        "compile": compile, "distributed": distributed,
    }  # fmt: skip
    return _run("hamiltonian", H, symmetries, q0, p0, options, masses, field)
