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

This module holds the concrete fields; the abstract :class:`VectorField` is in
:mod:`symnet.mechanics.vector_field` and the checks made on every call
(:func:`as_time` included) in :mod:`symnet.mechanics._field_guard`.

References
----------
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), ch. I.1 and VI.3 (second-order systems and splitting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

from torch import Tensor

from symnet._util import accepts_time, with_time
from symnet.mechanics._field_guard import _check_state as _check_state
from symnet.mechanics._field_guard import _Guarded as _Guarded
from symnet.mechanics._field_guard import as_time
from symnet.mechanics._guard import fn_name
from symnet.mechanics.vector_field import _DEPENDENCE_TOL as _DEPENDENCE_TOL
from symnet.mechanics.vector_field import VectorField
from symnet.mechanics.vector_field import _relative_change as _relative_change

__all__ = [
    "VectorField",
    "SecondOrderField",
    "HamiltonianField",
    "as_vector_field",
    "as_time",
    "traceable_function",
]

#: ``g(x, y, t) -> (out, bad)``: a field function that ``torch.compile`` can trace.
Traceable = Callable[[Tensor, Tensor, Tensor], tuple[Any, "Tensor | None"]]


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

    Attributes
    ----------
    function : callable
        ``fn`` as given, unguarded (what :meth:`traceable` compiles).

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
        self.function = fn
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

    def traceable(self) -> Traceable:
        """The unguarded function ``g(q, v, t) -> (a, bad)`` for ``torch.compile``.

        See :func:`traceable_function`: ``a`` of shape (B, *S) as the field
        returns it, ``bad`` a (B,) bool tensor (True where the field would
        raise :class:`~symnet.mechanics.SingularMassMatrixError`) or None.
        """
        return traceable_function(self.function)

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

    Attributes
    ----------
    function : callable
        ``fn`` as given, unguarded (what :meth:`traceable` compiles).
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
        self.function = fn
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

    def traceable(self) -> Traceable:
        """The unguarded function ``g(q, p, t) -> ((qdot, pdot), bad)`` for ``torch.compile``.

        See :func:`traceable_function`; ``bad`` is None for Hamilton's
        equations (nothing is solved).
        """
        return traceable_function(self.function)

    def derivative(self, x: Tensor, y: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """``(qdot, pdot)``."""
        return self.fn(x, y, t)

    def kick(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """``pdot = -dH/dq``."""
        return self.fn(x, y, t)[1]

    def drift(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """``qdot = dH/dp``."""
        return self.fn(x, y, t)[0]


def traceable_function(fn: Callable) -> Traceable:
    """A field function in the form that ``torch.compile(fullgraph=True)`` traces.

    Parameters
    ----------
    fn : callable
        The unguarded function of a field: ``fn(x, y)`` or ``fn(x, y, t)``.

    Returns
    -------
    callable
        ``g(x, y, t) -> (out, bad)`` with ``x, y`` of shape (B, *S) and ``t``
        of shape (B,): ``out`` is what ``fn`` returns, ``bad`` a (B,) bool
        tensor that is True where the guarded field would raise
        :class:`~symnet.mechanics.SingularMassMatrixError`, or None. When
        ``fn`` has a ``traceable()`` method (the Euler-Lagrange and Hamilton
        cores of :func:`~symnet.mechanics.lagrangian_vector_field` and
        :func:`~symnet.mechanics.hamiltonian_vector_field`), its function;
        otherwise ``fn`` itself with ``bad = None`` (a user's field: it is
        traced as written).
    """
    make = getattr(fn, "traceable", None)
    if callable(make):
        return make()
    raw = with_time(fn, 2)

    def traced(x: Tensor, y: Tensor, t: Tensor) -> tuple[Any, None]:
        return raw(x, y, t), None

    return traced


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
