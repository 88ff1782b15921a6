"""Lorentz(): O(1,3) and SO+(1,3) on 4-vectors, its algebra, reps and the assert helpers."""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from symnet.groups import (
    Group,
    Lorentz,
    Rotation,
    Scalar,
    Translation,
    Vector,
    resolve_symmetries,
)
from symnet.nn import equivariant_basis
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

from ._helpers import assert_close, check_axioms, check_generators

ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))
S = (3, 4)


def _metric_error(L: torch.Tensor) -> float:
    return float((L.transpose(-1, -2) @ ETA @ L - ETA).abs().max())


def _structure_constants(A: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``[A_a, A_b] = sum_c f_abc A_c`` by least squares, and the worst residual."""
    k = A.shape[0]
    comm = torch.einsum("aij,bjk->abik", A, A) - torch.einsum("bij,ajk->abik", A, A)
    basis = A.reshape(k, -1).T  # (d*d, k)
    f = torch.linalg.lstsq(basis, comm.reshape(k * k, -1).T).solution.T.reshape(k, k, k)
    residual = (torch.einsum("abc,cij->abij", f, A) - comm).abs().max()
    return f, float(residual)


def test_algebra_preserves_the_metric_and_closes() -> None:
    G = Lorentz()
    names, A = G.generator_names(), G.lie_algebra()
    assert names == ["boost_x", "boost_y", "boost_z", "rotation_x", "rotation_y", "rotation_z"]
    assert torch.equal(A.transpose(-1, -2) @ ETA + ETA @ A, torch.zeros(6, 4, 4, dtype=A.dtype))
    assert torch.equal(A[:3], A[:3].transpose(-1, -2))  # boosts symmetric
    assert torch.equal(A[3:], -A[3:].transpose(-1, -2))  # rotations antisymmetric
    assert torch.equal(A[3:, 1:, 1:], Rotation(3).lie_algebra())  # so(3) on the spatial block
    assert int(torch.linalg.matrix_rank(A.reshape(6, 16))) == 6
    f, residual = _structure_constants(A)
    assert residual < 1e-14  # closes
    K, J = range(3), range(3, 6)
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        eps[a, b, c], eps[a, c, b] = 1.0, -1.0
    # [J_a, J_b] = eps J_c, [J_a, K_b] = eps K_c, [K_a, K_b] = -eps J_c, and nothing else
    assert_close(f[3:, 3:, 3:], eps, what="[J, J]")
    assert_close(f[3:, :3, :3], eps, what="[J, K]")
    assert_close(f[:3, :3, 3:], -eps, what="[K, K]")
    assert float(f[3:, 3:, :3].abs().max()) < 1e-14 and float(f[:3, :3, :3].abs().max()) < 1e-14
    assert list(K) == [0, 1, 2] and list(J) == [3, 4, 5]


@pytest.mark.parametrize("proper", [False, True])
def test_group_laws_and_generators(proper: bool) -> None:
    G = Lorentz(proper=proper)
    check_axioms(G, S, n=4, seed=1)
    check_generators(G, S, n=3, seed=2)


def test_poincare_product_obeys_the_group_laws() -> None:
    check_axioms(Translation(4) * Lorentz(), S, n=3, seed=3)


def test_samples_products_and_exps_preserve_the_metric() -> None:
    G = Lorentz()
    g, h = G.sample(64, S, rng=0), G.sample(64, S, rng=1)
    assert g.shape == (64, 4, 4) and g.dtype == torch.float64
    assert _metric_error(g) < 1e-13 and _metric_error(G.compose(g, h)) < 1e-12
    assert_close(G.inverse(g), torch.linalg.inv(g), rtol=1e-12, what="eta g^T eta")
    s = torch.linspace(-3.0, 3.0, 7, dtype=torch.float64)
    for name in G.generator_names():
        assert _metric_error(G.exp(name, s, S)) < 1e-12
    # the four components of O(1,3) all appear: sign(Lambda^0_0) and det
    signs = {(int(torch.sign(x[0, 0])), int(torch.sign(torch.linalg.det(x)))) for x in g}
    assert signs == {(1, 1), (1, -1), (-1, 1), (-1, -1)}
    proper = Lorentz(proper=True).sample(64, S, rng=0)
    assert bool((proper[:, 0, 0] >= 1).all())
    assert_close(torch.linalg.det(proper), torch.ones(64, dtype=torch.float64), rtol=1e-12)
    # moderate rapidities: Lambda^0_0 = cosh |r|, |r| ~ 0.5 chi_3
    assert float(proper[:, 0, 0].max()) < math.cosh(3.0)
    assert torch.equal(G.sample(5, S, rng=7), G.sample(5, S, rng=torch.Generator().manual_seed(7)))


def test_exp_matches_the_power_series() -> None:
    G = Lorentz()
    s = torch.tensor([0.7, -1.9], dtype=torch.float64)
    for name, A in zip(G.generator_names(), G.lie_algebra(), strict=True):
        want = torch.zeros(2, 4, 4, dtype=torch.float64)
        term = torch.eye(4, dtype=torch.float64).expand(2, 4, 4)
        for k in range(1, 60):
            want = want + term
            term = term @ (s[:, None, None] * A) / k
        assert_close(G.exp(name, s, S), want, what=name)
    # a boost along x: cosh / sinh of the rapidity
    B = G.exp("boost_x", torch.tensor([0.5], dtype=torch.float64), S)[0]
    assert abs(B[0, 0].item() - math.cosh(0.5)) < 1e-15
    assert abs(B[0, 1].item() - math.sinh(0.5)) < 1e-15


def test_discrete_generators_kinds_and_charges() -> None:
    G = Lorentz()
    (pn, P), (tn, T) = G.discrete_generators(S)
    assert (pn, tn) == ("parity", "time_reversal")
    assert P[0].diagonal().tolist() == [1.0, -1.0, -1.0, -1.0]
    assert T[0].diagonal().tolist() == [-1.0, 1.0, 1.0, 1.0]
    assert Lorentz(proper=True).discrete_generators(S) == []
    x = torch.randn(1, 2, 4, dtype=torch.float64)
    assert torch.equal(G.act(P, x, "axial"), -G.act(P, x, "vector"))  # det P = -1
    assert torch.equal(G.act(T, x, "pseudoscalar"), -x)
    g = G.exp("boost_y", torch.tensor([1.2], dtype=torch.float64), S)
    assert_close(G.act(g, x, "axial"), G.act(g, x, "vector"))
    assert torch.equal(G.act(g, x, "scalar"), x) and torch.equal(G.act(g, x, "global"), x)
    assert [gen.charge_label for gen in G.generators(S)] == [
        "K_x", "K_y", "K_z", "L_x", "L_y", "L_z",
    ]  # fmt: skip
    gens = G.generators(S)
    assert all(torch.equal(gen.matrix, A) for gen, A in zip(gens, G.lie_algebra(), strict=True))


def test_vector_rep_and_equivariant_bases() -> None:
    for G in (Lorentz(), Lorentz(proper=True)):
        V = Vector(G)
        assert V.dim == 4
        for name, A in zip(G.generator_names(), G.lie_algebra(), strict=True):
            assert torch.equal(V.lie(name), A)
        g = G.sample(3, S, rng=4)
        assert_close(V.matrix(g), g)
        B = equivariant_basis(G, V, V)
        assert B.shape == (1, 4, 4)
        assert_close(B[0] / B[0, 0, 0], torch.eye(4, dtype=torch.float64), what="V -> V")
        M = equivariant_basis(G, V * V, Scalar(G))
        assert M.shape == (1, 1, 16)
        M = M.reshape(4, 4)
        assert_close(M / M[0, 0], ETA, what="V x V -> S is the metric")
        # rank-4 invariants: the three products of two metrics, and for SO+(1,3) also the
        # Levi-Civita tensor, which parity and time reversal flip
        k = equivariant_basis(G, V * V * V * V, Scalar(G)).shape[0]
        assert k == (4 if G.proper else 3)


def test_assert_helpers_in_both_directions() -> None:
    G = Lorentz()
    x = torch.randn(4, 3, 4, dtype=torch.float64)

    def minkowski(x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bni,ij,bnj->b", x, ETA, x)

    def euclidean(x: torch.Tensor) -> torch.Tensor:
        return (x**2).sum((-1, -2))

    def force(x: torch.Tensor) -> torch.Tensor:  # an equivariant 4-vector field
        return torch.tanh(torch.einsum("bni,ij,bnj->bn", x, ETA, x))[..., None] * x

    assert_invariant(minkowski, G, x, "vector")
    assert_equivariant(force, G, (x,), ("vector",), "vector")
    with pytest.raises(SymmetryAssertionError):
        assert_invariant(euclidean, G, x, "vector")
    with pytest.raises(SymmetryAssertionError):
        assert_equivariant(
            lambda x: force(x) * (x**2).sum(-1, True), G, (x,), ("vector",), "vector"
        )
    # the Euclidean norm is rotation invariant: the rotations alone pass
    assert_invariant(euclidean, Lorentz().generators(S)[4], x, "vector")


def test_errors_name_what_was_expected() -> None:
    with pytest.raises(ValueError, match="proper must be a bool"):
        Lorentz(proper="x")  # type: ignore[arg-type]
    G = Lorentz()
    g = G.identity(1, S)
    with pytest.raises(ValueError, match=r"last dimension 3.*d = 4.*\(n, \.\.\., N, 4\)"):
        G.act(g, torch.zeros(1, 2, 3), "vector")
    with pytest.raises(ValueError, match=r"acts on particles in 4 dimensions"):
        G.generators((2, 3))
    with pytest.raises(ValueError, match="irreps are representations of O\\(3\\)"):
        G.act(g, torch.zeros(1, 4), "1x1o + 1x0e")
    with pytest.raises(ValueError, match=r"shape \(n, 4, 4\)"):
        G.compose(torch.eye(3)[None], g)
    with pytest.raises(ValueError, match="has no generator 'boost_0'"):
        G.exp("boost_0", torch.zeros(1), S)
    with pytest.raises(ValueError, match=r"needs configuration shape \(N, 4\)"):
        Group.by_name("lorentz", (2, 3))


def test_names_equality_and_pickling() -> None:
    assert repr(Lorentz()) == "Lorentz()" and repr(Lorentz(proper=True)) == "Lorentz(proper=True)"
    assert Lorentz() == Lorentz() and Lorentz() != Lorentz(proper=True)
    assert hash(Lorentz(proper=True)) == hash(Lorentz(proper=True))
    assert pickle.loads(pickle.dumps(Lorentz(proper=True))) == Lorentz(proper=True)
    assert Group.by_name("lorentz", (2, 4)) == Lorentz()
    assert_close(Lorentz.metric(), ETA)
    spec = resolve_symmetries(["lorentz"], (1, 4))
    assert [g.name for g in spec.generators] == Lorentz().generator_names()
    assert [g.charge_label for g in resolve_symmetries("boost_x", (1, 4)).generators] == ["K_x"]
