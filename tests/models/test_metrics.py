"""Rollout metrics on known cases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.models import LNN, chaos_floor, energy_drift, simulate, state_error
from symnet.systems import DoublePendulum, MassSpring


class _Exact(nn.Module):
    def __init__(self, system):
        super().__init__()
        self.system = system

    def forward(self, q, qdot):
        return self.system.lagrangian(q, qdot)


def test_a_perfect_model_has_zero_state_error_and_energy_drift():
    sys = DoublePendulum()
    q0, v0 = sys.sample_states(4, torch.Generator().manual_seed(0))
    q0, v0 = q0 * 0.3, v0 * 0.1
    model = LNN(_Exact(sys), config_shape=(2,))
    pred = simulate(model, q0, v0, dt=0.05, steps=20)
    true = simulate(sys, q0, v0, dt=0.05, steps=20)
    err = state_error(pred, true)
    assert err.shape == (21, 4) and float(err.max()) < 1e-12
    drift = energy_drift(sys.energy, pred, true, scale=sys.potential_max)
    assert drift.mse < 1e-20 and drift.final_relative.shape == (4,)
    assert drift.mean_final_relative < 1e-12
    assert "EnergyDrift(mse=" in repr(drift)


def test_energy_drift_of_a_known_offset():
    sys = MassSpring()  # E = p^2 + q^2 with m = 1/2: E(q, v) = v^2 / 4 + q^2
    q = torch.ones(5, 2, 1, dtype=torch.float64)
    v = torch.zeros(5, 2, 1, dtype=torch.float64)
    drift = energy_drift(sys.energy, (2 * q, v), (q, v))  # E = 4 vs E = 1
    assert drift.mse == pytest.approx(9.0)
    assert torch.allclose(drift.final_relative, torch.full((2,), 3.0, dtype=torch.float64))
    assert drift.scale.tolist() == [1.0, 1.0]


def test_state_error_is_relative_and_bounded():
    x = torch.ones(3, 2, 1)
    assert torch.equal(state_error((x, x), (x, x)), torch.zeros(3, 2))
    assert torch.allclose(state_error((x, x), (-x, -x)), torch.ones(3, 2))
    z = torch.zeros(3, 2, 1)
    assert torch.equal(state_error((z, z), (z, z)), torch.zeros(3, 2))
    with pytest.raises(TypeError, match="Trajectory"):
        state_error(x, x)


def test_chaos_floor_is_positive_and_grows_for_the_double_pendulum():
    sys = DoublePendulum()
    q0, v0 = sys.sample_states(6, torch.Generator().manual_seed(1))
    floor = chaos_floor(sys, q0, v0, dt=0.05, steps=200, eps=1e-8,
                        rng=torch.Generator().manual_seed(2))  # fmt: skip
    assert floor.shape == (201, 6)
    assert bool((floor[0] > 0).all()) and float(floor[0].max()) < 1e-8
    assert float(floor[-1].mean()) > 100 * float(floor[0].mean())  # exponential growth


def test_simulate_records_every_substep():
    sys = MassSpring()
    q0, v0 = torch.ones(2, 1, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
    coarse = simulate(sys, q0, v0, dt=0.1, steps=10, substeps=10)
    fine = simulate(sys, q0, v0, dt=0.01, steps=100)
    assert coarse.q.shape == (11, 2, 1) and coarse.dt == 0.1
    assert torch.allclose(coarse.q, fine.q[::10])
    assert torch.allclose(coarse.q[-1, 0, 0], torch.cos(torch.tensor(2.0, dtype=torch.float64)))


def test_simulate_fills_diverged_trajectories_with_nan():
    def blows_up(q, v):  # qddot = q^3: finite-time blow-up from q0 = 3, none from q0 = 0
        return q**3

    q0 = torch.tensor([[0.0], [3.0]], dtype=torch.float64)
    v0 = torch.zeros_like(q0)
    with pytest.raises(Exception, match="non-finite"):
        simulate(blows_up, q0, v0, dt=0.1, steps=100)
    traj = simulate(blows_up, q0, v0, dt=0.1, steps=100, on_nonfinite="nan")
    assert traj.q.shape == (101, 2, 1)
    assert bool(torch.isfinite(traj.q[:, 0]).all()) and bool(torch.isnan(traj.q[-1, 1]).all())
    with pytest.raises(ValueError, match="on_nonfinite"):
        simulate(blows_up, q0, v0, dt=0.1, steps=1, on_nonfinite="skip")
