"""Exceptions raised by :mod:`symnet.mechanics`.

All of them subclass a builtin exception (``ValueError`` or ``RuntimeError``)
so that generic handlers keep working; each carries the location of the
problem (batch index, step number) as attributes as well as in its message.
:class:`GradientMismatchError` (a ``ValueError``: a Lagrangian or Hamiltonian
whose autodiff derivatives miss part of its values) is shared with
:mod:`symnet.noether` and re-exported by :mod:`symnet.mechanics`.
"""

from __future__ import annotations

__all__ = ["SingularMassMatrixError", "NonFiniteStateError", "ConvergenceError"]


class SingularMassMatrixError(ValueError):
    """The mass matrix ``d2L/dqdot2`` of a Lagrangian cannot be inverted reliably.

    Attributes
    ----------
    batch_index : int or None
        First batch element whose mass matrix is singular or ill-conditioned.
    condition : float or None
        Its condition number (``inf`` for an exactly singular matrix).
    step : int or None
        Rollout step at which it happened, when raised from a rollout.
    """

    def __init__(
        self,
        message: str,
        *,
        batch_index: int | None = None,
        condition: float | None = None,
        step: int | None = None,
    ) -> None:
        super().__init__(message)
        self.batch_index = batch_index
        self.condition = condition
        self.step = step


class NonFiniteStateError(ValueError):
    """A rollout produced NaN or inf.

    Attributes
    ----------
    step : int
        Index of the first non-finite state (state ``0`` is the initial one).
    batch_index : int
        First batch element that is non-finite at that step.
    """

    def __init__(self, message: str, *, step: int, batch_index: int) -> None:
        super().__init__(message)
        self.step = step
        self.batch_index = batch_index


class ConvergenceError(RuntimeError):
    """An implicit integrator's nonlinear solve did not converge.

    Attributes
    ----------
    step : int or None
        Rollout step whose solve failed, when raised from a rollout.
    residual : float or None
        Last relative change of the iterate.
    """

    def __init__(
        self, message: str, *, step: int | None = None, residual: float | None = None
    ) -> None:
        super().__init__(message)
        self.step = step
        self.residual = residual
