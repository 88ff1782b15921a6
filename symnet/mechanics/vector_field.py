"""The abstract :class:`VectorField` and the measure of its split form.

Every field presents itself as ``derivative(x, y, t)``, ``kick`` (the rate of
``y``) and ``drift`` (the rate of ``x``); :meth:`VectorField.velocity_dependence`
measures how far the kick depends on ``y`` or the drift on ``x``, and
:meth:`VectorField.check_splittable` refuses a splitting method for a field
that does not separate. The concrete fields are in :mod:`symnet.mechanics.field`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet.mechanics._field_guard import _check_state, as_time

__all__ = ["VectorField"]

# Relative size of a velocity derivative above which a field counts as velocity dependent.
_DEPENDENCE_TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _relative_change(base: Tensor, changed: Tensor) -> float:
    """Max over the batch of |changed - base| / (|base| + |changed - base|); 0/0 counts as 0."""
    delta = (changed - base).detach().flatten(1).norm(dim=1)
    size = base.detach().flatten(1).norm(dim=1) + delta
    ratio = torch.where(size > 0, delta / torch.where(size > 0, size, 1.0), 0.0)
    return float(ratio.max()) if ratio.numel() else 0.0


class VectorField(abc.ABC):
    """Abstract base of the vector fields that :func:`~symnet.mechanics.rollout` integrates.

    Attributes
    ----------
    order : int
        2 for an acceleration field ``f(q, v, t) -> a``; 1 for Hamilton's
        equations ``f(q, p, t) -> (qdot, pdot)``.
    source : callable
        What the field was built from: the Lagrangian, the Hamiltonian, or the
        user's function.
    velocity_dependent : bool or None
        Whether the field is known to need the implicit or non-split methods
        (accelerations that depend on ``v``; non-separable Hamiltonians).
        ``None`` means unknown: a rollout measures it (:meth:`velocity_dependence`)
        when a splitting method asks.
    uses_time : bool
        False when the field ignores ``t`` (its function takes no time
        argument); integrators then skip computing stage times.
    label : str
        How error messages name the field (``"field my_accel"``).

    Notes
    -----
    Every evaluation checks that the function returned tensors of the shape
    ``(B, *S)`` and dtype of the state (a wrong shape is never broadcast into
    the state) and that it did not write into its arguments (by their
    version counters). The first evaluation outside a ``torch.func``
    transform is made on copies of the arguments, compared with the
    originals afterwards, so a field that writes into its arguments is
    refused before it can modify the caller's tensors.
    """

    order: int
    source: Callable
    velocity_dependent: bool | None
    uses_time: bool
    label: str
    arg_names: tuple[str, str, str]

    @abc.abstractmethod
    def __call__(self, q: Tensor, v: Tensor, t: Any = 0.0) -> Any:
        """Evaluate the field on validated input; see the subclasses."""

    @abc.abstractmethod
    def derivative(self, x: Tensor, y: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """First-order form ``(dx/dt, dy/dt)``; no validation, ``t`` of shape (B,)."""

    @abc.abstractmethod
    def kick(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """Rate of ``y`` (acceleration, or ``pdot``); no validation."""

    @abc.abstractmethod
    def drift(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """Rate of ``x`` (``v`` itself, or ``qdot = dH/dp``); no validation."""

    def velocity_dependence(self, q: Tensor, v: Tensor, t: Any = 0.0) -> float:
        """Measure how much the split form is violated at a state.

        For an acceleration field: the relative change of ``a`` when ``v`` is
        perturbed by a random vector of the size of ``v`` (at least 1). For a
        Hamiltonian field: the larger of the relative change of ``qdot`` under
        a perturbation of ``q`` and of ``pdot`` under one of ``p``. The
        perturbation is finite, not infinitesimal, so a field whose value
        does not involve ``v`` gives exactly 0.

        Parameters
        ----------
        q, v : Tensor, shape (B, *S)
        t : float or Tensor of shape () or (B,)

        Returns
        -------
        float
            ``max_b |delta| / (|f| + |delta|)``, in [0, 1].
        """
        _check_state(q, v, ("q", "v"))
        t = as_time(t, q)
        gen = torch.Generator(device=q.device).manual_seed(0)
        with torch.no_grad():
            u = torch.randn(q.shape, generator=gen, dtype=q.dtype, device=q.device)
            if self.order == 2:
                scale = max(float(v.detach().pow(2).mean().sqrt()), 1.0)
                a0 = self.kick(q, v, t)
                return _relative_change(a0, self.kick(q, v + scale * u, t))
            qs = max(float(q.detach().pow(2).mean().sqrt()), 1.0)
            ps = max(float(v.detach().pow(2).mean().sqrt()), 1.0)
            qdot0, pdot0 = self.derivative(q, v, t)
            qdot1 = self.drift(q + qs * u, v, t)
            pdot1 = self.kick(q, v + ps * u, t)
            return max(_relative_change(qdot0, qdot1), _relative_change(pdot0, pdot1))

    def check_splittable(self, q: Tensor, v: Tensor, t: Any, method: str) -> None:
        """Raise ValueError when ``method`` (a splitting method) cannot integrate this field.

        Uses :attr:`velocity_dependent` when set, otherwise measures
        :meth:`velocity_dependence` at the given state against a tolerance of
        1e-10 (float64) or 1e-5 (float32 and narrower).
        """
        if self.velocity_dependent is False:
            return
        if self.velocity_dependent is None:
            size = self.velocity_dependence(q, v, t)
            if size <= _DEPENDENCE_TOL.get(q.dtype, 1e-3):
                return
            how = f"measured relative size {size:.2e} at the initial state"
        else:
            how = "declared velocity_dependent=True"
        what = (
            "the acceleration depends on the velocity"
            if self.order == 2
            else "the Hamiltonian is not separable (qdot depends on q or pdot on p)"
        )
        raise ValueError(
            f"method {method!r} is a splitting method and needs a field whose kick and drift "
            f"separate, but {what} ({how}); use method='implicit_midpoint' (symplectic for "
            "any Hamiltonian) or a non-symplectic method such as 'rk4' or 'dopri5'"
        )

    def __repr__(self) -> str:
        name = getattr(self.source, "__name__", None) or type(self.source).__name__
        return f"{type(self).__name__}(source={name}, order={self.order})"
