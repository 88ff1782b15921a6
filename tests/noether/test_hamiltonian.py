"""``check_hamiltonian``: charges ``Q = p . xi - F - tau H`` along Hamilton's equations."""

from __future__ import annotations

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Rotation, TimeShift, Translation


def _phase_states(system: S.System, n: int = 4, seed: int = 0):
    q, v = system.sample_states(n, torch.Generator().manual_seed(seed))
    return q, system.momentum(q, v)


@pytest.mark.parametrize("method", ["leapfrog", "rk4"])
def test_kepler(method):
    """Autodiff Hamilton's equations of ``H = |p|^2/2m - k/r``: L and E conserved, P broken."""
    system = S.Kepler()
    q, p = _phase_states(system)
    report = nt.check_hamiltonian(
        system.hamiltonian,
        Rotation(3) * Translation(3) * TimeShift(),
        q,
        p,
        dt=0.01,
        steps=20,
        method=method,
    )
    assert report.form == "hamiltonian" and report.method == method
    assert report.verdicts == {
        **{f"rotation_{a}": "conserved" for a in "xyz"},
        **{f"translation_{a}": "broken" for a in "xyz"},
        "time": "conserved",
    }, str(report)
    # the time charge is -H, the rotation charges x x p (the angular momentum)
    torch.testing.assert_close(report.charges["time"][0], -system.hamiltonian(q, p))
    Lvec = system.angular_momentum(q, p)
    for a, axis in enumerate("xyz"):
        torch.testing.assert_close(report.charges[f"rotation_{axis}"][0], Lvec[:, a])
    if method == "leapfrog":  # Stoermer-Verlet conserves angular momentum exactly
        assert max(report.row(f"rotation_{a}").drift_half for a in "xyz") < 1e-13


def test_kepler_runge_lenz_is_constant_along_the_checked_flow():
    """The Runge-Lenz vector is no point symmetry (no generator), but the flow the checker
    integrates must keep it: a check on the integrator the Hamiltonian form relies on."""
    from symnet.mechanics import hamiltonian_vector_field, rollout

    system = S.Kepler()
    q, p = _phase_states(system, 3)
    traj = rollout(hamiltonian_vector_field(system.hamiltonian), q, p, dt=0.01, steps=100)
    A = system.runge_lenz(traj.q.flatten(0, 1), traj.v.flatten(0, 1)).reshape(101, 3, 3)
    assert (A - A[0]).abs().max() < 1e-8 * A.abs().max()


def test_non_separable_hamiltonian_refuses_leapfrog():
    system = S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0)
    q, p = _phase_states(system)
    with pytest.raises(ValueError, match="leapfrog") as info:
        nt.check_hamiltonian(system.hamiltonian, "translation", q, p, dt=0.01, steps=10)
    message = str(info.value)
    assert "not separable" in message and "implicit_midpoint" in message


def test_non_separable_hamiltonian_with_implicit_midpoint():
    system = S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0)
    q, p = _phase_states(system)
    report = nt.check_hamiltonian(
        system.hamiltonian,
        [*system.symmetries, *system.broken],
        q,
        p,
        dt=0.02,
        steps=20,
        method="implicit_midpoint",
    )
    assert report.verdicts == {
        "translation_x": "conserved",
        "translation_z": "conserved",
        "time": "conserved",
        "rotation_z": "conserved",  # quasi-symmetry with its boundary term
        "translation_y": "broken",
        "rotation_x": "broken",
        "rotation_y": "broken",
    }, str(report)
    # translation_x: Q = p_x, the canonical momentum, conserved exactly (a linear invariant)
    torch.testing.assert_close(report.charges["translation_x"][0], p[:, 0, 0])
    assert report.row("translation_x").drift_half < 1e-14


def test_time_dependent_hamiltonian():
    """Damped oscillator ``H(q, p, t)``: the time shift is broken, the scaled time shift exact."""
    system = S.DampedOscillator(m=1.3, k=2.0, gamma=0.4)
    q, p = _phase_states(system)
    report = nt.check_hamiltonian(
        system.hamiltonian,
        [*system.symmetries, *system.broken],
        q,
        p,
        dt=0.02,
        steps=40,
        method="implicit_midpoint",
        t0=0.5,
    )
    assert report.verdicts == {"scaled_time_shift": "conserved", "time": "broken"}, str(report)
    # Q = p . xi - tau H equals the Lagrangian charge J at p = dL/dqdot
    gen = system.symmetry_generators()[0]
    J = nt.charge(system.lagrangian, gen)(q, system.velocity(q, p, 0.5), 0.5)
    torch.testing.assert_close(report.charges["scaled_time_shift"][0], J)


def test_hamiltonian_errors_name_h_and_p0():
    system = S.Kepler()
    q, p = _phase_states(system, 2)
    with pytest.raises(ValueError, match=r"H must return shape \(2,\)"):
        nt.check_hamiltonian(
            lambda q, p: system.hamiltonian(q, p)[:, None], "time", q, p, dt=0.01, steps=4
        )
    with pytest.raises(ValueError, match="q0 and p0 must have the same shape"):
        nt.check_hamiltonian(system.hamiltonian, "time", q, p[:1], dt=0.01, steps=4)

    def branchy(q, p):  # Python control flow on tensor values: not vmappable
        h = system.hamiltonian(q, p)
        return h if bool(p.sum() > 0) else -h

    with pytest.raises(TypeError, match="H could not be differentiated"):
        nt.check_hamiltonian(branchy, "time", q, p, dt=0.01, steps=4)
