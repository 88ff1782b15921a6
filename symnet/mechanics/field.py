"""Vector fields: the right-hand sides that integrators and rollouts consume.

Two kinds exist, told apart by the class attribute ``order``:

- second order (``order = 2``): an acceleration field ``f(q, v, t) -> a``,
  the form that the Euler-Lagrange equations take (:class:`SecondOrderField`);
- first order in phase space (``order = 1``): Hamilton's equations
  ``f(q, p, t) -> (qdot, pdot)`` (:class:`HamiltonianField`).

Either kind also presents itself in the common first-order form
``derivative(x, y, t) -> (dx/dt, dy/dt)`` on the pair ``(x, y)`` = ``(q, v)``
or ``(q, p)``, and in the split form used by the symplectic splitting methods
(``kick``: the rate of ``y``, ``drift``: the rate of ``x``). Splitting is only
valid when the kick does not depend on ``y`` and the drift does not depend on
``x`` (velocity-independent accelerations, separable Hamiltonians); see
:meth:`VectorField.velocity_dependence`.

References
----------
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), ch. I.1 and VI.3 (second-order systems and splitting).
"""

from __future__ import annotations

import abc
import numbers
from collections.abc import Callable
from typing import Any, final

import torch
from torch import Tensor

from symnet._util import accepts_time, check_tensor, format_shape, with_time
from symnet.mechanics._guard import (
    Versions,
    check_output,
    check_pair,
    check_unchanged,
    copies,
    evaluation_error,
    first_call_allowed,
    fn_name,
)

__all__ = ["VectorField", "SecondOrderField", "HamiltonianField", "as_vector_field", "as_time"]

# Relative size of a velocity derivative above which a field counts as velocity dependent.
_DEPENDENCE_TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def as_time(t: Any, like: Tensor, name: str = "t") -> Tensor:
    """Broadcast a time to a ``(B,)`` tensor with the dtype and device of ``like``.

    Parameters
    ----------
    t : real number, 0-d Tensor or Tensor of shape (B,)
        Time(s). ``bool`` is refused.
    like : Tensor, shape (B, *S)
        A state tensor that fixes ``B``, dtype and device.
    name : str
        Name of ``t`` in error messages.

    Returns
    -------
    Tensor, shape (B,)
        ``t`` itself when it already has that shape, dtype and device.
    """
    batch = like.shape[0]
    if isinstance(t, Tensor):
        if t.dtype == torch.bool or t.is_complex():
            raise TypeError(
                f"{name} must be a real number or a tensor of reals, got dtype {t.dtype}"
            )
        if t.dtype != like.dtype or t.device != like.device:
            t = t.to(dtype=like.dtype, device=like.device)
        if t.shape == (batch,):
            return t
        if t.dim() == 0:
            return t.expand(batch)
        raise ValueError(
            f"{name} must be a float, a 0-d tensor or of shape ({batch},), got "
            f"{format_shape(t.shape)}"
        )
    if isinstance(t, numbers.Real) and not isinstance(t, bool):
        return torch.full((batch,), float(t), dtype=like.dtype, device=like.device)
    raise TypeError(f"{name} must be a real number or a tensor, got {t!r} ({type(t).__name__})")


def _check_state(q: Any, v: Any, names: tuple[str, str]) -> None:
    check_tensor(q, names[0], ndim_min=1)
    check_tensor(v, names[1], ndim_min=1)
    if q.shape != v.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q.shape)} and {format_shape(v.shape)}"
        )
    if q.dtype != v.dtype:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same dtype, got {q.dtype} and {v.dtype}"
        )


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


class _Guarded:
    """A field function ``fn(x, y, t)`` whose output and inputs are checked.

    Every call: the output's type, shape and dtype, and the inputs' version
    counters. The first call outside a ``torch.func`` transform: on copies of
    the inputs, compared with the originals afterwards.
    """

    def __init__(self, fn: Callable, field: VectorField) -> None:
        self.fn = fn
        self.field = field
        self.pending = True

    def _evaluate(self, x: Tensor, y: Tensor, t: Tensor) -> Any:
        try:
            return self.fn(x, y, t)
        except RuntimeError as err:
            if type(err) is not RuntimeError:
                raise
            better = evaluation_error(err, self.field.source, x.dtype, self.field.label)
            if better is err:
                raise
            raise better from err

    def __call__(self, x: Tensor, y: Tensor, t: Tensor) -> Any:
        field = self.field
        names = field.arg_names
        if not isinstance(t, Tensor):
            t = as_time(t, x)
        if self.pending and first_call_allowed(x):
            args = copies(x, y, t)
            try:
                out = self._evaluate(*args)
            finally:  # a write into an input is reported first, whatever happened next
                check_unchanged((x, y, t), args, names, field.label)
            out = self._check(out, x)
            self.pending = False
            return out
        try:  # the version counters tell whether the call wrote into an input
            before = (x._version, y._version, t._version)
        except RuntimeError:  # inference tensors have none
            before = None
        try:
            out = self._evaluate(x, y, t)
        finally:
            if before is not None and before != (x._version, y._version, t._version):
                Versions.from_counts(before).check((x, y, t), names, field.label)
        if self.field.order == 2:
            if type(out) is Tensor and out.shape == x.shape and out.dtype == x.dtype:
                return out  # the common case, without a call
            return check_output(out, x, field.label, "the acceleration", "q")
        return self._check(out, x)

    def _check(self, out: Any, like: Tensor) -> Any:
        if self.field.order == 2:
            return check_output(out, like, self.field.label, "the acceleration", "q")
        return check_pair(out, like, self.field.label, ("qdot", "pdot"))

    def __repr__(self) -> str:
        return repr(self.fn)


@final
class SecondOrderField(VectorField):
    """An acceleration field ``f(q, v, t) -> a`` (order 2).

    Parameters
    ----------
    fn : callable
        ``fn(q, v)`` or ``fn(q, v, t)`` with ``q, v`` of shape (B, *S) and
        ``t`` of shape (B,); returns ``a`` of shape (B, *S).
    source : callable, optional
        What ``fn`` was derived from (defaults to ``fn``).
    velocity_dependent : bool or None
        Declare whether ``a`` depends on ``v``; ``None`` (default) lets a
        rollout measure it when a splitting method needs to know.
    uses_time : bool or None
        Whether ``fn`` depends on ``t``; ``None`` (default): whether it
        accepts a third argument.

    Examples
    --------
    >>> import torch
    >>> f = SecondOrderField(lambda q, v: -q)
    >>> f(torch.ones(2, 1), torch.zeros(2, 1)).shape
    torch.Size([2, 1])
    """

    order = 2
    arg_names = ("q", "qdot", "t")

    def __init__(
        self,
        fn: Callable,
        *,
        source: Callable | None = None,
        velocity_dependent: bool | None = None,
        uses_time: bool | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.source = fn if source is None else source
        self.label = f"field {fn_name(self.source)}"
        self.fn = _Guarded(with_time(fn, 2), self)
        self.velocity_dependent = velocity_dependent
        self.uses_time = accepts_time(fn, 2) if uses_time is None else bool(uses_time)

    def __call__(self, q: Tensor, v: Tensor, t: Any = 0.0) -> Tensor:
        """Acceleration at ``(q, v, t)``.

        Parameters
        ----------
        q, v : Tensor, shape (B, *S)
        t : float or Tensor of shape () or (B,)

        Returns
        -------
        Tensor, shape (B, *S)

        Raises
        ------
        ValueError
            Bad states; ``fn`` returned another shape than ``q``'s or wrote
            into its arguments (the caller's tensors are left unchanged).
        TypeError
            ``fn`` returned something else than a Tensor of the states' dtype.
        """
        _check_state(q, v, ("q", "qdot"))
        return self.fn(q, v, as_time(t, q))

    def derivative(self, x: Tensor, y: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """``(v, a(q, v, t))``."""
        return y, self.fn(x, y, t)

    def kick(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """The acceleration ``a(q, v, t)``."""
        return self.fn(x, y, t)

    def drift(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """The velocity ``v`` itself (no evaluation)."""
        return y


@final
class HamiltonianField(VectorField):
    """Hamilton's equations ``f(q, p, t) -> (qdot, pdot)`` (order 1).

    Parameters
    ----------
    fn : callable
        ``fn(q, p)`` or ``fn(q, p, t)`` returning the pair ``(qdot, pdot)``,
        each of shape (B, *S).
    source : callable, optional
        The Hamiltonian (defaults to ``fn``).
    separable : bool or None
        Declare whether ``qdot`` depends on ``p`` only and ``pdot`` on ``q``
        only; ``None`` (default) lets a rollout measure it.
    uses_time : bool or None
        Whether ``fn`` depends on ``t``; ``None`` (default): whether it
        accepts a third argument.
    """

    order = 1
    arg_names = ("q", "p", "t")

    def __init__(
        self,
        fn: Callable,
        *,
        source: Callable | None = None,
        separable: bool | None = None,
        uses_time: bool | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.source = fn if source is None else source
        self.label = f"field {fn_name(self.source)}"
        self.fn = _Guarded(with_time(fn, 2), self)
        self.velocity_dependent = None if separable is None else not separable
        self.uses_time = accepts_time(fn, 2) if uses_time is None else bool(uses_time)

    def __call__(self, q: Tensor, p: Tensor, t: Any = 0.0) -> tuple[Tensor, Tensor]:
        """Phase-space velocity at ``(q, p, t)``.

        Parameters
        ----------
        q, p : Tensor, shape (B, *S)
        t : float or Tensor of shape () or (B,)

        Returns
        -------
        qdot, pdot : Tensor, shape (B, *S)

        Raises
        ------
        ValueError
            Bad states; ``fn`` returned another shape than ``q``'s or wrote
            into its arguments (the caller's tensors are left unchanged).
        TypeError
            ``fn`` did not return a pair of Tensors of the states' dtype.
        """
        _check_state(q, p, ("q", "p"))
        return self.fn(q, p, as_time(t, q))

    def derivative(self, x: Tensor, y: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """``(qdot, pdot)``."""
        return self.fn(x, y, t)

    def kick(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """``pdot = -dH/dq``."""
        return self.fn(x, y, t)[1]

    def drift(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """``qdot = dH/dp``."""
        return self.fn(x, y, t)[0]


def as_vector_field(field: Any) -> VectorField:
    """Return ``field`` when it is a :class:`VectorField`; wrap a plain callable as second order.

    A raw callable is taken to be an acceleration field ``f(q, v[, t]) -> a``.
    """
    if isinstance(field, VectorField):
        return field
    if callable(field):
        return SecondOrderField(field)
    raise TypeError(
        "field must be a VectorField or a callable f(q, v, t) -> acceleration, "
        f"got {type(field).__name__}"
    )
