"""lagrangian_vector_field: closed forms, checked solve, validation, differentiability."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from symnet.mechanics import (
    SecondOrderField,
    SingularMassMatrixError,
    lagrangian_vector_field,
    mass_matrix,
    momentum,
)

from ._closed_forms import CASES, F64, L_double_pendulum, L_oscillator, random_state, rel

TOL64 = 1e-12


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_acceleration_matches_closed_form_float64(case) -> None:
    q, qdot, t = random_state(case.shape)
    f = lagrangian_vector_field(case.L)
    assert isinstance(f, SecondOrderField) and f.order == 2 and f.source is case.L
    a = f(q, qdot, t)
    assert a.shape == q.shape and a.dtype == F64
    assert rel(a, case.accel(q, qdot, t)) < TOL64


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_acceleration_float32(case) -> None:
    q, qdot, t = random_state(case.shape, dtype=torch.float32)
    a = lagrangian_vector_field(case.L)(q, qdot, t)
    assert a.dtype == torch.float32
    assert rel(a, case.accel(q.double(), qdot.double(), t.double())) < 1e-4


def test_uses_time_follows_signature() -> None:
    assert lagrangian_vector_field(CASES[0].L).uses_time is False
    assert lagrangian_vector_field(CASES[-1].L).uses_time is True


@pytest.mark.parametrize("t", [0.7, torch.tensor(0.7, dtype=F64), torch.full((7,), 0.7, dtype=F64)])
def test_time_forms_broadcast(t) -> None:
    case = CASES[-1]
    q, qdot, _ = random_state(case.shape)
    expected = case.accel(q, qdot, torch.full((7,), 0.7, dtype=F64))
    assert rel(lagrangian_vector_field(case.L)(q, qdot, t), expected) < TOL64


def test_mass_matrix_and_momentum_helpers() -> None:
    q, qdot, t = random_state((2,))
    M = mass_matrix(L_double_pendulum)(q, qdot)
    from ._closed_forms import L1, L2, M1, M2

    c = torch.cos(q[:, 0] - q[:, 1])
    expected = torch.stack(
        [
            torch.stack([torch.full_like(c, (M1 + M2) * L1**2), M2 * L1 * L2 * c], -1),
            torch.stack([M2 * L1 * L2 * c, torch.full_like(c, M2 * L2**2)], -1),
        ],
        -2,
    )
    assert M.shape == (7, 2, 2)
    assert rel(M, expected) < TOL64
    p = momentum(L_double_pendulum)(q, qdot, t)
    assert p.shape == q.shape
    assert rel(p, (expected @ qdot[..., None])[..., 0]) < TOL64


def test_particle_shape_mass_matrix_flattened() -> None:
    q, qdot, _ = random_state((2, 3))
    from ._closed_forms import L_two_body

    M = mass_matrix(L_two_body)(q, qdot)
    assert M.shape == (7, 6, 6)
    diag = torch.tensor([1.3] * 3 + [0.7] * 3, dtype=F64)
    assert rel(M, torch.diag_embed(diag.expand(7, 6))) < TOL64


# ----------------------------------------------------------------- singular mass matrices


def L_degenerate(q, qdot):  # noqa: N802
    return 0.5 * (qdot[:, 0] + qdot[:, 1]) ** 2 - 0.5 * (q**2).sum(-1)


class LinearInVelocity(nn.Module):
    """A learned-MLP-like Lagrangian that is linear in qdot: its mass matrix is 0."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).double()
        self.v = nn.Sequential(nn.Linear(2, 16), nn.Softplus(), nn.Linear(16, 1)).double()

    def forward(self, q, qdot):
        return (self.a(q) * qdot).sum(-1) - self.v(q)[:, 0]


@pytest.mark.parametrize("L", [L_degenerate, LinearInVelocity()], ids=["sum_of_velocities", "mlp"])
def test_singular_mass_matrix_raises_naming_batch_index(L) -> None:
    q, qdot, _ = random_state((2,), batch=5)
    with pytest.raises(SingularMassMatrixError, match="batch index 0") as info:
        lagrangian_vector_field(L)(q, qdot)
    assert isinstance(info.value, ValueError)
    assert info.value.batch_index == 0
    assert "regularization=" in str(info.value)


def test_singular_only_at_one_batch_element_is_named() -> None:
    # L = 1/2 (q_0^2 + eps) qdot^2 - q^2 is singular only where q_0 == 0
    def L(q, qdot):  # noqa: N802
        return 0.5 * q[:, 0] ** 2 * (qdot**2).sum(-1) - 0.5 * (q**2).sum(-1)

    q, qdot, _ = random_state((2,), batch=5)
    q[3, 0] = 0.0
    with pytest.raises(SingularMassMatrixError, match="batch index 3") as info:
        lagrangian_vector_field(L)(q, qdot)
    assert info.value.batch_index == 3
    assert math.isinf(info.value.condition)


def test_regularization_makes_it_solvable() -> None:
    q, qdot, _ = random_state((2,), batch=5)
    lam = 1e-3
    a = lagrangian_vector_field(L_degenerate, regularization=lam)(q, qdot)
    M = torch.ones(2, 2, dtype=F64) + lam * torch.eye(2, dtype=F64)
    expected = torch.linalg.solve(M, (-q)[..., None])[..., 0]
    assert torch.isfinite(a).all()
    assert rel(a, expected) < 1e-9


def test_ill_conditioned_against_max_condition() -> None:
    def L(q, qdot):  # noqa: N802
        return 0.5 * qdot[:, 0] ** 2 + 0.5e-9 * qdot[:, 1] ** 2 - 0.5 * (q**2).sum(-1)

    q, qdot, _ = random_state((2,), batch=3)
    f = lagrangian_vector_field(L)  # condition 1e9 < default 4.5e13 in float64
    assert torch.isfinite(f(q, qdot)).all()
    with pytest.raises(SingularMassMatrixError, match=r"condition number 1\.000e\+09"):
        lagrangian_vector_field(L, max_condition=1e6)(q, qdot)
    with pytest.raises(SingularMassMatrixError, match="ill-conditioned"):  # 8.4e4 in float32
        lagrangian_vector_field(L)(q.float(), qdot.float())


# ------------------------------------------------------------------------- validation


def test_shape_mismatch_names_arguments() -> None:
    f = lagrangian_vector_field(L_oscillator)
    with pytest.raises(
        ValueError, match=r"q and qdot must have the same shape.*\(4, 1\).*\(4, 2\)"
    ):
        f(torch.zeros(4, 1, dtype=F64), torch.zeros(4, 2, dtype=F64))


@pytest.mark.parametrize("bad", ["q", "qdot"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nonfinite_input_names_argument(bad, value) -> None:
    q, qdot = torch.ones(3, 1, dtype=F64), torch.ones(3, 1, dtype=F64)
    (q if bad == "q" else qdot)[1, 0] = value
    with pytest.raises(ValueError, match=rf"^{bad} contains"):
        lagrangian_vector_field(L_oscillator)(q, qdot)


@pytest.mark.parametrize(
    "wrap, shown",
    [
        (lambda out: out[:, None], r"\(B, 1\)"),
        (lambda out: torch.stack([out, out], -1), r"\(B, 2\)"),
        (lambda out: out.sum(), "0-d"),
    ],
    ids=["B1", "B2", "scalar"],
)
def test_lagrangian_output_must_be_one_scalar_per_state(wrap, shown) -> None:
    f = lagrangian_vector_field(lambda q, qdot: wrap(L_oscillator(q, qdot)))
    with pytest.raises(ValueError, match=rf"shape \(B,\).*{shown}"):
        f(torch.ones(4, 1, dtype=F64), torch.ones(4, 1, dtype=F64))


def test_lagrangian_returning_non_tensor_is_type_error() -> None:
    f = lagrangian_vector_field(lambda q, qdot: 1.0)
    with pytest.raises(TypeError, match="must return a Tensor"):
        f(torch.ones(4, 1, dtype=F64), torch.ones(4, 1, dtype=F64))


@pytest.mark.parametrize(
    "L, match",
    [
        (lambda q, qdot: -0.5 * (q**2).sum(-1), "does not depend on qdot"),
        # the values depend on qdot but autodiff does not see it: the probe says so
        (
            lambda q, qdot: 0.5 * (qdot.detach() ** 2).sum(-1) - 0.5 * (q**2).sum(-1),
            "with respect to qdot .*invisible to autodiff",
        ),
        (
            lambda q, qdot: 0.5 * (qdot.long() ** 2).sum(-1) - 0.5 * (q**2).sum(-1),
            "does not depend on qdot|invisible to autodiff",
        ),
    ],
    ids=["no_qdot", "detach", "integer"],
)
def test_lagrangian_not_differentiable_in_qdot_is_a_clear_error(L, match) -> None:
    q, qdot, _ = random_state((2,), batch=3)
    with pytest.raises(ValueError, match=match):
        lagrangian_vector_field(L)(q, qdot)


def test_lagrangian_with_item_gives_a_clear_error() -> None:
    def L(q, qdot):  # noqa: N802
        return 0.5 * (qdot**2).sum(-1) * float(q.sum().item())

    with pytest.raises(RuntimeError, match="differentiable torch operations"):
        lagrangian_vector_field(L)(torch.ones(3, 1, dtype=F64), torch.ones(3, 1, dtype=F64))


def test_bad_constructor_arguments() -> None:
    with pytest.raises(TypeError):
        lagrangian_vector_field(3.0)
    with pytest.raises(ValueError, match="regularization"):
        lagrangian_vector_field(L_oscillator, regularization=-1.0)
    with pytest.raises(ValueError, match="max_condition"):
        lagrangian_vector_field(L_oscillator, max_condition=0.5)


def test_inputs_not_modified() -> None:
    q, qdot, t = random_state((2,))
    copies = q.clone(), qdot.clone(), t.clone()
    lagrangian_vector_field(L_double_pendulum)(q, qdot, t)
    mass_matrix(L_double_pendulum)(q, qdot, t)
    momentum(L_double_pendulum)(q, qdot, t)
    for a, b in zip((q, qdot, t), copies, strict=True):
        assert torch.equal(a, b)
    assert not q.requires_grad and not qdot.requires_grad


# ------------------------------------------------------------------ differentiability


class MLPLagrangian(nn.Module):
    """A softplus MLP L(q, qdot) plus a kinetic term that keeps M invertible."""

    def __init__(self, n: int = 2, hidden: int = 4, dtype=F64) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.net = nn.Sequential(nn.Linear(2 * n, hidden), nn.Softplus(), nn.Linear(hidden, 1)).to(
            dtype
        )

    def forward(self, q, qdot):
        return 0.5 * (qdot**2).sum(-1) + self.net(torch.cat([q, qdot], -1))[:, 0]


def test_gradcheck_wrt_module_parameters() -> None:
    L = MLPLagrangian()
    f = lagrangian_vector_field(L)
    q, qdot, _ = random_state((2,), batch=3, seed=4)
    names = [n for n, _ in L.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in L.parameters())

    def field_of(*ps):
        field = lagrangian_vector_field(
            lambda a, b: torch.func.functional_call(L, dict(zip(names, ps, strict=True)), (a, b))
        )
        return field(q, qdot)

    assert torch.autograd.gradcheck(field_of, params, eps=1e-6, atol=1e-6, rtol=1e-5)
    # and the ordinary training path: backward into the module's parameters (the
    # last bias shifts L by a constant and has no effect on the dynamics)
    f(q, qdot).pow(2).sum().backward()
    for name, p in L.named_parameters():
        if name != "net.2.bias":
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_gradient_wrt_state_through_field() -> None:
    q, qdot, _ = random_state((2,), batch=3, seed=5)
    q.requires_grad_(True)
    qdot.requires_grad_(True)
    f = lagrangian_vector_field(L_double_pendulum)
    assert torch.autograd.gradcheck(lambda a, b: f(a, b), (q, qdot), fast_mode=True)


def test_float32_module_trains() -> None:
    L = MLPLagrangian(dtype=torch.float32)
    f = lagrangian_vector_field(L)
    q, qdot, _ = random_state((2,), batch=16, dtype=torch.float32)
    opt = torch.optim.SGD(L.parameters(), lr=1e-2)
    target = torch.zeros_like(q)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (f(q, qdot) - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]
    assert all(p.dtype == torch.float32 for p in L.parameters())


def test_no_graph_without_grad_inputs() -> None:
    q, qdot, _ = random_state((2,))
    a = lagrangian_vector_field(L_double_pendulum)(q, qdot)
    assert not a.requires_grad
