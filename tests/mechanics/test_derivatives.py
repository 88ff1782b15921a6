"""The batched autograd path of the fields: same values as torch.func, graphs, batch mixing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.mechanics import (
    hamiltonian_vector_field,
    lagrangian_vector_field,
    mass_matrix,
    momentum,
)
from symnet.mechanics._derivatives import STRATEGIES

from ._closed_forms import CASES, F64, HAMILTONIAN_CASES, random_state, rel


def _core(field):
    return field.fn.fn  # the _EulerLagrange / _HamiltonEquations behind the guard


class SoftplusL(nn.Module):
    """``1/2 |qdot|^2 + 0.1 MLP([q, qdot])``, the benchmark's learned Lagrangian (small)."""

    def __init__(self, n: int = 2, dtype=F64) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.net = nn.Sequential(
            nn.Linear(2 * n, 16), nn.Softplus(), nn.Linear(16, 16), nn.Softplus(), nn.Linear(16, 1)
        ).to(dtype)

    def forward(self, q, qdot):
        return 0.5 * (qdot**2).sum(-1) + 0.1 * self.net(torch.cat([q, qdot], -1))[:, 0]


LAGRANGIANS = [(c.name, c.L, c.shape) for c in CASES] + [("mlp", SoftplusL(), (2,))]


@pytest.mark.parametrize("name, L, shape", LAGRANGIANS, ids=[x[0] for x in LAGRANGIANS])
@pytest.mark.parametrize("strategy", [None, *STRATEGIES])
def test_batched_path_equals_per_sample_path(name, L, shape, strategy) -> None:
    q, qdot, t = random_state(shape)
    fast = lagrangian_vector_field(L)
    _core(fast).strategy = strategy
    slow = lagrangian_vector_field(L)
    _core(slow).per_sample = True
    a, b = fast(q, qdot, t), slow(q, qdot, t)
    assert rel(a, b) < 1e-13
    assert _core(fast).verified


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batched_path_is_differentiable(strategy) -> None:
    L = SoftplusL()
    q, qdot, _ = random_state((2,), batch=3, seed=6)
    f = lagrangian_vector_field(L)
    _core(f).strategy = strategy
    args = (q.clone().requires_grad_(), qdot.clone().requires_grad_())
    assert torch.autograd.gradcheck(lambda a, b: f(a, b), args, fast_mode=True)
    f(q, qdot).pow(2).sum().backward()  # into the parameters, as training does
    assert all(p.grad is not None for p in L.net[0].parameters())


def test_momentum_and_mass_matrix_equal_per_sample_path() -> None:
    L = SoftplusL()
    q, qdot, t = random_state((2,))
    p = momentum(L)(q, qdot, t)
    M = mass_matrix(L)(q, qdot, t)
    with torch.inference_mode():  # inference mode takes the torch.func path
        p_ref = momentum(L)(q, qdot, t)
        M_ref = mass_matrix(L)(q, qdot, t)
    assert rel(p, p_ref) < 1e-14 and rel(M, M_ref) < 1e-14


def test_graph_only_when_the_caller_needs_it() -> None:
    L = SoftplusL()
    q, qdot, _ = random_state((2,))
    f = lagrangian_vector_field(L)
    assert f(q, qdot).requires_grad  # parameters require grad: training works
    with torch.no_grad():
        assert not f(q, qdot).requires_grad
    L.requires_grad_(False)
    assert not f(q, qdot).requires_grad
    qs = q.clone().requires_grad_()
    a = f(qs, qdot)
    (g,) = torch.autograd.grad(a.sum(), qs)  # differentiable to the states
    L.requires_grad_(True)
    ham = hamiltonian_vector_field(L)
    assert ham(q, qdot)[0].requires_grad
    with torch.no_grad():
        assert not ham(q, qdot)[0].requires_grad
    assert torch.isfinite(g).all()


def test_same_tensor_as_q_and_qdot() -> None:
    case = CASES[2]  # Kepler
    q, _, _ = random_state(case.shape)
    f = lagrangian_vector_field(case.L)
    qs = q.clone().requires_grad_()
    assert rel(f(qs, qs), case.accel(q, q, None)) < 1e-13


def test_field_composes_with_transforms_after_the_fast_path() -> None:
    L = SoftplusL()
    q, qdot, t = random_state((2,), batch=3)
    f = lagrangian_vector_field(L)
    f(q, qdot, t)  # the fast path, verified
    jac = torch.func.jacrev(lambda x: f.derivative(x, qdot, t)[1])(q)  # the torch.func path
    ref = torch.autograd.functional.jacobian(lambda x: f(x, qdot, t), q)
    assert rel(jac, ref) < 1e-12


# ------------------------------------------------------------------------ batch mixing


def L_mean(q, qdot):  # noqa: N802
    return 0.5 * (qdot**2).sum(-1) - 0.5 * ((q - q.mean(0)) ** 2).sum(-1)


class BatchNormL(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
        self.double()

    def forward(self, q, qdot):
        return 0.5 * (qdot**2).sum(-1) + 0.1 * self.net(torch.cat([q, qdot], -1))[:, 0]


@pytest.mark.parametrize("build", [lagrangian_vector_field, momentum, mass_matrix])
def test_lagrangian_mixing_samples_is_refused(build) -> None:
    q, qdot, _ = random_state((2,), batch=5)
    for L in (L_mean, BatchNormL()):
        with pytest.raises(ValueError, match="L mixes the samples of the batch"):
            build(L)(q, qdot)


def test_batch_norm_in_eval_mode_is_accepted() -> None:
    L = BatchNormL().eval()
    q, qdot, _ = random_state((2,), batch=5)
    fast, slow = lagrangian_vector_field(L), lagrangian_vector_field(L)
    _core(slow).per_sample = True
    assert rel(fast(q, qdot), slow(q, qdot)) < 1e-13


def test_hamiltonian_mixing_samples_is_refused() -> None:
    def H(q, p):  # noqa: N802
        return 0.5 * (p**2).sum(-1) + 0.5 * ((q - q.mean(0)) ** 2).sum(-1)

    q, p, _ = random_state((2,), batch=4)
    with pytest.raises(ValueError, match="H mixes the samples.*state 0 changed its value"):
        hamiltonian_vector_field(H)(q, p)
    # a single state cannot mix: nothing to refuse
    assert hamiltonian_vector_field(H)(q[:1], p[:1])[0].shape == (1, 2)


def test_random_hamiltonian_is_refused() -> None:
    drop = nn.Dropout(0.5)

    def H(q, p):  # noqa: N802
        return 0.5 * (p**2).sum(-1) + drop(q).pow(2).sum(-1)

    q, p, _ = random_state((2,), batch=4)
    with pytest.raises(ValueError, match="deterministic"):
        hamiltonian_vector_field(H)(q, p)


@pytest.mark.parametrize("case", HAMILTONIAN_CASES, ids=lambda c: c[0])
def test_hamiltonian_batched_path_equals_torch_func(case) -> None:
    _, H, _, shape = case
    q, p, t = random_state(shape)
    fast, slow = hamiltonian_vector_field(H), hamiltonian_vector_field(H)
    _core(slow).per_sample = True
    for a, b in zip(fast(q, p, t), slow(q, p, t), strict=True):
        assert rel(a, b) < 1e-14
