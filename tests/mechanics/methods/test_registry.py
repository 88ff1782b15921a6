"""The integrator registry and the class attributes of every method."""

from __future__ import annotations

import pytest
import torch

from symnet.mechanics import Integrator, SecondOrderField, get_integrator, integrators
from symnet.mechanics.methods import (
    RK4,
    Dopri5,
    Euler,
    ImplicitMidpoint,
    Leapfrog,
    SymplecticEuler,
    Yoshida4,
)

EXPECTED = {
    "euler": (Euler, 1, False, False),
    "symplectic_euler": (SymplecticEuler, 1, True, True),
    "leapfrog": (Leapfrog, 2, True, True),
    "rk4": (RK4, 4, False, False),
    "implicit_midpoint": (ImplicitMidpoint, 2, True, False),
    "yoshida4": (Yoshida4, 4, True, True),
    "dopri5": (Dopri5, 5, False, False),
}


def test_registry_contents() -> None:
    assert set(integrators) == set(EXPECTED)
    for name, (cls, order, symplectic, splitting) in EXPECTED.items():
        assert integrators[name] is cls is get_integrator(name)
        assert issubclass(cls, Integrator)
        assert (cls.name, cls.order, cls.symplectic, cls.splitting) == (
            name,
            order,
            symplectic,
            splitting,
        )
    assert Dopri5.adaptive and not RK4.adaptive


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        integrators["mine"] = RK4  # type: ignore[index]


@pytest.mark.parametrize("name", ["rk5", "", "RK4", None])
def test_unknown_name_lists_available(name) -> None:
    with pytest.raises(ValueError, match="available: dopri5, euler, implicit_midpoint, leapfrog"):
        get_integrator(name)


def test_unknown_option_is_type_error() -> None:
    with pytest.raises(TypeError, match="'rk4' got unknown option.*tol.*no options"):
        RK4(tol=1e-3)
    with pytest.raises(TypeError, match="accepts max_iter, tol"):
        ImplicitMidpoint(rtol=1e-3)
    with pytest.raises(TypeError, match="accepts atol, max_num_steps, rtol"):
        Dopri5(tol=1e-3)


def test_bad_option_values() -> None:
    with pytest.raises(ValueError, match="tol"):
        ImplicitMidpoint(tol=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        ImplicitMidpoint(max_iter=0)
    with pytest.raises(ValueError, match="rtol"):
        Dopri5(rtol=0.0)


def test_repr_and_abstract() -> None:
    assert repr(ImplicitMidpoint(max_iter=5)) == "ImplicitMidpoint(tol=None, max_iter=5)"
    with pytest.raises(TypeError):
        Integrator()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_single_step_api(name) -> None:
    field = SecondOrderField(lambda q, v: -q)
    q = torch.ones(3, 1, dtype=torch.float64)
    v = torch.zeros_like(q)
    t = torch.zeros(3, dtype=torch.float64)
    q1, v1, cache = get_integrator(name)().step(field, q, v, t, 0.01)
    assert q1.shape == v1.shape == q.shape
    assert torch.allclose(q1, torch.full_like(q, 0.99995), atol=1e-4)
    assert torch.equal(q, torch.ones_like(q))  # the input state is untouched
