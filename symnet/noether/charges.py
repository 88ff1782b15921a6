"""Public charge functions: ``charge(L, generator)``, ``hamiltonian_charge(H, generator)``, ...

The formulas are in docs/theory.md, section 'Noether charges'.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from symnet._probe import check_autodiff
from symnet._util import check_tensor, format_shape, time_like
from symnet.groups import Generator
from symnet.noether._quantities import (
    StateGradients,
    check_no_mutation,
    gradients,
    hamiltonian_charge_values,
    lagrangian_charge_values,
)

__all__ = ["charge", "charge_label", "hamiltonian_charge", "lie_derivative"]


def _state(q: Tensor, v: Tensor, t: Tensor | float | None, names: tuple[str, str]) -> Tensor:
    check_tensor(q, names[0], ndim_min=1)
    check_tensor(v, names[1], ndim_min=1)
    if q.shape != v.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q.shape)} and {format_shape(v.shape)}"
        )
    return time_like(t, q)


class _Probed:
    """The gradients of ``fn`` at states, after checking ``fn`` once (on its first call).

    The first call checks, on copies of the states, that ``fn`` does not write
    into its inputs and that its autodiff gradient sees all of its dependence
    on the states (:func:`symnet._probe.check_autodiff`); every call then
    evaluates the gradients with dtype-aware errors.
    """

    def __init__(self, fn: Callable, name: str, arg_names: tuple[str, str]) -> None:
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name
        self.arg_names = arg_names
        self.probed = False

    def __call__(self, q: Tensor, v: Tensor, t: Tensor) -> StateGradients:
        if not self.probed:
            args = [x.detach().clone() for x in (q, v, t)]
            check_no_mutation(self.fn, *args, self.name, self.arg_names)
            grads = gradients(self.fn, *args, self.name, cast=False)
            if bool(torch.isfinite(grads.value).all()):
                check_autodiff(self.fn, *args, name=self.name, arg_names=self.arg_names)
            self.probed = True
        return gradients(self.fn, q, v, t, self.name, cast=False)


def _check_generator(generator: object) -> None:
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a symnet.groups.Generator, got {type(generator).__name__}"
        )


def charge(L: Callable, generator: Generator) -> Callable[..., Tensor]:
    """The Noether charge of ``generator`` for the Lagrangian ``L``.

    ``J = p . xi - E tau - F`` with ``p = dL/dqdot``, ``E = qdot . p - L`` and
    the generator's boundary term ``F`` (docs/theory.md, section 'Noether charges').
    Translations give the momentum, rotations the angular momentum, the time shift ``-E``,
    a boost ``(P t - sum m q) . u``.

    Parameters
    ----------
    L : callable
        ``L(q, qdot)`` or ``L(q, qdot, t)`` returning shape ``(B,)``.
    generator : Generator
        The symmetry.

    Returns
    -------
    callable
        ``Q(q, qdot, t=None) -> Tensor`` of shape ``(B,)``, for ``q`` and
        ``qdot`` of shape ``(B, *S)`` and ``t`` a number or shape ``(B,)``;
        differentiable. ``L`` is evaluated in the dtype of the states. On its
        first call it checks ``L`` once: a ValueError when ``L`` writes into
        its inputs or its autodiff gradient misses part of its dependence
        (``torch.no_grad()``, ``.detach()``); the inputs are never modified.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Translation
    >>> from symnet.noether import charge
    >>> L = lambda q, v: 0.5 * (v**2).sum((-1, -2))
    >>> P_x = charge(L, Translation(3).generators((2, 3))[0])
    >>> P_x(torch.zeros(1, 2, 3), torch.ones(1, 2, 3))
    tensor([2.])
    """
    _check_generator(generator)
    grads = _Probed(L, "L", ("q", "qdot"))

    def value(q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        tt = _state(q, qdot, t, ("q", "qdot"))
        return lagrangian_charge_values(grads(q, qdot, tt), generator, q, qdot, tt).charge

    value.__name__ = f"charge_{generator.name}"
    return value


def lie_derivative(L: Callable, generator: Generator) -> Callable[..., Tensor]:
    """The rate ``R - dF/dt`` of the generator's charge along solutions of ``L``.

    Zero at every state exactly when ``generator`` is a (quasi-)symmetry of
    ``L``; the balance law ``J(t) - J(0) = integral of (R - dF/dt)`` holds along
    any Euler-Lagrange solution.

    Returns
    -------
    callable
        ``rate(q, qdot, t=None) -> Tensor`` of shape ``(B,)``.
    """
    _check_generator(generator)
    grads = _Probed(L, "L", ("q", "qdot"))

    def rate(q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        tt = _state(q, qdot, t, ("q", "qdot"))
        return lagrangian_charge_values(grads(q, qdot, tt), generator, q, qdot, tt).rate

    return rate


def hamiltonian_charge(H: Callable, generator: Generator) -> Callable[..., Tensor]:
    """The charge ``Q = p . xi - F - tau H`` of ``generator`` in Hamiltonian form.

    Parameters
    ----------
    H : callable
        ``H(q, p)`` or ``H(q, p, t)`` returning shape ``(B,)``.
    generator : Generator
        The symmetry.

    Returns
    -------
    callable
        ``Q(q, p, t=None) -> Tensor`` of shape ``(B,)``.
    """
    _check_generator(generator)
    grads = _Probed(H, "H", ("q", "p"))

    def value(q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        tt = _state(q, p, t, ("q", "p"))
        return hamiltonian_charge_values(grads(q, p, tt), generator, q, p, tt).charge

    return value


def charge_label(generator: Generator) -> str:
    """A short name of the generator's charge: ``P_x``, ``L_z``, ``-E``, ``K_x``, ``J[name]``.

    The label comes from the generator's group (:attr:`symnet.groups.Generator.charge_label`);
    a generator without a group, or of a group without a charge symbol, gets ``J[name]``.

    Examples
    --------
    >>> from symnet.groups import Rotation, TimeShift
    >>> from symnet.noether import charge_label
    >>> [charge_label(g) for g in Rotation(3).generators((2, 3))]
    ['L_x', 'L_y', 'L_z']
    >>> charge_label(TimeShift().generators((2, 3))[0])
    '-E'
    """
    _check_generator(generator)
    return generator.charge_label
