"""LNN: shapes, dtypes, the structured mass matrix, the checked solve, exact dynamics."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from symnet.mechanics import SingularMassMatrixError, lagrangian_vector_field
from symnet.models import LNN
from symnet.systems import DoublePendulum


@pytest.mark.parametrize("structured", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_and_dtypes(structured, dtype):
    model = LNN(config_shape=(3, 2), hidden=8, layers=2, structured=structured).to(dtype)
    q = torch.randn(5, 3, 2, dtype=dtype)
    qdot = torch.randn(5, 3, 2, dtype=dtype)
    L = model.lagrangian(q, qdot)
    a = model(q, qdot)
    assert L.shape == (5,) and L.dtype == dtype
    assert a.shape == (5, 3, 2) and a.dtype == dtype
    assert model.acceleration(q, qdot, t=0.5).shape == (5, 3, 2)


def test_wrong_shape_is_a_clear_error():
    model = LNN(config_shape=(2,), hidden=8)
    with pytest.raises(ValueError, match=r"q must have shape \(B, 2,\)"):
        model(torch.randn(4, 3), torch.randn(4, 3))


@pytest.mark.parametrize("mass", ["state", "constant"])
def test_structured_mass_matrix_is_positive_definite(mass):
    torch.manual_seed(0)
    model = LNN(config_shape=(4,), hidden=16, structured=True, mass=mass, eps=1e-3).double()
    with torch.no_grad():  # large random weights: still positive definite
        for p in model.parameters():
            p.mul_(5.0)
    q = 3 * torch.randn(64, 4, dtype=torch.float64)
    M = model.mass_matrix(q)
    assert M.shape == (64, 4, 4)
    assert torch.allclose(M, M.transpose(-1, -2))
    assert bool((torch.linalg.eigvalsh(M) >= 1e-3 * (1 - 1e-9)).all())
    # the Hessian of L with respect to qdot is that matrix
    qdot = torch.randn(64, 4, dtype=torch.float64)
    from symnet.mechanics import mass_matrix

    H = mass_matrix(model.lagrangian)(q, qdot)
    assert torch.allclose(H, M, atol=1e-10)


def test_constant_mass_gives_velocity_independent_accelerations():
    model = LNN(config_shape=(3,), hidden=8, structured=True, mass="constant").double()
    q = torch.randn(6, 3, dtype=torch.float64)
    a1 = model(q, torch.randn(6, 3, dtype=torch.float64))
    a2 = model(q, torch.randn(6, 3, dtype=torch.float64))
    assert torch.equal(a1, a2)


class _TruePendulum(nn.Module):
    def forward(self, q, qdot):
        return DoublePendulum().lagrangian(q, qdot)


def test_custom_module_gives_the_exact_euler_lagrange_accelerations():
    sys = DoublePendulum()
    q, qdot = sys.sample_states(16, torch.Generator().manual_seed(0))
    model = LNN(_TruePendulum(), config_shape=(2,))
    assert torch.allclose(model(q, qdot), sys.acceleration(q, qdot), atol=1e-9)
    assert "L=_TruePendulum()" in repr(model)


class _LinearInVelocity(nn.Module):
    def forward(self, q, qdot):
        return (q**2).sum(-1) + qdot[:, 0]


def test_singular_mass_matrix_raises_and_regularization_solves():
    model = LNN(_LinearInVelocity(), config_shape=(2,))
    q, qdot = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    with pytest.raises(SingularMassMatrixError, match="regularization"):
        model(q, qdot)
    model.regularization = 1.0
    assert model.regularization == 1.0
    # (M + I) a = dL/dq = 2 q with M = 0
    assert torch.allclose(model(q, qdot), 2 * q)
    with pytest.raises(ValueError, match="regularization"):
        model.regularization = -1.0


def test_field_matches_lagrangian_vector_field_and_trains():
    torch.manual_seed(0)
    model = LNN(config_shape=(2,), hidden=16, structured=True)
    q, qdot = torch.randn(8, 2), torch.randn(8, 2)
    ref = lagrangian_vector_field(model.lagrangian)(q, qdot)
    assert torch.allclose(model(q, qdot), ref)
    model(q, qdot).square().sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) >= len(list(model.parameters())) - 1  # V's last bias has no effect
    assert all(torch.isfinite(g).all() for g in grads)


def test_deepcopy_cast_to_float64_rebuilds_its_field():
    model = LNN(config_shape=(2,), hidden=8)
    q, qdot = torch.randn(3, 2), torch.randn(3, 2)
    model(q, qdot)  # builds and caches the float32 field
    m64 = copy.deepcopy(model).double()
    out = m64(q.double(), qdot.double())
    assert out.dtype == torch.float64
    assert torch.allclose(out.float(), model(q, qdot), atol=1e-4)


def test_repr_config_and_view():
    model = LNN(config_shape=(2,), hidden=8, layers=2)
    assert repr(model) == "LNN(config_shape=(2,), L=MLP(4 -> 8x2 softplus -> 1))"
    assert model.config()["hidden"] == 8
    view = model.as_lagrangian()
    q = torch.randn(3, 2)
    assert torch.equal(view(q, q), model.lagrangian(q, q))
    assert repr(view).startswith("LagrangianView(LNN(")


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        LNN(config_shape=(2,), activation="relu")
    with pytest.raises(TypeError, match="structured=True"):
        LNN(nn.Linear(4, 1), config_shape=(2,), structured=True)
    with pytest.raises(ValueError, match="config_shape"):
        LNN(config_shape=())
    with pytest.raises(ValueError, match="mass"):
        LNN(config_shape=(2,), structured=True, mass="diagonal")


@pytest.mark.parametrize("structured", [False, True])
def test_periodic_coordinates_give_a_periodic_lagrangian(structured):
    torch.manual_seed(0)
    model = LNN(config_shape=(2,), hidden=8, structured=structured, periodic=True).double()
    q, qdot = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    shifted = q + 2 * torch.pi * torch.tensor([1.0, -3.0], dtype=torch.float64)
    assert torch.allclose(model.lagrangian(q, qdot), model.lagrangian(shifted, qdot))
    assert torch.allclose(model(q, qdot), model(shifted, qdot), atol=1e-10)
    assert "periodic=True" in repr(model)
