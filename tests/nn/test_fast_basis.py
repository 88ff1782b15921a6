"""The fast basis routes: closed forms, factorisation, the Gram solver, against the dense SVD."""

from __future__ import annotations

import math

import pytest
import torch

from symnet.groups import (
    Lorentz,
    PermRep,
    Permutation,
    Reflection,
    Rotation,
    Scalar,
    T,
    Translation,
    Vector,
)
from symnet.nn import NULLSPACE_RTOL, clear_basis_cache, equivariant_basis
from symnet.nn._basis_krylov import Lazy, krylov_nullspace
from symnet.nn._basis_perm import partition_basis
from symnet.nn._basis_solve import canonical_pivots, checked, gram_nullspace
from symnet.nn.equivariant_linear import _CACHE, _constraints, _solve

SN = Permutation()
SO3 = Rotation(3)
SO3xSN = Rotation(3) * Permutation()
F64 = torch.float64


def stirling2(n: int, k: int) -> int:
    return sum((-1) ** i * math.comb(k, i) * (k - i) ** n for i in range(k + 1)) // math.factorial(
        k
    )


def partitions_at_most(n: int, blocks: int) -> int:
    """Set partitions of n indices into at most ``blocks`` blocks (Bell(n) for blocks >= n)."""
    return sum(stirling2(n, j) for j in range(min(n, blocks) + 1)) if n else 1


def _route(group, rep_in, rep_out, route):
    return _solve(group, rep_in, rep_out, NULLSPACE_RTOL, route)


def _equivariance_error(group, rep_in, rep_out, basis) -> float:
    """max over sampled elements of ||rho_out(g) W - W rho_in(g)|| for every basis element."""
    n = rep_in.particles() or rep_out.particles() or 1
    g = group.sample(3, (n, group.dim or 1), rng=torch.Generator().manual_seed(0))
    a, b = rep_out.matrix(g), rep_in.matrix(g)
    lhs = a[:, None] @ basis[None]
    rhs = basis[None] @ b[:, None]
    return float((lhs - rhs).abs().max()) if basis.numel() else 0.0


def _agree(fast: torch.Tensor, dense: torch.Tensor) -> None:
    assert fast.shape == dense.shape
    if fast.numel():
        assert (fast - dense).abs().max() < 1e-12


# ----------------------------------------------------------------- closed form
@pytest.mark.parametrize("n", [3, 4, 5, 6])
@pytest.mark.parametrize(("k", "l"), [(1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2), (3, 0)])
def test_partition_counts_are_bell_numbers(n: int, k: int, l: int) -> None:  # noqa: E741
    P = PermRep(SN, n)
    rep_in, rep_out = P**k, P**l
    basis = equivariant_basis(SN, rep_in, rep_out)
    assert basis.shape == (partitions_at_most(k + l, n), rep_out.dim, rep_in.dim)
    assert _equivariance_error(SN, rep_in, rep_out, basis) == 0.0  # exact: 0/1 entries
    if n <= 4 or k + l <= 3:  # the dense route is fast enough to compare
        _agree(basis, _route(SN, rep_in, rep_out, "dense"))


def test_partition_basis_is_exact_and_canonical() -> None:
    basis, pivots = partition_basis(2, 2, 10)  # 15 indicators of W[a, b, c, d]
    assert basis.shape == (15, 10**4) and torch.equal(pivots, pivots.sort().values)
    sizes = (basis > 0).sum(1)
    assert torch.equal(basis[basis > 0], torch.repeat_interleave(sizes.double().rsqrt(), sizes))
    assert torch.equal((basis > 0).sum(0), torch.ones(10**4, dtype=torch.long))  # a partition
    first = (basis > 0).double().argmax(1)
    assert torch.equal(first, pivots)
    q, piv = canonical_pivots(basis.T.flip(1))  # RREF + QR of any basis of the span
    assert (q.T - basis).abs().max() < 1e-13 and torch.equal(piv, pivots)


P4, S = PermRep(SN, 4), Scalar(SN)
SUMS = [
    ("P -> S", P4, S),
    ("S -> P", S, P4),
    ("PP -> P", P4 * P4, P4),
    ("PPP -> S", P4**3, S),
    ("P 2S -> P 3S", P4 * (2 * S), P4 * (3 * S)),
    ("P + S -> PP + S", P4 + S, P4 * P4 + S),
    ("P*(P + S) -> (S + P)*P", P4.T * (P4 + S), (S + P4) * P4),
    ("3S -> 2S", 3 * S, 2 * S),
]


@pytest.mark.parametrize(("name", "rep_in", "rep_out"), SUMS, ids=[c[0] for c in SUMS])
def test_sums_and_multiplicities_agree_with_the_dense_route(name, rep_in, rep_out) -> None:
    fast = equivariant_basis(SN, rep_in, rep_out)
    _agree(fast, _route(SN, rep_in, rep_out, "dense"))
    assert _equivariance_error(SN, rep_in, rep_out, fast) < 1e-14


# --------------------------------------------------------- factorised products
G = SO3xSN
PG, VG = PermRep(G, 4), Vector(G)
O3 = Rotation(3) * Reflection(3)
E3xSN = Translation(3) * Rotation(3) * Permutation()
PRODUCTS = [
    ("SO3xS4: PV -> PV", G, PG * VG, PG * VG),
    ("SO3xS3: VPV -> PP", G, VG * PermRep(G, 3) * VG, PermRep(G, 3) ** 2),  # interleaved
    ("SO3xS4: PV + V* -> P*V + S", G, PG * VG + VG.T, PG.T * VG + Scalar(G)),
    ("O3: (V + S)^2 -> V + S", O3, (Vector(O3) + Scalar(O3)) ** 2, Vector(O3) + Scalar(O3)),
    (
        "E3xS3: PV -> PV",
        E3xSN,
        PermRep(E3xSN, 3) * Vector(E3xSN),
        PermRep(E3xSN, 3) * Vector(E3xSN),
    ),
]


@pytest.mark.parametrize(
    ("name", "group", "rep_in", "rep_out"), PRODUCTS, ids=[c[0] for c in PRODUCTS]
)
def test_products_agree_with_the_dense_route(name, group, rep_in, rep_out) -> None:
    fast = equivariant_basis(group, rep_in, rep_out)
    _agree(fast, _route(group, rep_in, rep_out, "dense"))
    assert _equivariance_error(group, rep_in, rep_out, fast) < 1e-12


# ------------------------------------------------------------------ Gram route
@pytest.mark.parametrize(
    ("group", "rep_in", "rep_out"),
    [(SO3, T(2, group=SO3), T(2, group=SO3)), (G, PG * VG, PG * VG), (G, VG * PG, PG * VG)],
    ids=["SO3: VV -> VV", "SO3xS4: PV -> PV", "SO3xS4: VP -> PV"],
)
def test_gram_route_agrees_with_the_dense_route(group, rep_in, rep_out) -> None:
    _agree(_route(group, rep_in, rep_out, "gram"), _route(group, rep_in, rep_out, "dense"))


KRYLOV = [
    ("SO3: VV -> VV", SO3, T(2, group=SO3), T(2, group=SO3)),
    ("SO3xS4: PV -> PV", G, PG * VG, PG * VG),
    ("O3: (V + S)^2 -> V + S", O3, (Vector(O3) + Scalar(O3)) ** 2, Vector(O3) + Scalar(O3)),
    ("SO+(1,3): T(1,1) -> S", Lorentz(True), T(1, 1, Lorentz(True)), Scalar(Lorentz(True))),
    ("O(1,3): V -> V", Lorentz(), Vector(Lorentz()), Vector(Lorentz())),
]


@pytest.mark.parametrize(("name", "group", "rep_in", "rep_out"), KRYLOV, ids=[c[0] for c in KRYLOV])
def test_matrix_free_route_agrees_with_the_dense_route(name, group, rep_in, rep_out) -> None:
    _agree(_route(group, rep_in, rep_out, "krylov"), _route(group, rep_in, rep_out, "dense"))


def test_matrix_free_products_axis_by_axis(monkeypatch) -> None:
    """Large factors are applied axis by axis: same basis as with the full matrices."""
    import symnet.nn._basis_krylov as krylov

    rep_in, rep_out = T(2, group=SO3), T(1, 1, group=SO3)
    clear_basis_cache()
    full = _route(SO3, rep_in, rep_out, "krylov")
    monkeypatch.setattr(krylov, "_DENSE_OPS", 1)
    lazy = krylov.Lazy("sum", [Vector(SO3).lie("rotation_x")] * 2, [Vector(SO3).lie("rotation_x")])
    assert lazy.dense is None
    clear_basis_cache()  # forget the memoised components
    _agree(_route(SO3, rep_in, rep_out, "krylov"), full)
    _agree(full, _route(SO3, rep_in, rep_out, "dense"))
    clear_basis_cache()


def test_matrix_free_iteration_grows_its_block_and_can_fail() -> None:
    """40 null directions found from a block of 8; a starved iteration says None."""
    diag = torch.cat([torch.zeros(40, dtype=F64), torch.linspace(0.5, 2.0, 20, dtype=F64)])
    cons = [Lazy("sum", [torch.diag(diag)], [])]  # maps R -> R^60: W in the kernel of diag
    null = krylov_nullspace(cons, (60,), block=8)
    assert null is not None and null.shape == (60, 40)
    assert null[40:].abs().max() < 1e-13
    assert krylov_nullspace(cons, (60,), block=8, max_iter=1) is None


def test_large_so3_tensor_rep() -> None:
    """SO(3): T(3) -> T(3), 729 unknowns; 15 maps (the invariants of T(6))."""
    rep = T(3, group=SO3)
    basis = equivariant_basis(SO3, rep, rep)
    assert basis.shape == (15, 27, 27)
    flat = basis.reshape(15, -1)
    assert (flat @ flat.T - torch.eye(15, dtype=F64)).abs().max() < 1e-12
    assert _equivariance_error(SO3, rep, rep, basis) < 1e-12
    assert checked(basis, _constraints(SO3, rep, rep))


@pytest.mark.parametrize(("proper", "count"), [(False, 3), (True, 4)])
def test_lorentz_tensor_reps(proper: bool, count: int) -> None:
    """T(1) -> T(2, 1): products of metrics (3), plus Levi-Civita for SO+(1,3)."""
    L = Lorentz(proper=proper)
    rep_in, rep_out = T(1, group=L), T(2, 1, group=L)
    fast = equivariant_basis(L, rep_in, rep_out)
    assert fast.shape[0] == count
    _agree(fast, _route(L, rep_in, rep_out, "dense"))
    _agree(_route(L, rep_in, rep_out, "gram"), fast)
    assert _equivariance_error(L, rep_in, rep_out, fast) < 1e-11  # moderate boosts
    assert checked(fast, _constraints(L, rep_in, rep_out))


def test_a_broken_basis_fails_the_check() -> None:
    rep = T(2, group=SO3)
    basis = equivariant_basis(SO3, rep, rep)
    cons = _constraints(SO3, rep, rep)
    assert checked(basis, cons)
    broken = basis.clone()
    broken[0, 0, 1] += 1e-6
    assert not checked(broken, cons)
    assert _equivariance_error(SO3, rep, rep, broken) > 1e-8


def test_gram_route_refuses_an_ambiguous_spectrum() -> None:
    """A constraint with a singular value between round-off and the gap: no guess."""
    A = torch.diag(torch.tensor([1.0, 1e-4], dtype=F64))  # sigma^2 = 1e-8: ambiguous
    assert gram_nullspace([(A, torch.zeros(1, 1, dtype=F64))]) is None
    B = torch.diag(torch.tensor([1.0, 0.0], dtype=F64))
    null = gram_nullspace([(B, torch.zeros(1, 1, dtype=F64))])
    assert null is not None and null.shape == (2, 1) and null[1, 0].abs() == 1


# ------------------------------------------------------------------------ cache
def test_cache_never_mixes_groups_or_reps() -> None:
    clear_basis_cache()
    L, Lp = Lorentz(), Lorentz(proper=True)
    a = equivariant_basis(L, T(1, group=L), T(2, 1, group=L))
    b = equivariant_basis(Lp, T(1, group=Lp), T(2, 1, group=Lp))
    assert a.shape[0] == 3 and b.shape[0] == 4
    V = Vector(L)
    assert equivariant_basis(L, V * V, Scalar(L)).shape[0] == 1
    (dual,) = equivariant_basis(L, V * V.T, Scalar(L))
    (metric,) = equivariant_basis(L, V * V, Scalar(L))
    assert (dual - metric).abs().max() > 0.5
    assert len({k[:3] for k in _CACHE}) == len(_CACHE) == 4
    clear_basis_cache()
    assert not _CACHE


def test_bad_route() -> None:
    with pytest.raises(ValueError, match="route"):
        _route(SO3, Vector(SO3), Vector(SO3), "fast")
