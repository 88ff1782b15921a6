"""Trajectory data: shapes, seeding, noise on observations only, exact targets."""

from __future__ import annotations

import math

import pytest
import torch

from symnet import systems as S
from tests.systems._catalog import ALL, IDS


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_shapes_and_exact_targets(system):
    data = system.generate(3, 4, 0.01, rng=seeded())
    S_ = system.config_shape
    assert data.t.shape == (5, 3)
    for name in ("q", "qdot", "p", "qddot", "dq_dt", "dp_dt", "q_true", "qdot_true", "p_true"):
        x = getattr(data, name)
        assert x.shape == (5, 3, *S_) and x.dtype == torch.float64, name
    qf, vf, tf = (x.reshape(-1, *x.shape[2:]) for x in (data.q_true, data.qdot_true, data.t))
    flat = data.flatten()
    assert flat["q"].shape == (15, *S_) and flat["t"].shape == (15,)
    torch.testing.assert_close(flat["qddot"], system.acceleration(qf, vf, tf), rtol=0, atol=0)
    torch.testing.assert_close(flat["p"], system.momentum(qf, vf, tf), rtol=0, atol=0)
    torch.testing.assert_close(flat["dp_dt"], system.momentum_rate(qf, vf, tf), rtol=0, atol=0)
    assert torch.equal(data.dq_dt, data.qdot_true)
    assert torch.equal(data.q, data.q_true)  # noise = 0: observations are the states


@pytest.mark.parametrize(
    "system",
    [
        S.TwoBodySpring(),
        S.ChargeInMagneticField(),
        S.DampedOscillator(gamma=0.5),
        S.DoublePendulum(),
    ],
    ids=["spring", "charge", "damped", "double_pendulum"],
)
def test_finite_differences_of_the_trajectory_match_the_targets(system):
    dt = 2e-4
    data = system.generate(4, 20, dt, rng=seeded(3), t0=0.7)
    assert torch.allclose(data.t[:, 0], 0.7 + dt * torch.arange(21, dtype=torch.float64))

    def central(x):
        return (x[2:] - x[:-2]) / (2 * dt)

    for fd, exact in [
        (central(data.q_true), data.dq_dt[1:-1]),
        (central(data.qdot_true), data.qddot[1:-1]),
        (central(data.p_true), data.dp_dt[1:-1]),
    ]:
        err = (fd - exact).abs().max() / exact.abs().max()
        assert float(err) < 1e-5  # central differences: error O(dt^2)


def test_same_seed_same_data_and_the_users_generator_is_used():
    sys = S.Kepler()
    a = sys.generate(5, 3, 0.05, noise=0.1, rng=seeded(7))
    b = sys.generate(5, 3, 0.05, noise=0.1, rng=seeded(7))
    c = sys.generate(5, 3, 0.05, noise=0.1, rng=seeded(8))
    for k, v in a.as_dict().items():
        assert torch.equal(v, b.as_dict()[k]), k
    assert not torch.equal(a.q, c.q)
    g = seeded(7)
    before = g.get_state()
    sys.generate(5, 3, 0.05, noise=0.1, rng=g)
    assert not torch.equal(before, g.get_state())
    # the initial states are the generator's first draws: sample_states with the same seed
    q0, v0 = sys.sample_states(5, seeded(7))
    assert torch.equal(a.q_true[0], q0) and torch.equal(a.qdot_true[0], v0)
    # without a generator the global RNG is used (and reproducible with torch.manual_seed)
    torch.manual_seed(11)
    d = sys.generate(2, 2, 0.05, noise=0.1)
    torch.manual_seed(11)
    e = sys.generate(2, 2, 0.05, noise=0.1)
    assert torch.equal(d.q, e.q)


def test_noise_goes_on_observations_only():
    sys = S.MassSpring()
    clean = sys.generate(200, 10, 0.1, rng=seeded(1))
    noisy = sys.generate(200, 10, 0.1, noise=0.1, rng=seeded(1))
    assert noisy.noise == 0.1
    for name in ("q_true", "qdot_true", "p_true", "qddot", "dq_dt", "dp_dt", "t"):
        assert torch.equal(getattr(clean, name), getattr(noisy, name)), name
    for obs, true in [("q", "q_true"), ("qdot", "qdot_true"), ("p", "p_true")]:
        r = getattr(noisy, obs) - getattr(noisy, true)
        assert abs(float(r.std()) - 0.1) < 0.005 and abs(float(r.mean())) < 0.005, obs
    # the three noises are independent draws
    dq, dv = noisy.q - noisy.q_true, noisy.qdot - noisy.qdot_true
    assert abs(float((dq * dv).mean())) < 0.1**2 * 0.1


def test_given_initial_states_and_substeps():
    sys = S.IsotropicOscillator()
    q0 = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)
    v0 = torch.tensor([[[0.0, 1.0]]], dtype=torch.float64)
    data = sys.generate(1, 10, 0.1 * math.pi, q0=q0, qdot0=v0, substeps=20)
    t = data.t[:, 0]
    exact = torch.stack([torch.cos(t), torch.sin(t)], -1)  # circular orbit, omega = 1
    assert float((data.q_true[:, 0, 0] - exact).abs().max()) < 1e-8
    with pytest.raises(ValueError, match="together"):
        sys.generate(1, 2, 0.1, q0=q0)
    with pytest.raises(ValueError, match="n_traj"):
        sys.generate(2, 2, 0.1, q0=q0, qdot0=v0)
    with pytest.raises(ValueError, match="q0"):
        sys.generate(1, 2, 0.1, q0=q0[:, 0], qdot0=v0[:, 0])


def test_methods():
    sys = S.TwoBodySpring()
    rk4 = sys.generate(2, 50, 0.02, rng=seeded(2))
    leap = sys.generate(2, 50, 0.02, rng=seeded(2), method="leapfrog")
    assert float((rk4.q_true - leap.q_true).abs().max()) < 1e-3
    with pytest.raises(ValueError, match="splitting"):
        S.ChargeInMagneticField().generate(2, 3, 0.1, method="leapfrog")
    with pytest.raises(ValueError):
        sys.generate(2, 3, 0.1, method="nope")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"noise": -1.0}, "noise"),
        ({"steps": 0}, "steps"),
        ({"n_traj": 0}, "n_traj"),
        ({"substeps": 0}, "substeps"),
    ],
)
def test_bad_generate_arguments(kwargs, match):
    args = {"n_traj": 2, "steps": 2, "dt": 0.1} | kwargs
    with pytest.raises(ValueError, match=match):
        S.MassSpring().generate(**args)


def test_hnn_dataset_recipe():
    sys = S.MassSpring()
    data = sys.hnn_dataset(rng=seeded(0))
    assert data.q.shape == (30, 50, 1) and data.noise == 0.1
    assert torch.allclose(data.t[:, 0], torch.linspace(0, 3, 30, dtype=torch.float64))
    H = sys.hamiltonian(data.q_true.reshape(-1, 1), data.p_true.reshape(-1, 1)).reshape(30, 50)
    assert float((H - H[0]).abs().max()) < 1e-9  # accurate trajectories (RK4, 10 substeps)
    radius = H[0].sqrt()  # H = q^2 + p^2
    assert float(radius.min()) >= 0.1 and float(radius.max()) <= 1.0
    assert torch.allclose(data.dp_dt, -2 * data.q_true, rtol=0, atol=1e-15)
    assert torch.allclose(data.dq_dt, 2 * data.p_true, rtol=0, atol=1e-15)
    assert repr(data) == "Trajectories(steps=29, n_traj=50, config_shape=(1,), noise=0.1)"
