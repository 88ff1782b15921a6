"""Reflection(d): the group {I, P}, O(d) = Rotation(d) * Reflection(d), E(d) with reflections."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3
from hypothesis import given

from symnet.groups import (
    Boost,
    Group,
    Kind,
    Permutation,
    Reflection,
    Rotation,
    TimeShift,
    Translation,
    irreps_kind,
    resolve_symmetries,
)
from symnet.groups.utils import default_dtype, euclidean_group

from ._helpers import FEW, assert_close, batches, check_axioms, particles, seeds


def _masses(N):
    return torch.linspace(1.0, 2.0, N, dtype=torch.float64)


# name -> (factory for N particles, d)
GROUPS = {
    "P2": (lambda N: Reflection(2), 2),
    "P3": (lambda N: Reflection(3), 3),
    "O2": (lambda N: Rotation(2) * Reflection(2), 2),
    "O2-reversed": (lambda N: Reflection(2) * Rotation(2), 2),
    "O3": (lambda N: Rotation(3) * Reflection(3), 3),
    "O4": (lambda N: Rotation(4) * Reflection(4), 4),
    "E2": (lambda N: Translation(2) * Rotation(2) * Reflection(2), 2),
    "E2-mixed": (lambda N: Reflection(2) * Translation(2) * Rotation(2), 2),
    "E3": (lambda N: Translation(3) * Rotation(3) * Reflection(3), 3),
    "E3-reversed": (lambda N: Reflection(3) * Rotation(3) * Translation(3), 3),
    "Galilei2xSN": (
        lambda N: (
            Translation(2)
            * Reflection(2)
            * Rotation(2)
            * Boost(2, _masses(N))
            * TimeShift()
            * Permutation()
        ),
        2,
    ),
}

IRREPS = "0e + 0o + 1o + 1e + 2e"


def extra_kinds(G: Group) -> list:
    kinds = ["axial", "pseudoscalar", Kind("pseudoscalar", per_particle=True)]
    if G.supports_kind(irreps_kind(IRREPS)) and G.dim == 3:
        kinds += [IRREPS, irreps_kind("1e + 2o", per_particle=True)]
    return kinds


def random_x(kind, n, S, gen):
    N, d = S
    k = (
        irreps_kind(kind)
        if isinstance(kind, str) and kind not in ("axial", "pseudoscalar")
        else kind
    )
    if kind == "axial":
        shape = (n, 2, N, d)
    elif kind == "pseudoscalar":
        shape = (n, 3)
    elif k.name == "pseudoscalar":
        shape = (n, N, 2)
    elif k.per_particle:
        shape = (n, N, k.irreps.dim)
    else:
        shape = (n, k.irreps.dim)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def check_homomorphism(G, S, n, seed):
    """``act(g h) == act(g) act(h)``, inverses and associativity on the parity kinds."""
    gen = torch.Generator().manual_seed(seed)
    g, h = G.sample(n, S, gen), G.sample(n, S, gen)
    gh = G.compose(g, h)
    for kind in extra_kinds(G):
        x = random_x(kind, n, S, gen)
        what = f"{G!r} on {kind}"
        assert_close(G.act(gh, x, kind), G.act(g, G.act(h, x, kind), kind), what=f"{what}: gh")
        assert_close(G.act(G.inverse(g), G.act(g, x, kind), kind), x, what=f"{what}: g^-1 g")
    M = G.orthogonal_matrix(gh)
    if M is not None:  # the orthogonal part is a homomorphism too
        assert_close(M, G.orthogonal_matrix(g) @ G.orthogonal_matrix(h), what="M(g h)")
        eye = torch.eye(S[1], dtype=torch.float64)
        assert_close(M @ M.transpose(-1, -2), eye.expand_as(M), what="M orthogonal")


@pytest.mark.parametrize("name", sorted(GROUPS))
@FEW
@given(n=batches, N=particles, seed=seeds)
def test_group_axioms_and_actions(name, n, N, seed):
    factory, d = GROUPS[name]
    G = factory(N)
    check_axioms(G, (N, d), n, seed)  # every kind, e3nn irreps included for d = 3
    check_homomorphism(G, (N, d), n, seed)


def test_the_reflection_matrix():
    P = torch.tensor([-1.0], dtype=torch.float64)
    for d in (1, 3, 5):  # odd d: the inversion -I (central; e3nn's parity for d = 3)
        assert torch.equal(
            Reflection(d).orthogonal_matrix(P)[0], -torch.eye(d, dtype=torch.float64)
        )
        assert Reflection(d).inversion
    for d in (2, 4):  # even d: the mirror of axis 0 (-I is a rotation there)
        M = Reflection(d).orthogonal_matrix(P)[0]
        assert torch.equal(
            M.diagonal(), torch.tensor([-1.0] + [1.0] * (d - 1), dtype=torch.float64)
        )
        assert not Reflection(d).inversion
        assert float(torch.linalg.det(M)) == -1.0
    assert torch.equal(Reflection(3).orthogonal_matrix(torch.ones(2))[0], torch.eye(3).double())


def test_elements_order_generators_sampling():
    G = Reflection(3)
    assert G.discrete and G.order((4, 3)) == 2
    assert G.elements((4, 3)).tolist() == [1.0, -1.0]
    ((name, P),) = G.discrete_generators((4, 3))
    assert name == "reflection" and P.tolist() == [-1.0]
    assert G.generators((4, 3)) == [] and G.generator_names() == []
    s = G.sample(4000, (4, 3), rng=0)
    assert set(s.tolist()) == {1.0, -1.0} and abs(float((s < 0).double().mean()) - 0.5) < 0.05
    assert torch.equal(G.compose(P, P), G.identity(1, (4, 3)))
    assert torch.equal(G.inverse(P), P)
    assert G.act(P, torch.ones(1, 2), "global").tolist() == [[1.0, 1.0]]


def test_by_name_and_resolution():
    assert Group.by_name("reflection", (4, 2)) == Reflection(2)
    sym = resolve_symmetries(["translation", "reflection"], (4, 3))
    assert sym.discrete == [Reflection(3)]
    sym = resolve_symmetries(euclidean_group(3, reflections=True), (4, 3))
    assert [g.name for g in sym.discrete] == ["reflection", "permutation"]
    assert repr(euclidean_group(2, permutations=False, reflections=True)) == (
        "Translation(2) x Rotation(2) x Reflection(2)"
    )


def test_mirror_does_not_commute_and_products_conjugate():
    """In O(2), (R, P)(R', P') = R P R' P' as matrices, in either factor order."""
    gen = torch.Generator().manual_seed(0)
    for G in (Rotation(2) * Reflection(2), Reflection(2) * Rotation(2)):
        g, h = G.sample(64, (3, 2), gen), G.sample(64, (3, 2), gen)
        Mg, Mh = G.orthogonal_matrix(g), G.orthogonal_matrix(h)
        assert_close(G.orthogonal_matrix(G.compose(g, h)), Mg @ Mh, what=repr(G))
    R = Rotation(2).exp("rotation", torch.tensor([0.7], dtype=torch.float64), (1, 2))
    P = Reflection(2).orthogonal_matrix(torch.tensor([-1.0]))
    assert float((R @ P - P @ R).abs().max()) > 0.5  # the mirror really does not commute


def test_translations_are_reflected_in_e_d():
    """(a, R, P) acts as x -> R P x + a, and compositions agree with that affine map."""
    gen = torch.Generator().manual_seed(1)
    for d in (2, 3):
        G = Translation(d) * Rotation(d) * Reflection(d)
        g, h = G.sample(16, (4, d), gen), G.sample(16, (4, d), gen)
        x = torch.randn(16, 4, d, generator=gen, dtype=torch.float64)
        want = x @ G.orthogonal_matrix(g).transpose(-1, -2) + g[0][:, None]
        assert_close(G.act(g, x, "point"), want, what="affine")
        assert_close(G.act(G.compose(g, h), x, "point"), G.act(g, G.act(h, x, "point"), "point"))
        assert_close(G.act(g, x, "vector"), want - g[0][:, None], what="vectors are not shifted")


def test_axial_and_pseudoscalar_under_o3():
    """Under O(3) a cross product is axial (not a vector), a triple product pseudoscalar."""
    gen = torch.Generator().manual_seed(2)
    G = Rotation(3) * Reflection(3)
    g = G.sample(32, (2, 3), gen)
    q = torch.randn(32, 2, 3, generator=gen, dtype=torch.float64)
    c = torch.linalg.cross(q[:, 0], q[:, 1])[:, None]  # (B, 1, 3)
    moved = G.act(g, q, "vector")
    c_moved = torch.linalg.cross(moved[:, 0], moved[:, 1])[:, None]
    assert_close(c_moved, G.act(g, c, "axial"), what="cross product is axial")
    flipped = g[1] < 0
    assert flipped.any() and (~flipped).any()
    assert float((c_moved - G.act(g, c, "vector"))[flipped].abs().max()) > 1e-3
    triple = (c[:, 0] * torch.randn(1, 3, generator=gen, dtype=torch.float64)).sum(-1, keepdim=True)
    assert_close(G.act(g, triple, "pseudoscalar"), triple * g[1][:, None], what="pseudoscalar")


def test_irreps_follow_e3nn_parity():
    irreps = "0e + 0o + 1o + 1e + 2e + 2o"
    gen = torch.Generator().manual_seed(3)
    G = Rotation(3) * Reflection(3)
    g = G.sample(32, (2, 3), gen)
    x = torch.randn(32, o3.Irreps(irreps).dim, generator=gen, dtype=torch.float64)
    with default_dtype(torch.float64):
        D = o3.Irreps(irreps).D_from_matrix(G.orthogonal_matrix(g))
    assert_close(G.act(g, x, irreps), (D @ x[..., None])[..., 0], rtol=1e-13, what="D_from_matrix")


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="dim must be a positive int"):
        Reflection(0)
    with pytest.raises(ValueError, match=r"Reflection\(2\) cannot act on .*need d = 3"):
        Reflection(2).act(torch.tensor([-1.0]), torch.zeros(1, 3), "1o")
    assert not Reflection(2).supports_kind(irreps_kind("1o"))
    with pytest.raises(TypeError, match=r"an element of Reflection\(3\) is a floating tensor"):
        Reflection(3).act(torch.tensor([[1]]), torch.zeros(1, 2, 3), "point")
    with pytest.raises(ValueError, match="discrete and has no infinitesimal"):
        Reflection(3)._act_inf("x", torch.zeros(1), None, None)
    with pytest.raises(ValueError, match=r"acts in d = 3"):
        Reflection(3).act(torch.tensor([-1.0]), torch.zeros(1, 2, 2), "point")
