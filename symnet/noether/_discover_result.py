"""Results of symmetry discovery: :class:`SymmetryDiscovery` and :class:`ChargeDiscovery`.

Both are lists (of :class:`~symnet.groups.Generator` and of
:class:`Charge`) that also carry the spectrum of the discovery (singular
values, the cut, the gap), the Lie algebra of what was found, and a
``check`` method that verifies each finding along integrated trajectories
with the Noether checker's verdict rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._probe import check_autodiff
from symnet._util import cast_callable
from symnet.groups import Generator
from symnet.noether._discover_algebra import LieAlgebra
from symnet.noether._discover_hamiltonian import Charge
from symnet.noether._discover_inputs import integer, real, states
from symnet.noether._discover_verify import verify_charges
from symnet.noether._quantities import gradients
from symnet.noether.report import NoetherReport, Row
from symnet.noether.verdict import Evidence, Tolerances, decide

__all__ = ["SymmetryDiscovery", "ChargeDiscovery", "check_charges"]


def _sv_line(rel: Tensor, k: int, per_line: int = 10) -> list[str]:
    vals = [f"{x:.1e}" for x in rel.tolist()]
    m = len(vals)
    if 0 < k <= m:
        vals.insert(m - k, "|")
    return ["  " + " ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]


class _Discovery(list):
    """Shared spectrum bookkeeping and report header."""

    form = ""

    def __init__(
        self,
        items: list[Any],
        *,
        singular_values: Tensor,
        relative_singular_values: Tensor,
        threshold: float,
        gap: float | None,
        algebra: LieAlgebra,
        candidates: str,
        n_states: int,
    ) -> None:
        super().__init__(items)
        self.singular_values = singular_values
        self.relative_singular_values = relative_singular_values
        self.threshold = threshold
        self.gap = gap
        self.algebra = algebra
        self.candidates = candidates
        self.n_states = n_states

    @property
    def names(self) -> list[str]:
        """Names of the findings, in order."""
        return [x.name for x in self]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for x in self:
                if x.name == key:
                    return x
            raise KeyError(f"nothing named {key!r} was found; found: {self.names}")
        return super().__getitem__(key)

    def _header(self) -> list[str]:
        k = len(self)
        top = float(self.singular_values[0]) if len(self.singular_values) else 0.0
        gap = "none (nothing below the cut)" if self.gap is None else f"{self.gap:.2e}"
        return [
            f"Symmetry discovery ({self.form}; candidates: {self.candidates}; "
            f"{self.n_states} states)",
            f"singular values relative to the largest ({top:.3e}), '|' marks the cut:",
            *_sv_line(self.relative_singular_values, k),
            f"cut at relative {self.threshold:.2e}; gap across the cut {gap}; found {k}",
        ]

    def _finish(self, lines: list[str]) -> str:
        lines.append(str(self.algebra))
        return "\n".join(lines)


class SymmetryDiscovery(_Discovery):
    """Generators that leave a Lagrangian invariant, found by :func:`discover`.

    A ``list`` of :class:`~symnet.groups.Generator` (built with
    ``Generator.linear`` for affine findings), with:

    Attributes
    ----------
    singular_values : Tensor
        All singular values, descending, shape ``(m,)`` for ``m`` candidate
        coefficients: root mean square of the normalized Lie derivative.
    relative_singular_values : Tensor
        ``singular_values / singular_values[0]``.
    threshold : float
        The relative cut; the generators lie below it.
    gap : float or None
        Ratio of the singular values on either side of the cut.
    relative : dict of str to float
        Per generator: its relative singular value (the Rayleigh quotient of
        its canonical coefficients); near 1e-16 for an exact symmetry in float64.
    deviation : dict of str to float
        Per generator: how far the numerical nullspace vector was from the
        named canonical form (0 for exact symmetries).
    coefficients : dict of str to Tensor
        Per generator: its coefficient vector ``[custom | tau | A | b]``.
    algebra : LieAlgebra
        Brackets and structure constants of the found generators.
    """

    form = "lagrangian"

    def __init__(
        self,
        items: list[Generator],
        *,
        L: Callable,
        relative: dict[str, float],
        deviation: dict[str, float],
        coefficients: dict[str, Tensor],
        **kwargs: Any,
    ) -> None:
        super().__init__(items, **kwargs)
        self.L = L
        self.relative = relative
        self.deviation = deviation
        self.coefficients = coefficients

    def __str__(self) -> str:
        lines = self._header()
        width = max([len(g.name) for g in self] + [9])
        if len(self):
            lines.append(f"  {'generator':<{width}}  rel. sigma  deviation  exact?")
        for g in self:
            rel, dev = self.relative[g.name], self.deviation[g.name]
            tag = "exact" if rel <= 1e-10 else "approximate"
            lines.append(f"  {g.name:<{width}}  {rel:.1e}     {dev:.1e}    {tag}")
        return self._finish(lines)

    def check(
        self, q0: Tensor, qdot0: Tensor, *, dt: float, steps: int, **kwargs: Any
    ) -> NoetherReport:
        """Verify every found generator with :func:`symnet.noether.check`.

        Parameters
        ----------
        q0, qdot0 : Tensor
            Initial states, shape ``(B, *S)``.
        dt, steps : float, int
            Rollout step and number of steps.
        **kwargs
            Passed on (``method``, ``field``, ``tolerances``, ...).
        """
        from symnet.noether.check import check

        if not len(self):
            raise ValueError("nothing was found, so there is nothing to check")
        return check(self.L, list(self), q0, qdot0, dt=dt, steps=steps, **kwargs)


class ChargeDiscovery(_Discovery):
    """Conserved charges of a Hamiltonian, found by :func:`discover_hamiltonian`.

    A ``list`` of :class:`Charge` (callables ``Q(q, p)`` with names), with
    the spectrum attributes of :class:`SymmetryDiscovery` and the Poisson
    algebra of the charges as :attr:`algebra`.
    """

    form = "hamiltonian"

    def __init__(self, items: list[Charge], *, H: Callable, **kwargs: Any) -> None:
        super().__init__(items, **kwargs)
        self.H = H

    @property
    def generators(self) -> list[Generator]:
        """The point symmetries among the charges (``Q = p . xi(q)``)."""
        return [c.generator for c in self if c.generator is not None]

    def __str__(self) -> str:
        lines = self._header()
        width = max([len(c.name) for c in self] + [6])
        if len(self):
            lines.append(f"  {'charge':<{width}}  rel. sigma  {{Q,H}} rel.  formula")
        for c in self:
            lines.append(
                f"  {c.name:<{width}}  {c.relative_singular_value:.1e}     "
                f"{c.bracket_error:.1e}     {c.formula}"
            )
        return self._finish(lines)

    def check(
        self,
        q0: Tensor,
        p0: Tensor,
        *,
        dt: float,
        steps: int,
        method: str = "rk4",
        field: Any = None,
        tolerances: Tolerances | None = None,
    ) -> NoetherReport:
        """Verify every charge along trajectories of ``H`` (see :func:`check_charges`)."""
        if not len(self):
            raise ValueError("nothing was found, so there is nothing to check")
        return check_charges(
            self.H,
            list(self),
            q0,
            p0,
            dt=dt,
            steps=steps,
            method=method,
            field=field,
            tolerances=tolerances,
        )


def _relative_drift(Q: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
    S = torch.maximum(Q[0].abs(), scale.mean(dim=0)).clamp_min(1e-300)
    return (Q - Q[0]).abs().amax(dim=0) / S, S


def _along(H: Callable, charge: Charge, q: Tensor, p: Tensor) -> tuple[Tensor, ...]:
    """Charge, its scale, ``{Q, H}`` and the bracket's scale at states ``(T, B, *S)``."""
    from symnet.noether._discover_hamiltonian import charge_bracket

    T, B = q.shape[:2]
    qf, pf = q.reshape(T * B, *q.shape[2:]), p.reshape(T * B, *p.shape[2:])
    t = torch.zeros(T * B, dtype=q.dtype)
    g = gradients(H, qf, pf, t, "H")
    val, rate, terms = charge_bracket(charge.fn, qf, pf, g.dq, g.dv)
    out = (val.abs(), val, rate, terms)
    return tuple(x.detach().reshape(T, B) for x in out)


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
    tolerances: Tolerances | None = None,
) -> NoetherReport:
    """Verify conserved charges ``Q(q, p)`` of ``H`` along integrated trajectories.

    The Hamiltonian counterpart of :func:`symnet.noether.check` for charges
    that need not come from a point symmetry (Runge-Lenz, Fradkin): the
    invariance error is the relative Poisson bracket
    ``|{Q, H}| / (|dQ/dq . dH/dp| + |dQ/dp . dH/dq|)``, the drift is measured
    at ``dt`` and ``dt/2``, the balance law ``Q(t) - Q(0) = integral {Q, H}``
    is checked, and the verdict follows :func:`symnet.noether.verdict.decide`.

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
    tolerances : Tolerances, optional

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
        shaped ``q0``/``p0``, ``H`` not returning shape ``(B,)``.
    GradientMismatchError
        (a ``ValueError``) ``H``'s autodiff gradient misses part of its
        dependence on ``q`` or ``p``, or finite differences of the values of
        ``H`` or of a charge disagree with the autodiff Poisson bracket (a
        charge that is simply not conserved is no error: it gets the verdict
        "broken").
    """
    from symnet.mechanics import get_integrator, hamiltonian_vector_field, rollout

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
    if tolerances is not None and not isinstance(tolerances, Tolerances):
        raise TypeError(
            "tolerances must be a symnet.noether.verdict.Tolerances, got "
            f"{type(tolerances).__name__}"
        )
    q, p = states(q0, p0, ("q0", "p0"), torch.float64)
    H = cast_callable(H, torch.float64)
    t0 = torch.zeros(q.shape[0], dtype=q.dtype)
    gradients(H, q, p, t0, "H")  # shape and finiteness of H, with errors naming it
    check_autodiff(H, q, p, t0, name="H", arg_names=("q", "p"))
    verify_charges(H, charges, q, p, t0, name="H")
    tol = tolerances or Tolerances()
    field = field or hamiltonian_vector_field(H)
    coarse = rollout(field, q, p, dt=dt, steps=steps, method=method)
    fine = rollout(field, q, p, dt=dt / 2, steps=2 * steps, method=method)
    rows, values = [], {}
    for c in charges:
        sc, Qc, rc, tc = _along(H, c, coarse.q, coarse.v)
        sf, Qf, rf, tf = _along(H, c, fine.q, fine.v)
        drift_c, _ = _relative_drift(Qc, sc)
        drift_f, scale = _relative_drift(Qf, sf)
        h = dt / 2
        pieces = h / 3.0 * (rf[0:-2:2] + 4.0 * rf[1:-1:2] + rf[2::2])
        integral = torch.cat([torch.zeros_like(rf[:1]), pieces.cumsum(0)])
        balance = float(((Qf[::2] - Qf[0] - integral).abs().amax(0) / scale).max())
        inv_c = rc.abs() / tc.clamp_min(1e-300)
        inv_f = rf.abs() / tf.clamp_min(1e-300)
        inv = max(float(inv_c.max()), float(inv_f.max()))
        ev = Evidence(inv, None, float(drift_c.max()), float(drift_f.max()), balance, order)
        verdict, reason = decide(ev, tol)
        mo = ev.measured_order
        rows.append(
            Row(
                group=None,
                generator=c.name,
                charge=c.name,
                invariance_error=inv,
                verdict=verdict,
                reason=reason,
                drift=ev.drift,
                drift_half=ev.drift_half,
                measured_order=mo if not math.isnan(mo) else None,
                order=order,
                balance_residual=balance,
            )
        )
        values[c.name] = Qc
    return NoetherReport(
        rows=rows,
        charges=values,
        times=coarse.t,
        form="hamiltonian",
        method=method,
        dt=float(dt),
        steps=steps,
        batch=q.shape[0],
        t0=0.0,
        tolerances=tol,
    )
