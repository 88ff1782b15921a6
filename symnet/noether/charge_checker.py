"""``check_charges``: verify conserved phase-space functions ``Q(q, p)`` of a Hamiltonian.

The charges need not come from a point symmetry (Runge-Lenz, Fradkin): their
rate is the Poisson bracket ``{Q, H}``. The drift, balance law and verdict
are those of :func:`symnet.noether.check`: the same stages of
:mod:`symnet.noether.pipeline` (docs/theory.md, section 'Balance law', and
docs/theory.md, section 'Verdict rules').
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._deprecation import MISSING, renamed_argument
from symnet._probe import check_autodiff
from symnet._util import cast_callable
from symnet.noether._options import bool_option
from symnet.noether._quantities import ChargeValues, StateGradients, gradients
from symnet.noether.discovery.inputs import integer, real, states
from symnet.noether.discovery.phase_space import Charge, charge_bracket
from symnet.noether.discovery.verify import verify_charges
from symnet.noether.pipeline import (
    RunSpec,
    check_thresholds,
    chunk_and_memory,
    compile_option,
    evaluate_charges,
    make_report,
    measure_along_trajectories,
    verdict_row,
)
from symnet.noether.report import NoetherReport
from symnet.noether.verdict import VerdictThresholds

__all__ = ["check_charges"]


def _charge_values(
    grads: StateGradients, charge: Charge, q: Tensor, p: Tensor, t: Tensor, rates: bool
) -> ChargeValues:
    """``Q``, ``|Q|``, ``{Q, H}`` and the bracket's scale at states ``(B, *S)``."""
    val, rate, terms = charge_bracket(charge.fn, q, p, grads.dq, grads.dv)
    return ChargeValues(val, val.abs(), rate, terms)


def check_charges(
    H: Callable,
    charges: list[Charge],
    q0: Tensor,
    p0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "rk4",
    field: Any = None,
    thresholds: VerdictThresholds | None = None,
    compile: bool | str = "auto",
    distributed: bool = True,
    tolerances: Any = MISSING,
) -> NoetherReport:
    """Verify conserved charges ``Q(q, p)`` of ``H`` along integrated trajectories.

    The Hamiltonian counterpart of :func:`symnet.noether.check` for charges
    that need not come from a point symmetry (Runge-Lenz, Fradkin): the
    invariance error is the relative Poisson bracket
    ``|{Q, H}| / (|dQ/dq . dH/dp| + |dQ/dp . dH/dq|)``, the drift is measured
    at ``dt`` and ``dt/2``, the balance law ``Q(t) - Q(0) = integral {Q, H}``
    is checked, and the verdict follows :func:`symnet.noether.verdict.decide`: the
    stages of :mod:`symnet.noether.pipeline`, as in :func:`symnet.noether.check`.

    Parameters
    ----------
    H : callable
        ``H(q, p)`` returning shape ``(B,)``.
    charges : list of Charge
    q0, p0 : Tensor
        Initial states, shape ``(B, *S)``.
    dt, steps : float, int
        Coarse step (finite, positive) and number of steps (an integer >= 2 of
        any integer type); the fine rollout takes ``2 * steps``.
    method : str
        Integrator of :func:`symnet.mechanics.rollout`.
    field : callable, optional
        The dynamics; default Hamilton's equations of ``H``.
    thresholds : VerdictThresholds, optional
        Verdict thresholds (``tolerances=`` is the deprecated name).
    compile : bool or "auto"
        How the rollouts run (:func:`symnet.mechanics.rollout`); the verdicts
        do not depend on it.
    distributed : bool
        Under an initialised ``torch.distributed`` group of several
        processes, shard the trajectories across the ranks and gather the
        results: every rank returns the single-process report (as in
        :func:`symnet.noether.check`). False: each rank runs the whole batch.

    Returns
    -------
    NoetherReport
        Hamiltonian form; one row per charge.

    Raises
    ------
    TypeError
        ``H`` not callable, ``charges`` not a list of :class:`Charge`, an
        option of the wrong type (``dt`` a bool, ``steps`` not an integer).
    ValueError
        ``dt`` not finite and positive, ``steps < 2``, NaN/inf or badly
        shaped ``q0``/``p0``, ``H`` not returning shape ``(B,)``, ``compile``
        not True, False or ``"auto"``.
    GradientMismatchError
        (a ``ValueError``) ``H``'s autodiff gradient misses part of its
        dependence on ``q`` or ``p``, or finite differences of the values of
        ``H`` or of a charge disagree with the autodiff Poisson bracket (a
        charge that is simply not conserved is no error: it gets the verdict
        "broken").
    """
    from symnet.mechanics import get_integrator, hamiltonian_vector_field

    thresholds = renamed_argument(
        "tolerances", "thresholds", tolerances, thresholds, where="symnet.noether.check_charges"
    )
    if not callable(H):
        raise TypeError(f"H must be callable, got {type(H).__name__}")
    if isinstance(charges, (str, Charge)) or not isinstance(charges, (list, tuple)):
        raise TypeError(f"charges must be a list of Charge objects, got {type(charges).__name__}")
    for k, c in enumerate(charges):
        if not isinstance(c, Charge):
            raise TypeError(
                f"charges[{k}] must be a Charge (e.g. from discover_hamiltonian), got "
                f"{type(c).__name__}"
            )
    dt = real(dt, "dt")
    if not dt > 0:
        raise ValueError(f"dt must be a positive number, got {dt!r}")
    steps = integer(steps, "steps")
    if steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    order = get_integrator(method).order
    if field is not None and not callable(field):
        raise TypeError(f"field must be callable (q, p, t) -> (qdot, pdot), got {field!r}")
    thresholds = check_thresholds(thresholds, "thresholds")
    compile = compile_option(compile, "compile")
    distributed = bool_option(distributed, "distributed")
    q, p = states(q0, p0, ("q0", "p0"), torch.float64)
    H = cast_callable(H, torch.float64)
    t0 = torch.zeros(q.shape[0], dtype=q.dtype, device=q.device)
    gradients(H, q, p, t0, "H")  # shape and finiteness of H, with errors naming it
    check_autodiff(H, q, p, t0, name="H", arg_names=("q", "p"))
    verify_charges(H, charges, q, p, t0, name="H")
    run = RunSpec(dt=float(dt), steps=steps, method=method, t0=0.0, compile=compile)
    B = q.shape[0]
    chunk = chunk_and_memory(None, B, steps, q[0].numel(), len(charges))

    def evaluate(qs: Tensor, ps: Tensor, ts: Tensor, rates: bool) -> list[ChargeValues]:
        # rates on both grids: the invariance error is the worst bracket on either
        return evaluate_charges(H, charges, qs, ps, ts, _charge_values, "H", True)

    m = measure_along_trajectories(
        field or hamiltonian_vector_field(H),
        q,
        p,
        run=run,
        names=[c.name for c in charges],
        evaluate=evaluate,
        chunk=chunk,
        distributed=distributed,
    )
    rows = [
        verdict_row(m.evidence(c.name, None, order), thresholds, generator=c.name, charge=c.name)
        for c in charges
    ]
    return make_report(rows, m, form="hamiltonian", run=run, thresholds=thresholds)
