"""Symplectic(n): Sp(2n, R) on phase-space vectors, its algebra, reps and the assert helpers."""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from symnet.groups import Group, Scalar, Symplectic, Translation, Vector
from symnet.nn import equivariant_basis
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

from ._helpers import assert_close, check_axioms, check_generators


def _form_error(G: Symplectic, M: torch.Tensor) -> float:
    J = G.form()
    return float((M.transpose(-1, -2) @ J @ M - J).abs().max())


def _in_span(X: torch.Tensor, basis: torch.Tensor) -> float:
    """Worst residual of the least-squares fit of each ``X`` in the span of ``basis``."""
    B = basis.reshape(basis.shape[0], -1).T
    Y = X.reshape(-1, B.shape[0]).T
    coef = torch.linalg.lstsq(B, Y).solution
    return float((B @ coef - Y).abs().max())


@pytest.mark.parametrize("n", [1, 2, 3])
def test_algebra_basis_form_and_closure(n: int) -> None:
    G = Symplectic(n)
    J, A = G.form(), G.lie_algebra()
    assert G.dim == 2 * n and A.shape == (n * (2 * n + 1), 2 * n, 2 * n)
    want = torch.zeros(2 * n, 2 * n, dtype=torch.float64)
    want[:n, n:], want[n:, :n] = torch.eye(n), -torch.eye(n)
    assert torch.equal(J, want)
    assert torch.equal(A.transpose(-1, -2) @ J + J @ A, torch.zeros_like(A))  # sp(2n)
    assert int(torch.linalg.matrix_rank(A.reshape(A.shape[0], -1))) == A.shape[0]
    # A = J S with S symmetric
    S = -J @ A
    assert torch.equal(S, S.transpose(-1, -2))
    comm = (A[:, None] @ A[None] - A[None] @ A[:, None]).reshape(-1, 2 * n, 2 * n)
    assert _in_span(comm, A) < 1e-13  # closes
    k = len(G.compact_generator_names())
    assert k == n * n and G.generator_names()[:k] == G.compact_generator_names()
    U = A[:k]
    assert torch.equal(U, -U.transpose(-1, -2))  # u(n) = sp(2n) ∩ so(2n)
    assert torch.equal(A[k:], A[k:].transpose(-1, -2))  # the rest: symmetric
    cu = (U[:, None] @ U[None] - U[None] @ U[:, None]).reshape(-1, 2 * n, 2 * n)
    assert _in_span(cu, U) < 1e-13  # u(n) is a subalgebra


def test_generator_names_and_flows() -> None:
    assert Symplectic(1).generator_names() == ["phase", "squeeze", "hyper"]
    G = Symplectic(2)
    assert G.generator_names() == [
        "phase_0", "phase_1", "phase_01", "rot_01",
        "squeeze_0", "squeeze_1", "squeeze_01", "hyper_0", "hyper_1", "hyper_01",
    ]  # fmt: skip
    z = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]], dtype=torch.float64)  # (q0, q1, p0, p1)
    s = torch.tensor([0.3], dtype=torch.float64)
    # squeeze_0: q0 -> e^s q0, p0 -> e^-s p0 (H = q0 p0)
    out = G.act(G.exp("squeeze_0", s, (1, 4)), z, "point")[0, 0]
    assert_close(
        out, torch.tensor([math.exp(0.3), 2.0, 3.0 * math.exp(-0.3), 4.0], dtype=torch.float64)
    )
    # phase_0: the (q0, p0) plane rotates, qdot = p, pdot = -q
    zdot = G.act_infinitesimal("phase_0", z, "point")[0, 0]
    assert zdot.tolist() == [3.0, 0.0, -1.0, 0.0]
    # rot_01 rotates (q0, q1) and (p0, p1) together
    zdot = G.act_infinitesimal("rot_01", z, "point")[0, 0]
    assert zdot.tolist() == [-2.0, 1.0, -4.0, 3.0]


@pytest.mark.parametrize("n", [1, 2])
def test_group_laws_and_generators(n: int) -> None:
    G = Symplectic(n)
    check_axioms(G, (3, 2 * n), n=4, seed=5)
    check_generators(G, (2, 2 * n), n=2, seed=6)


def test_affine_product_obeys_the_group_laws() -> None:
    check_axioms(Translation(4) * Symplectic(2), (2, 4), n=3, seed=7)


@pytest.mark.parametrize("n", [1, 3])
def test_samples_products_and_exps_preserve_the_form(n: int) -> None:
    G, S = Symplectic(n), (1, 2 * n)
    g, h = G.sample(32, S, rng=0), G.sample(32, S, rng=1)
    assert g.shape == (32, 2 * n, 2 * n) and g.dtype == torch.float64
    assert _form_error(G, g) < 1e-13 and _form_error(G, G.compose(g, h)) < 1e-12
    assert_close(G.inverse(g), torch.linalg.inv(g), rtol=1e-11, what="-J g^T J")
    assert_close(torch.linalg.det(g), torch.ones(32, dtype=torch.float64), rtol=1e-12)
    assert float(torch.linalg.matrix_norm(g, ord=2).max()) < 30  # moderate elements
    s = torch.linspace(-2.0, 2.0, 5, dtype=torch.float64)
    for name in G.generator_names():
        assert _form_error(G, G.exp(name, s, S)) < 1e-12
    # the compact ones are rotations of R^(2n)
    for name in G.compact_generator_names():
        M = G.exp(name, s, S)
        assert_close(M @ M.transpose(-1, -2), torch.eye(2 * n, dtype=torch.float64).expand_as(M))
    assert torch.equal(G.sample(4, S, rng=3), G.sample(4, S, rng=torch.Generator().manual_seed(3)))
    assert G.discrete_generators(S) == []


def test_exp_matches_the_power_series() -> None:
    G = Symplectic(2)
    s = torch.tensor([0.8, -1.5], dtype=torch.float64)
    for name, A in zip(G.generator_names(), G.lie_algebra(), strict=True):
        want = torch.zeros(2, 4, 4, dtype=torch.float64)
        term = torch.eye(4, dtype=torch.float64).expand(2, 4, 4)
        for k in range(1, 60):
            want = want + term
            term = term @ (s[:, None, None] * A) / k
        assert_close(G.exp(name, s, (1, 4)), want, what=name)


@pytest.mark.parametrize("n", [1, 2])
def test_vector_rep_and_equivariant_bases(n: int) -> None:
    G = Symplectic(n)
    V = Vector(G)
    assert V.dim == 2 * n
    for name, A in zip(G.generator_names(), G.lie_algebra(), strict=True):
        assert torch.equal(V.lie(name), A)
    g = G.sample(3, (1, 2 * n), rng=2)
    assert_close(V.matrix(g), g)
    B = equivariant_basis(G, V, V)
    assert B.shape == (1, 2 * n, 2 * n)
    assert_close(B[0] / B[0, 0, 0], torch.eye(2 * n, dtype=torch.float64), what="V -> V")
    M = equivariant_basis(G, V * V, Scalar(G))
    assert M.shape == (1, 1, 4 * n * n)
    M = M.reshape(2 * n, 2 * n)
    assert_close(M / M[0, n], G.form(), what="V x V -> S is the symplectic form")


def test_assert_helpers_in_both_directions() -> None:
    G = Symplectic(2)
    x = torch.randn(3, 2, 4, dtype=torch.float64)  # two phase-space points per sample
    J = G.form()

    def omega(x: torch.Tensor) -> torch.Tensor:  # the symplectic product of the two
        return torch.einsum("bi,ij,bj->b", x[:, 0], J, x[:, 1])

    def dot(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] * x[:, 1]).sum(-1)

    def field(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(omega(x))[:, None, None] * x

    assert_invariant(omega, G, x, "point")
    assert_equivariant(field, G, (x,), ("point",), "point")
    with pytest.raises(SymmetryAssertionError):
        assert_invariant(dot, G, x, "point")
    with pytest.raises(SymmetryAssertionError):
        assert_equivariant(lambda x: field(x) * dot(x)[:, None, None], G, (x,), ("point",), "point")
    # the dot product is invariant under the rotations in u(n)
    for gen in G.generators((2, 4))[:4]:
        assert_invariant(dot, gen, x, "point")


def test_errors_name_what_was_expected() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must be a positive int"):
            Symplectic(bad)  # type: ignore[arg-type]
    G = Symplectic(2)
    g = G.identity(1, (1, 4))
    with pytest.raises(ValueError, match=r"last dimension 3.*d = 4.*\(n, \.\.\., N, 4\)"):
        G.act(g, torch.zeros(1, 2, 3), "vector")
    with pytest.raises(ValueError, match="irreps are representations of O\\(3\\)"):
        G.act(g, torch.zeros(1, 4), "1x1o + 1x0e")
    with pytest.raises(ValueError, match=r"shape \(m, 4, 4\)"):
        G.inverse(torch.eye(2)[None])
    with pytest.raises(ValueError, match=r"needs configuration shape \(N, 2n\)"):
        Group.by_name("symplectic", (2, 3))


def test_names_equality_and_pickling() -> None:
    assert repr(Symplectic(2)) == "Symplectic(2)"
    assert Symplectic(2) == Symplectic(2) and Symplectic(2) != Symplectic(1)
    assert hash(Symplectic(3)) == hash(Symplectic(3))
    assert pickle.loads(pickle.dumps(Symplectic(2))) == Symplectic(2)
    assert Group.by_name("symplectic", (1, 6)) == Symplectic(3)
    assert Symplectic(1).charge_label("phase") == "J[phase]"
