"""mass_structure ("dense", "block", "diagonal") and the traceable forms of the fields."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from symnet.mechanics import (
    SingularMassMatrixError,
    hamiltonian_vector_field,
    lagrangian_vector_field,
)

from ._closed_forms import F64, HAMILTONIAN_CASES, random_state, rel

C_LIGHT = 3.0


def L_relativistic(q, qdot):  # noqa: N802
    """Particles with a position-dependent rest mass, relativistic kinetic terms, pair forces.

    ``M`` is block-diagonal (3 x 3 per particle), velocity and position dependent.
    """
    m = 1.0 + 0.1 * torch.tanh((q**2).sum(-1))  # (B, *P)
    gamma_inv = torch.sqrt(1.0 - (qdot**2).sum(-1) / C_LIGHT**2)
    kinetic = (-m * C_LIGHT**2 * gamma_inv).flatten(1).sum(-1)
    x = q.flatten(1, -2)
    r2 = ((x.unsqueeze(2) - x.unsqueeze(1)) ** 2).sum(-1)
    return kinetic - 0.5 * (1.0 / (r2 + 1.0)).sum((-1, -2))


def L_diagonal(q, qdot):  # noqa: N802
    """A mass per coordinate that depends on the positions: ``M`` diagonal."""
    m = 1.0 + 0.2 * torch.sigmoid(q + 0.3 * q.flip(-1))
    return (0.5 * m * qdot**2).flatten(1).sum(-1) - 0.5 * (q**2).flatten(1).sum(-1)


def L_coupled(q, qdot):  # noqa: N802
    """The centre of mass velocity couples every particle: ``M`` is dense."""
    return 0.5 * (qdot**2).sum((-1, -2)) + 0.05 * (qdot.sum(-2) ** 2).sum(-1) - (q**2).sum((-1, -2))


def state(shape, batch=6, seed=0, dtype=F64):
    q, qdot, t = random_state(shape, batch=batch, seed=seed, dtype=dtype)
    return q, 0.5 * qdot, t  # |qdot| below the speed of light


@pytest.mark.parametrize(
    "L, structure, shape",
    [
        (L_relativistic, "block", (4, 3)),
        (L_relativistic, "block", (2, 2, 3)),
        (L_diagonal, "block", (3, 2)),
        (L_diagonal, "diagonal", (3, 2)),
        (L_diagonal, "diagonal", (5,)),
    ],
    ids=["relativistic", "relativistic_grid", "diagonal_as_block", "diagonal", "diagonal_flat"],
)
def test_structured_equals_dense(L, structure, shape) -> None:
    q, qdot, t = state(shape)
    dense = lagrangian_vector_field(L)(q, qdot, t)
    f = lagrangian_vector_field(L, mass_structure=structure)
    assert rel(f(q, qdot, t), dense) < 1e-13
    # inside a transform (after the first call verified the structure) and traceable
    jac = torch.func.jacrev(lambda v: f.derivative(q, v, t)[1])(qdot)
    ref = torch.autograd.functional.jacobian(lambda v: lagrangian_vector_field(L)(q, v, t), qdot)
    assert rel(jac, ref) < 1e-11
    out, bad = f.fn.fn.traceable()(q, qdot, t)
    assert rel(out, dense) < 1e-13 and not bad.any()


def test_structured_float32_and_regularization() -> None:
    q, qdot, t = state((4, 3), dtype=torch.float32)
    for lam in (0.0, 0.3):
        dense = lagrangian_vector_field(L_relativistic, regularization=lam)(q, qdot, t)
        f = lagrangian_vector_field(L_relativistic, regularization=lam, mass_structure="block")
        assert rel(f(q, qdot, t), dense) < 1e-5


def test_structured_is_differentiable() -> None:
    q, qdot, _ = state((2, 3), batch=2)
    f = lagrangian_vector_field(L_relativistic, mass_structure="block")
    args = (q.clone().requires_grad_(), qdot.clone().requires_grad_())
    assert torch.autograd.gradcheck(lambda a, b: f(a, b), args, fast_mode=True)


@pytest.mark.parametrize(
    "L, structure, shape, match",
    [
        (L_coupled, "block", (3, 2), "couples different particles"),
        (L_coupled, "diagonal", (3, 2), "couples different velocity components"),
        (L_relativistic, "diagonal", (3, 3), "outside the diagonal"),
    ],
)
def test_wrong_structure_is_refused(L, structure, shape, match) -> None:
    q, qdot, _ = state(shape)
    with pytest.raises(ValueError, match=rf"mass_structure='{structure}' does not hold.*{match}"):
        lagrangian_vector_field(L, mass_structure=structure)(q, qdot)


def test_bad_structure_name() -> None:
    with pytest.raises(ValueError, match="mass_structure must be one of 'dense', 'block'"):
        lagrangian_vector_field(L_coupled, mass_structure="sparse")


def L_singular_at_zero(q, qdot):  # noqa: N802
    """Particle 1's mass vanishes where its first coordinate does."""
    m = torch.ones_like(q[..., 0])
    m = torch.cat([m[:, :1], q[:, 1:2, 0] ** 2, m[:, 2:]], 1)
    return 0.5 * (m * (qdot**2).sum(-1)).sum(-1) - 0.5 * (q**2).sum((-1, -2))


@pytest.mark.parametrize("structure", ["dense", "block", "diagonal"])
def test_conditioning_is_the_dense_one(structure) -> None:
    q, qdot, t = state((3, 2), batch=5)
    q[3, 1, 0] = 0.0  # singular
    q[1, 1, 0] = 1e-3  # condition number about 1e6
    f = lagrangian_vector_field(L_singular_at_zero, mass_structure=structure, max_condition=1e7)
    with pytest.raises(SingularMassMatrixError, match="singular at batch index 3") as info:
        f(q, qdot, t)
    assert info.value.batch_index == 3 and math.isinf(info.value.condition)
    strict = lagrangian_vector_field(
        L_singular_at_zero, mass_structure=structure, max_condition=1e5
    )
    with pytest.raises(SingularMassMatrixError, match=r"condition number 1\.000e\+06") as info:
        strict(q[:2], qdot[:2], t[:2])
    assert info.value.batch_index == 1
    # the traceable form flags the same states; NaN states give NaN and are not flagged
    qn = q.clone()
    qn[0, 0, 0] = math.nan
    out, bad = f.fn.fn.traceable()(qn, qdot, t)
    assert bad.tolist() == [False, False, False, True, False]
    assert torch.isnan(out[0]).any() and torch.isfinite(out[[1, 2, 4]]).all()
    ok = lagrangian_vector_field(L_singular_at_zero)(q[[1, 2, 4]], qdot[[1, 2, 4]], t[[1, 2, 4]])
    assert rel(out[[1, 2, 4]], ok) < 1e-12


def test_regularized_traceable_is_never_bad() -> None:
    q, qdot, t = state((3, 2), batch=5)
    q[3, 1, 0] = 0.0
    f = lagrangian_vector_field(L_singular_at_zero, regularization=0.5, mass_structure="block")
    eager = f(q, qdot, t)
    out, bad = f.fn.fn.traceable()(q, qdot, t)
    assert not bad.any() and rel(out, eager) < 1e-13


def test_traceable_before_any_plain_call_uses_the_dense_matrix() -> None:
    q, qdot, t = state((3, 2))
    f = lagrangian_vector_field(L_coupled, mass_structure="block")  # wrong, not yet checked
    out, bad = f.fn.fn.traceable()(q, qdot, t)
    assert rel(out, lagrangian_vector_field(L_coupled)(q, qdot, t)) < 1e-13


@pytest.mark.parametrize("case", HAMILTONIAN_CASES[:2], ids=lambda c: c[0])
def test_hamiltonian_traceable(case) -> None:
    _, H, _, shape = case
    q, p, t = random_state(shape)
    f = hamiltonian_vector_field(H)
    (qdot, pdot), bad = f.fn.fn.traceable()(q, p, t)
    eq, ep = f(q, p, t)
    assert bad is None and rel(qdot, eq) < 1e-14 and rel(pdot, ep) < 1e-14


# ------------------------------------------------------------------ torch.compile (one)


class Pendulum(nn.Module):
    """A pendulum-like L whose mass ``q^2`` is singular at ``q = 0``."""

    def forward(self, q, qdot):
        m = q[:, 0] ** 2
        return 0.5 * m * qdot[:, 0] ** 2 + torch.cos(q[:, 0])


@pytest.mark.slow
def test_traceable_compiles_fullgraph_and_agrees() -> None:
    torch._dynamo.reset()
    f = lagrangian_vector_field(Pendulum())
    q, qdot, t = random_state((1,), batch=6)
    q[2, 0] = 0.0  # M = 0: singular
    keep = [0, 1, 3, 4, 5]
    eager = f(q[keep], qdot[keep], t[keep])
    g = torch.compile(f.fn.fn.traceable(), fullgraph=True)
    out, bad = g(q, qdot, t)
    assert bad.tolist() == [False, False, True, False, False, False]
    assert rel(out[keep], eager) < 1e-13
