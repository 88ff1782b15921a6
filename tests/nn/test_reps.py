"""Representations: dimensions, algebra, and agreement with the groups' own actions."""

from __future__ import annotations

import pytest
import torch

from symnet.groups import (
    Boost,
    PermRep,
    Permutation,
    Rep,
    Rotation,
    Scalar,
    SumRep,
    TensorRep,
    TimeShift,
    Translation,
    Vector,
)

GEN = 0


def _amax(x: torch.Tensor) -> float:
    return float(x.detach().abs().max()) if x.numel() else 0.0


RTOL = 1e-12


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = RTOL) -> bool:
    return _amax(a - b) <= rtol * max(1.0, _amax(b))


def sample(group, n, config, seed=0):
    return group.sample(n, config, rng=torch.Generator().manual_seed(seed))


SO3xSN = Rotation(3) * Permutation()
E3xSN = Translation(3) * Rotation(3) * Permutation()


# ------------------------------------------------------------------ structure
def test_dims_and_reprs() -> None:
    G = SO3xSN
    V, S, P = Vector(G), Scalar(G), PermRep(G, 4)
    assert (V.dim, S.dim, P.dim) == (3, 1, 4)
    rep = P * V + 2 * S
    assert isinstance(rep, SumRep) and rep.dim == 14 and repr(rep) == "P(4)*V + 2*S"
    assert repr(V * (V + S)) == "V*(V + S)" and (V * (V + S)).dim == 12
    assert repr(V**3) == "V*V*V" and (V**3).dim == 27
    assert isinstance(V * V, TensorRep) and (V * V).dim == 9
    assert V * S is V and S * V is V and V**0 == S and 1 * V is V
    assert V * 2 == 2 * V and sum([V, S]) == V + S
    assert Vector(Rotation(2)).dim == 2 and repr(PermRep(Permutation(), 7)) == "P(7)"


def test_equality_and_hash_include_the_group() -> None:
    assert Vector(Rotation(3)) == Vector(Rotation(3))
    assert Vector(Rotation(3)) != Vector(SO3xSN)
    assert len({Vector(Rotation(3)), Vector(Rotation(3)), Scalar(Rotation(3))}) == 2


def test_particles() -> None:
    G = Permutation()
    assert (PermRep(G, 3) * PermRep(G, 3) + Scalar(G)).particles() == 3
    assert Scalar(G).particles() is None
    with pytest.raises(ValueError, match="different sizes"):
        (PermRep(G, 3) + PermRep(G, 4)).particles()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Rotation factor"):
        Vector(Permutation())
    with pytest.raises(ValueError, match="Permutation factor"):
        PermRep(Rotation(3), 3)
    with pytest.raises(ValueError, match="positive int"):
        PermRep(Permutation(), 0)
    with pytest.raises(TypeError, match="Group"):
        Scalar("SO3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="different groups"):
        Vector(Rotation(3)) + Vector(Rotation(2))
    with pytest.raises(ValueError, match="different groups"):
        Vector(Rotation(3)) * Scalar(Permutation())
    with pytest.raises(ValueError, match="multiplicity"):
        0 * Vector(Rotation(3))
    with pytest.raises(ValueError, match="no generator"):
        Vector(Rotation(3)).lie("rotation")
    P = PermRep(Permutation(), 3)
    with pytest.raises(ValueError, match="3 particles"):
        P.matrix(torch.tensor([[1, 0, 2, 3]]))
    with pytest.raises(ValueError, match="single element"):
        P.discrete(torch.tensor([[1, 0, 2], [0, 1, 2]]))
    with pytest.raises(ValueError, match="last dimension"):
        P.act(torch.tensor([[1, 0, 2]]), torch.zeros(2, 4))


def test_boost_acts_affinely_and_has_no_linear_rep() -> None:
    V = Vector(Rotation(3) * Boost(3, [1.0, 2.0]))
    assert close(V.lie("rotation_x"), Rotation(3).lie_algebra()[0])
    with pytest.raises(ValueError, match="affinely"):
        V.lie("boost_x")


# ---------------------------------------------------------- the group's actions
def test_vector_lie_is_the_so_d_basis() -> None:
    for d in (2, 3, 4):
        R = Rotation(d)
        for name, A in zip(R.generator_names(), R.lie_algebra(), strict=True):
            assert torch.equal(Vector(R).lie(name), A)
            assert torch.equal(Vector(R * Permutation()).lie(name), A)


def test_trivial_factors() -> None:
    G = E3xSN
    assert torch.equal(Vector(G).lie("translation_y"), torch.zeros(3, 3))
    assert torch.equal(PermRep(G, 3).lie("rotation_z"), torch.zeros(3, 3))
    assert torch.equal(Scalar(G).lie("rotation_z"), torch.zeros(1, 1))
    T = TimeShift() * Rotation(2)
    assert torch.equal(Vector(T).lie("time"), torch.zeros(2, 2))
    g = sample(G, 5, (3, 3))
    assert torch.equal(Scalar(G).matrix(g), torch.ones(5, 1, 1, dtype=torch.float64))
    assert close(Vector(G).matrix(g), g[1])  # the rotation; translations, permutations trivial


@pytest.mark.parametrize("group", [Permutation(), SO3xSN, E3xSN], ids=repr)
def test_permrep_matches_the_scalar_kind(group) -> None:
    N = 4
    g = sample(group, 6, (N, 3))
    x = torch.randn(6, N, 1, dtype=torch.float64)
    P = PermRep(group, N)
    assert close(P.act(g, x[..., 0]), group.act(g, x, "scalar")[..., 0])
    m = P.matrix(g)
    assert torch.equal(m.sum(-1), torch.ones(6, N, dtype=torch.float64))  # permutation matrices


@pytest.mark.parametrize("group", [SO3xSN, E3xSN], ids=repr)
def test_per_particle_vectors_match_the_vector_kind(group) -> None:
    N = 4
    rep = PermRep(group, N) * Vector(group)
    g = sample(group, 5, (N, 3), seed=1)
    x = torch.randn(5, N, 3, dtype=torch.float64)
    assert close(rep.act(g, x.reshape(5, -1)), group.act(g, x, "vector").reshape(5, -1))
    for name in group.generator_names():
        want = group.act_infinitesimal(name, x, "vector").reshape(5, -1)
        assert close(x.reshape(5, -1) @ rep.lie(name).T, want)


def test_per_particle_channels_match_the_scalar_kind() -> None:
    G = Permutation()
    rep = PermRep(G, 5) * (3 * Scalar(G))
    g = sample(G, 4, (5, 1))
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    assert close(rep.act(g, x.reshape(4, -1)), G.act(g, x, "scalar").reshape(4, -1))


def _reps(G) -> list[Rep]:
    V, S, P = Vector(G), Scalar(G), PermRep(G, 3)
    return [V, P, V + S, P * V, V * V, (V + S) * P, 2 * V + V * V * P]


@pytest.mark.parametrize("group", [SO3xSN, E3xSN, Rotation(2) * Permutation()], ids=repr)
def test_homomorphism(group) -> None:
    """rho(g h) = rho(g) rho(h) and rho(g^-1) = rho(g)^-1 for every rep."""
    config = (3, group.dim)
    g, h = sample(group, 4, config, seed=2), sample(group, 4, config, seed=3)
    gh, ginv = group.compose(g, h), group.inverse(g)
    for rep in _reps(group):
        assert close(rep.matrix(gh), rep.matrix(g) @ rep.matrix(h)), rep
        assert close(rep.matrix(ginv) @ rep.matrix(g), torch.eye(rep.dim).expand(4, -1, -1))


@pytest.mark.parametrize("group", [SO3xSN, Rotation(2) * Permutation()], ids=repr)
def test_lie_matrices_generate_the_finite_matrices(group) -> None:
    """rho(exp(s X)) = matrix_exp(s rho(X)): Kronecker sums and block sums are right."""
    s = torch.tensor([0.7], dtype=torch.float64)
    for rep in _reps(group):
        for name in group.generator_names():
            g = group.exp(name, s, (3, group.dim))
            assert close(rep.matrix(g)[0], torch.linalg.matrix_exp(s * rep.lie(name))), (rep, name)


def test_sum_and_tensor_matrices() -> None:
    G = SO3xSN
    V, P = Vector(G), PermRep(G, 3)
    g = sample(G, 1, (3, 3))
    R, Pm = V.discrete(g), P.discrete(g)
    assert close((V + P).discrete(g), torch.block_diag(R, Pm))
    assert close((P * V).discrete(g), torch.kron(Pm, R))
    X = V.lie("rotation_y")
    assert close(
        (V * V).lie("rotation_y"), torch.kron(X, torch.eye(3)) + torch.kron(torch.eye(3), X)
    )
    name, cycle = G.discrete_generators((3, 3))[1]
    assert name == "cycle" and torch.equal(P.discrete(cycle), torch.eye(3)[[1, 2, 0]].double())


# ------------------------------------------------------------ one vocabulary
def test_a_rep_is_a_kind() -> None:
    """A rep acts through Group.act like any kind, and agrees with the flattened kinds."""
    from symnet.groups import as_kind

    G = Rotation(3) * Permutation()
    P, V = PermRep(G, 4), Vector(G)
    assert as_kind(P * V).name == "rep" and str(as_kind(V)) == "rep V"
    g = sample(G, 3, (4, 3))
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    flat = G.act(g, x.reshape(3, 12), P * V)
    assert close(flat, G.act(g, x, "vector").reshape(3, 12))
    gen = G.generators((4, 3))[0]
    assert close(G.act_infinitesimal(gen, x.reshape(3, 12), P * V),
                 G.act_infinitesimal(gen, x, "vector").reshape(3, 12))  # fmt: skip


def test_old_import_paths_warn() -> None:
    import symnet.groups as groups

    with pytest.warns(DeprecationWarning, match="symnet.groups.Vector"):
        from symnet.nn import Vector as OldVector
    assert OldVector is groups.Vector
    with pytest.warns(DeprecationWarning, match="symnet.groups.PermRep"):
        from symnet.nn.reps import PermRep as OldPermRep
    assert OldPermRep is groups.PermRep
