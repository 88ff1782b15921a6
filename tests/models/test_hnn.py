"""HNN: shapes, a symplectic (Hamiltonian) vector field, energy conserved along its own flow."""

from __future__ import annotations

import pytest
import torch
from torch.func import jacrev, vmap

from symnet.mechanics import rollout
from symnet.models import HNN


@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_and_dtypes(separable, dtype):
    model = HNN(config_shape=(2, 3), hidden=8, separable=separable).to(dtype)
    q, p = torch.randn(4, 2, 3, dtype=dtype), torch.randn(4, 2, 3, dtype=dtype)
    H = model.hamiltonian(q, p)
    qdot, pdot = model(q, p)
    assert H.shape == (4,) and H.dtype == dtype
    assert qdot.shape == pdot.shape == (4, 2, 3) and qdot.dtype == dtype


def test_field_is_hamiltonian_divergence_free_and_symplectic():
    torch.manual_seed(0)
    model = HNN(config_shape=(2,), hidden=16).double()
    n = 2

    def flat(x):  # x: (2n,) -> (2n,)
        t = torch.zeros(1, dtype=x.dtype)
        qd, pd = model.field.derivative(x[None, :n], x[None, n:], t)  # no validation: vmappable
        return torch.cat([qd[0], pd[0]])

    x = torch.randn(16, 2 * n, dtype=torch.float64)
    D = vmap(jacrev(flat))(x)  # (B, 2n, 2n)
    eye, zero = torch.eye(n, dtype=torch.float64), torch.zeros(n, n, dtype=torch.float64)
    J = torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)])
    # the Jacobian of a Hamiltonian field is a Hamiltonian matrix: D^T J + J D = 0
    assert (D.transpose(-1, -2) @ J + J @ D).abs().max() < 1e-12
    assert torch.diagonal(D, dim1=-2, dim2=-1).sum(-1).abs().max() < 1e-12  # divergence


def _energy_error(model, method, steps):
    q0, p0 = torch.randn(8, 1, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    with torch.no_grad():
        traj = rollout(model.field, q0, p0, dt=0.01, steps=steps, method=method)
        H = model.hamiltonian(traj.q.reshape(-1, 1), traj.p.reshape(-1, 1)).reshape(steps + 1, 8)
    return (H - H[0]).abs() / H[0].abs().clamp_min(1e-3)


def test_learned_energy_is_conserved_along_the_leapfrog_flow():
    torch.manual_seed(1)
    model = HNN(config_shape=(1,), hidden=16, separable=True).double()
    err = _energy_error(model, "leapfrog", 300)
    assert err.max() < 1e-3
    # no secular drift: the error of the second half is not larger than of the first
    assert err[150:].max() < 2 * err[:151].max()


def test_non_separable_energy_is_conserved_by_implicit_midpoint():
    torch.manual_seed(2)
    model = HNN(config_shape=(1,), hidden=16).double()
    assert _energy_error(model, "implicit_midpoint", 300).max() < 1e-5


def test_repr_and_bad_arguments():
    model = HNN(config_shape=(1,), hidden=8)
    assert repr(model) == "HNN(config_shape=(1,), H=MLP(2 -> 8x2 tanh -> 1))"
    assert repr(model.as_hamiltonian()).startswith("HamiltonianView(HNN(")
    with pytest.raises(TypeError, match="separable"):
        HNN(torch.nn.Linear(2, 1), config_shape=(1,), separable=True)
