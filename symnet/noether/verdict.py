"""Verdict rules of the Noether checker (docs/theory.md, section 'Verdict rules').

- ``conserved``: the invariance error is at round-off AND the charge drift is
  within tolerance or shrinks with the step size at the integrator's order;
- ``broken``: the invariance error is significant AND the charge's change is
  explained by the balance law ``J(t) - J(0) = integral (R - dF/dt)``;
- ``inconclusive``: anything else, with the reason.

The thresholds live in :class:`VerdictThresholds`; the defaults are for float64
evaluation (the checker always evaluates in float64).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

__all__ = [
    "VerdictThresholds",
    "Evidence",
    "decide",
    "decide_discrete",
    "meaningful_order",
    "GROWTH",
    "ORDER_EXCESS",
]

#: Largest growth factor of the states along a run (the largest entry of
#: ``|q|, |qdot|`` over a trajectory relative to its initial value) before the
#: run counts as diverged (for continuous symmetries: when the runs at ``dt``
#: and ``dt/2`` also disagree).
GROWTH = 1e6

#: A drift that shrinks faster than ``2**(order + ORDER_EXCESS)`` from ``dt`` to
#: ``dt/2`` is not integration error in its asymptotic regime (which shrinks as
#: ``2**order``): the run at ``dt`` is not resolved, so the ratio does not show
#: that the drift converges, and the charge is not called conserved by it.
ORDER_EXCESS = 2


@dataclass(frozen=True)
class VerdictThresholds:
    """Thresholds of the verdicts; all errors are relative (scale-adjusted).

    Attributes
    ----------
    invariance : float
        Largest relative Lie derivative counted as round-off (exact symmetry).
    broken : float
        Smallest relative Lie derivative counted as a real breaking.
    drift : float
        Relative charge drift accepted as conserved without an order test.
    order_slack : float
        A drift counts as integration error when the measured order
        ``log2(drift(dt) / drift(dt/2))`` is at least ``order - order_slack``.
    balance : float
        Largest balance-law residual, as a fraction of the charge's change,
        for the change to count as explained by the breaking.
    flow : float
        Largest relative flow-equivariance error of a discrete symmetry.

    Raises
    ------
    ValueError
        A field that is not a real number (``bool`` is not one), is negative
        or not finite, or ``invariance > broken``.
    """

    invariance: float = 1e-9
    broken: float = 1e-6
    drift: float = 1e-9
    order_slack: float = 0.6
    balance: float = 0.05
    flow: float = 1e-7

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(
                    f"VerdictThresholds.{f.name} must be a real number, got {value!r} "
                    f"({type(value).__name__})"
                )
            value = float(value)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(
                    f"VerdictThresholds.{f.name} must be finite and non-negative, got {value!r}"
                )
            object.__setattr__(self, f.name, value)
        if self.invariance > self.broken:
            raise ValueError(
                f"VerdictThresholds.invariance ({self.invariance:g}) must not exceed "
                f"VerdictThresholds.broken "
                f"({self.broken:g}): an error cannot be both round-off and a real breaking"
            )


@dataclass
class Evidence:
    """What the checker measured for one generator (all relative numbers)."""

    invariance_error: float
    finite_error: float | None
    drift: float
    drift_half: float
    balance_residual: float
    order: int
    growth: float = 1.0

    @property
    def measured_order(self) -> float:
        """``log2(drift(dt) / drift(dt/2))`` (nan when both are zero)."""
        if self.drift_half <= 0.0:
            return math.inf if self.drift > 0.0 else math.nan
        return math.log2(self.drift / self.drift_half) if self.drift > 0.0 else -math.inf


def meaningful_order(p_meas: float, order: int) -> bool:
    """Whether a measured order could come from an integrator of order ``order``.

    A drift ratio ``drift(dt) / drift(dt/2)`` of ``2**p`` with ``p`` above
    ``2 * order + 2`` is no integration error: one of the two runs is not
    resolved (it diverged, or left the region where the expansion in ``dt``
    holds), so the ratio says nothing.
    """
    return not (p_meas > 2 * order + 2)


def decide(ev: Evidence, tol: VerdictThresholds) -> tuple[str, str]:
    """Verdict and a one-line reason for a continuous symmetry.

    Before any other rule: a run whose states grew by more than
    :data:`GROWTH` diverged, and a measured order that no integrator of the
    given order produces (:func:`meaningful_order`) while the drift exceeds
    the tolerance means the run at ``dt`` is not resolved; both are
    ``inconclusive`` with "reduce dt", never ``conserved`` or ``broken``.
    A drift above tolerance that shrinks at a measured order above
    ``order + ORDER_EXCESS`` is not integration error in its asymptotic
    regime either: it never makes an invariant charge ``conserved``.
    """
    inv = max(ev.invariance_error, ev.finite_error or 0.0)
    if math.isnan(inv) or (ev.finite_error is not None and math.isnan(ev.finite_error)):
        inv = math.inf  # an invariance that could not be measured is not round-off
    p_meas = ev.measured_order
    if not ev.growth <= GROWTH:  # NaN growth counts as diverged
        return "inconclusive", (
            f"the trajectory diverged (states grew by a factor {ev.growth:.1e} along the run; "
            f"the charge drift {ev.drift_half:.1e} and measured order {p_meas:.1f} mean "
            "nothing): reduce dt"
        )
    if max(ev.drift, ev.drift_half) > tol.drift and not meaningful_order(p_meas, ev.order):
        return "inconclusive", (
            f"the measured order {p_meas:.1f} is meaningless for an integrator of order "
            f"{ev.order} (drift {ev.drift:.1e} at dt, {ev.drift_half:.1e} at dt/2): the run at "
            "dt is not resolved or diverged; reduce dt"
        )
    small = ev.drift_half <= tol.drift
    too_fast = p_meas > ev.order + ORDER_EXCESS
    at_order = ev.drift_half > 0 and p_meas >= ev.order - tol.order_slack and not too_fast
    if inv <= tol.invariance:
        if small:
            return (
                "conserved",
                f"invariant to round-off ({inv:.1e}); drift {ev.drift_half:.1e} within tolerance",
            )
        if at_order:
            return "conserved", (
                f"invariant to round-off ({inv:.1e}); drift shrinks at order {p_meas:.1f} "
                f"(integrator order {ev.order}): integration error"
            )
        if too_fast:
            return "inconclusive", (
                f"invariant to round-off ({inv:.1e}) but the drift shrinks at order "
                f"{p_meas:.1f}, faster than an integrator of order {ev.order} does (drift "
                f"{ev.drift:.1e} at dt, {ev.drift_half:.1e} at dt/2): the run at dt is not "
                "resolved, so the drift is not shown to converge; reduce dt"
            )
        return "inconclusive", (
            f"invariant to round-off ({inv:.1e}) but the charge drifts by {ev.drift_half:.1e} "
            f"without shrinking at order {ev.order} (measured {p_meas:.1f}): reduce dt"
        )
    if inv >= tol.broken:
        if small:
            return "inconclusive", (
                f"not invariant ({inv:.1e}) but the charge did not change along these "
                f"trajectories (drift {ev.drift_half:.1e}): try other initial states"
            )
        if ev.balance_residual <= tol.balance * ev.drift_half:
            return "broken", (
                f"not invariant ({inv:.1e}); charge drift {ev.drift_half:.1e} explained by the "
                f"balance law (residual {ev.balance_residual:.1e})"
            )
        return "inconclusive", (
            f"not invariant ({inv:.1e}) but the balance law does not explain the drift "
            f"(residual {ev.balance_residual:.1e} vs drift {ev.drift_half:.1e}): reduce dt"
        )
    return "inconclusive", (
        f"invariance error {inv:.1e} lies between round-off ({tol.invariance:g}) and a real "
        f"breaking ({tol.broken:g})"
    )


def decide_discrete(
    invariance: float, flow: float, tol: VerdictThresholds, growth: float = 1.0
) -> tuple[str, str]:
    """Verdict and reason for a discrete symmetry (no charge).

    ``growth`` is the largest growth factor of the states along the rollout;
    above :data:`GROWTH` the run diverged and the verdict is ``inconclusive``.
    """
    if not growth <= GROWTH:
        return "inconclusive", (
            f"the trajectory diverged (states grew by a factor {growth:.1e} along the run; "
            f"invariance error {invariance:.1e}, flow equivariance error {flow:.1e}): reduce dt"
        )
    if invariance <= tol.invariance and flow <= tol.flow:
        return "conserved", (
            f"invariant to round-off ({invariance:.1e}); flow equivariant ({flow:.1e})"
        )
    if invariance >= tol.broken:
        return "broken", f"not invariant ({invariance:.1e}); flow equivariance error {flow:.1e}"
    return "inconclusive", f"invariance error {invariance:.1e}, flow equivariance error {flow:.1e}"


def __getattr__(name: str) -> object:
    from symnet._deprecation import renamed_attribute

    return renamed_attribute(
        "symnet.noether.verdict", name, {"Tolerances": ("VerdictThresholds", VerdictThresholds)}
    )
