"""The integrator interface shared by every method in :mod:`symnet.mechanics.methods`.

An integrator advances a state ``(x, y)`` by one step of size ``dt``. For an
acceleration field (``field.order == 2``) the pair is ``(q, v)``; for
Hamilton's equations (``order == 1``) it is ``(q, p)``. Methods read the field
only through its first-order form ``field.derivative`` or, for the splitting
methods, through ``field.kick`` and ``field.drift``
(:class:`~symnet.mechanics.VectorField`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from torch import Tensor

from symnet.mechanics.field import VectorField

__all__ = ["Integrator"]


class Integrator(abc.ABC):
    """Abstract base of the fixed-step integrators.

    Attributes
    ----------
    name : str
        Registry name (``method=`` in :func:`~symnet.mechanics.rollout`).
    order : int
        Global order of accuracy: the error at a fixed time is O(dt**order).
    symplectic : bool
        Whether the one-step map is symplectic (bounded energy error over
        long times, no secular drift).
    splitting : bool
        Whether the method needs a split field (velocity-independent
        acceleration, or separable Hamiltonian); a rollout checks it.
    adaptive : bool
        Whether the method chooses its own internal steps (then it implements
        ``integrate`` over a whole time grid instead of ``step``).
    compilable_step : bool
        Whether ``step`` is a fixed sequence of tensor operations and field
        evaluations (no data-dependent control flow), so that a compiled
        rollout can trace a whole step into one graph
        (:mod:`symnet.mechanics.compiled`); otherwise only the field
        evaluations are compiled.
    defaults : Mapping[str, Any]
        Accepted options and their default values; anything else is a TypeError.

    Parameters
    ----------
    **options
        Values for the keys of ``defaults``.
    """

    name: ClassVar[str]
    order: ClassVar[int]
    symplectic: ClassVar[bool]
    splitting: ClassVar[bool] = False
    adaptive: ClassVar[bool] = False
    compilable_step: ClassVar[bool] = False
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            accepted = ", ".join(sorted(self.defaults)) or "no options"
            raise TypeError(
                f"method {self.name!r} got unknown option(s) {', '.join(unknown)}; "
                f"it accepts {accepted}"
            )
        self.options = {**self.defaults, **options}

    @abc.abstractmethod
    def step(
        self, field: VectorField, x: Tensor, y: Tensor, t: Tensor, dt: float, cache: Any = None
    ) -> tuple[Tensor, Tensor, Any]:
        """Advance ``(x, y)`` from time ``t`` to ``t + dt``.

        Parameters
        ----------
        field : VectorField
        x, y : Tensor, shape (B, *S)
            ``(q, v)`` or ``(q, p)``.
        t : Tensor, shape (B,)
        dt : float
        cache : Any
            What the previous step returned (``None`` on the first step):
            lets a method reuse a field evaluation (first-same-as-last).

        Returns
        -------
        x, y : Tensor, shape (B, *S)
        cache : Any
            Pass it to the next step.
        """

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"
