"""Integrators, one module each, and their string registry.

>>> from symnet.mechanics import integrators, get_integrator
>>> sorted(integrators)
['dopri5', 'euler', 'implicit_midpoint', 'leapfrog', 'rk4', 'symplectic_euler', 'yoshida4']
>>> get_integrator("leapfrog").order, get_integrator("leapfrog").symplectic
(2, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from symnet.mechanics.methods._base import Integrator
from symnet.mechanics.methods.dopri5 import Dopri5
from symnet.mechanics.methods.euler import Euler
from symnet.mechanics.methods.implicit_midpoint import ImplicitMidpoint
from symnet.mechanics.methods.leapfrog import Leapfrog
from symnet.mechanics.methods.rk4 import RK4
from symnet.mechanics.methods.symplectic_euler import SymplecticEuler
from symnet.mechanics.methods.yoshida4 import Yoshida4

__all__ = [
    "Integrator",
    "Euler",
    "SymplecticEuler",
    "Leapfrog",
    "RK4",
    "ImplicitMidpoint",
    "Yoshida4",
    "Dopri5",
    "integrators",
    "get_integrator",
]

#: Read-only mapping from method name to integrator class.
integrators: Mapping[str, type[Integrator]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (Euler, SymplecticEuler, Leapfrog, RK4, ImplicitMidpoint, Yoshida4, Dopri5)
    }
)


def get_integrator(name: str) -> type[Integrator]:
    """The integrator class registered under ``name``.

    Raises
    ------
    ValueError
        Unknown name; the message lists the available ones.
    """
    try:
        return integrators[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown integration method {name!r}; available: {', '.join(sorted(integrators))}"
        ) from None
