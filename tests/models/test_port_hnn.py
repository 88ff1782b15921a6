"""PortHNN: shapes, positive semi-definite dissipation, energy decay, forcing."""

from __future__ import annotations

import pytest
import torch

from symnet.mechanics import rollout
from symnet.models import HNN, PortHNN


@pytest.mark.parametrize("dissipation", ["constant", "state", None])
@pytest.mark.parametrize("forcing", ["fourier", "mlp", None])
def test_shapes(dissipation, forcing):
    model = PortHNN(config_shape=(2,), hidden=8, dissipation=dissipation, forcing=forcing)
    q, p, t = torch.randn(5, 2), torch.randn(5, 2), torch.rand(5)
    qdot, pdot = model(q, p, t)
    assert qdot.shape == pdot.shape == (5, 2)
    assert model.dissipation(q).shape == (5, 2, 2)
    assert model.forcing(t).shape == (5, 2)
    assert model.forcing(0.3).shape == (1, 2)


def test_dissipation_is_positive_semidefinite():
    torch.manual_seed(0)
    model = PortHNN(config_shape=(3,), hidden=8, dissipation="state").double()
    R = model.dissipation(5 * torch.randn(32, 3, dtype=torch.float64))
    assert torch.allclose(R, R.transpose(-1, -2))
    assert bool((torch.linalg.eigvalsh(R) > -1e-12).all())


def test_energy_decays_with_dissipation_and_no_forcing():
    torch.manual_seed(1)
    model = PortHNN(config_shape=(1,), hidden=16, forcing=None).double()
    with torch.no_grad():
        model.damping.fill_(1.0)  # R = 1
        q0, p0 = torch.randn(8, 1, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
        traj = rollout(model.field, q0, p0, dt=0.05, steps=100)
        H = model.hamiltonian(traj.q.reshape(-1, 1), traj.p.reshape(-1, 1)).reshape(101, 8)
        qdot, _ = model.field(traj.q[0], traj.p[0])
    dH = H[1:] - H[:-1]
    assert bool((dH <= 1e-12).all())  # never increases
    assert bool((H[-1] < H[0]).all())  # and decreases
    # at the start, dH/dt = -dH/dp R dH/dp = -qdot^2
    rate = (H[1] - H[0]) / 0.05
    assert torch.allclose(rate, -(qdot**2)[:, 0], rtol=0.1)


def test_without_ports_it_is_an_hnn():
    torch.manual_seed(2)
    port = PortHNN(config_shape=(2,), hidden=8, dissipation=None, forcing=None)
    hnn = HNN(config_shape=(2,), hidden=8)
    hnn.net.load_state_dict(port.net.state_dict())
    q, p = torch.randn(4, 2), torch.randn(4, 2)
    for a, b in zip(port(q, p, 1.0), hnn(q, p), strict=True):
        assert torch.allclose(a, b)


def test_forcing_enters_pdot_only():
    model = PortHNN(config_shape=(1,), hidden=8, dissipation=None, forcing="fourier")
    with torch.no_grad():
        model.cos_amp.zero_()
        model.cos_amp[0, 0] = 2.0
    q, p = torch.randn(3, 1), torch.randn(3, 1)
    t = torch.tensor([0.0, 1.0, 2.0])
    (qd0, pd0), (qd1, pd1) = model(q, p, 0.0), model(q, p, t)
    assert torch.equal(qd0, qd1)
    expected = 2.0 * torch.cos(model.omega[0] * t)[:, None] - 2.0
    assert torch.allclose(pd1 - pd0, expected.detach(), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="dissipation"):
        PortHNN(config_shape=(1,), dissipation="diagonal")
    with pytest.raises(ValueError, match="forcing"):
        PortHNN(config_shape=(1,), forcing="spline")
    assert "dissipation='constant'" in repr(PortHNN(config_shape=(1,), hidden=4))
