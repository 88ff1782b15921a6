"""Measured convergence orders of every integrator (slope of log error vs log dt)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from symnet.mechanics import (
    HamiltonianField,
    SecondOrderField,
    get_integrator,
    hamiltonian_vector_field,
    integrators,
    rollout,
)

from .._closed_forms import OMEGA_HO, oscillator_exact

F64 = torch.float64
T_END = 2.0
STEPS = (20, 40, 80, 160)  # dt from 0.1 to 0.0125
FIXED_STEP = sorted(name for name, cls in integrators.items() if not cls.adaptive)

# a batch of initial states
Q0 = torch.tensor([[1.0], [0.3], [-0.8]], dtype=F64)
V0 = torch.tensor([[0.0], [1.1], [0.4]], dtype=F64)

OSC_2ND = SecondOrderField(lambda q, v: -(OMEGA_HO**2) * q)
OSC_HAM = HamiltonianField(lambda q, p: (p, -(OMEGA_HO**2) * q))

F0, OMEGA_D = 0.6, 1.7


def driven_acceleration(q, v, t):
    return -q + F0 * torch.cos(OMEGA_D * t)[:, None]


def driven_exact(q0, v0, t0: float, t: float):
    amp = F0 / (1.0 - OMEGA_D**2)
    qp = lambda s: amp * math.cos(OMEGA_D * s)  # noqa: E731
    vp = lambda s: -amp * OMEGA_D * math.sin(OMEGA_D * s)  # noqa: E731
    a, b = q0 - qp(t0), v0 - vp(t0)
    tau = t - t0
    return (
        a * math.cos(tau) + b * math.sin(tau) + qp(t),
        -a * math.sin(tau) + b * math.cos(tau) + vp(t),
    )


def slope(errors, steps=STEPS) -> float:
    dts = [T_END / n for n in steps]
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


def final_error(field, method, n, exact, t0=0.0) -> float:
    traj = rollout(field, Q0, V0, dt=T_END / n, steps=n, method=method, t0=t0)
    q, v = exact
    return float(torch.maximum((traj.q[-1] - q).abs().max(), (traj.v[-1] - v).abs().max()))


@pytest.mark.parametrize("form", ["second_order", "hamiltonian"])
@pytest.mark.parametrize("method", FIXED_STEP)
def test_order_on_harmonic_oscillator(method, form) -> None:
    field = OSC_2ND if form == "second_order" else OSC_HAM
    exact = oscillator_exact(Q0, V0, T_END)
    errors = [final_error(field, method, n, exact) for n in STEPS]
    order = get_integrator(method).order
    assert abs(slope(errors) - order) < 0.3, errors


@pytest.mark.parametrize("method", FIXED_STEP)
def test_order_on_time_dependent_driven_oscillator(method) -> None:
    t0 = 0.5
    exact = driven_exact(Q0, V0, t0, t0 + T_END)
    field = SecondOrderField(driven_acceleration)
    errors = [final_error(field, method, n, exact, t0=t0) for n in STEPS]
    assert abs(slope(errors) - get_integrator(method).order) < 0.3, errors


@pytest.fixture(scope="module")
def pendulum_reference():
    field = SecondOrderField(lambda q, v: -torch.sin(q))
    with torch.no_grad():
        ref = rollout(field, Q0 * 2.0, V0, dt=T_END / 2560, steps=2560, method="rk4")
    return ref.q[-1], ref.v[-1]


@pytest.mark.parametrize("form", ["second_order", "hamiltonian"])
@pytest.mark.parametrize("method", FIXED_STEP)
def test_order_on_nonlinear_pendulum(method, form, pendulum_reference) -> None:
    if form == "second_order":
        field = SecondOrderField(lambda q, v: -torch.sin(q))
    else:
        field = HamiltonianField(lambda q, p: (p, -torch.sin(q)))
    errors = []
    for n in STEPS:
        traj = rollout(field, Q0 * 2.0, V0, dt=T_END / n, steps=n, method=method)
        q, v = pendulum_reference
        errors.append(
            float(torch.maximum((traj.q[-1] - q).abs().max(), (traj.v[-1] - v).abs().max()))
        )
    assert abs(slope(errors) - get_integrator(method).order) < 0.3, errors


@pytest.mark.parametrize("method", ["leapfrog", "rk4", "implicit_midpoint"])
def test_order_with_autodiff_hamiltonian(method) -> None:
    # the same pendulum through hamiltonian_vector_field (fewer steps: each call is a grad)
    field = hamiltonian_vector_field(lambda q, p: 0.5 * p[:, 0] ** 2 - torch.cos(q[:, 0]))
    steps = (10, 20, 40)
    ref_field = HamiltonianField(lambda q, p: (p, -torch.sin(q)))
    ref = rollout(ref_field, Q0, V0, dt=T_END / 1280, steps=1280, method="rk4")
    errors = []
    for n in steps:
        traj = rollout(field, Q0, V0, dt=T_END / n, steps=n, method=method)
        errors.append(float((traj.q[-1] - ref.q[-1]).abs().max()))
    assert abs(slope(errors, steps) - get_integrator(method).order) < 0.3, errors


def test_dopri5_error_follows_rtol() -> None:
    exact = oscillator_exact(Q0, V0, T_END)
    errors = []
    for rtol in (1e-3, 1e-5, 1e-7, 1e-9):
        traj = rollout(
            OSC_2ND, Q0, V0, dt=T_END / 10, steps=10, method="dopri5", rtol=rtol, atol=rtol * 1e-2
        )
        err = float(
            torch.maximum((traj.q[-1] - exact[0]).abs().max(), (traj.v[-1] - exact[1]).abs().max())
        )
        assert err < 10 * rtol, (rtol, err)  # matches the exact solution to about rtol
        errors.append(err)
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False)), errors
    # and the intermediate grid points are interpolated, not just the end
    traj = rollout(OSC_2ND, Q0, V0, dt=T_END / 10, steps=10, method="dopri5", rtol=1e-9, atol=1e-11)
    for k in (3, 7):
        q, _ = oscillator_exact(Q0, V0, k * T_END / 10)
        assert float((traj.q[k] - q).abs().max()) < 1e-8


def test_dopri5_time_dependent_with_t0() -> None:
    t0 = 0.5
    exact = driven_exact(Q0, V0, t0, t0 + T_END)
    traj = rollout(
        SecondOrderField(driven_acceleration),
        Q0,
        V0,
        dt=0.2,
        steps=10,
        method="dopri5",
        t0=t0,
        rtol=1e-9,
        atol=1e-11,
    )
    assert float((traj.q[-1] - exact[0]).abs().max()) < 1e-7
    assert torch.allclose(traj.t[:, 0], t0 + 0.2 * torch.arange(11, dtype=F64))
