import pytest
import torch
from hypothesis import given

from symnet.groups import (
    Boost,
    Generator,
    Permutation,
    ProductGroup,
    Rotation,
    TimeShift,
    Translation,
)

from ._helpers import (
    FEW,
    SETTINGS,
    assert_close,
    batches,
    check_axioms,
    check_generators,
    particles,
    random_x,
    seeds,
)


def _masses(N):
    return torch.linspace(1.0, 2.0, N, dtype=torch.float64)


# name -> (factory of the group for N particles, d)
PRODUCTS = {
    "E3xSN": (lambda N: Translation(3) * Rotation(3) * Permutation(), 3),
    "RxT": (lambda N: Rotation(3) * Translation(3), 3),
    "E2": (lambda N: Translation(2) * Rotation(2), 2),
    "RxBxTime": (lambda N: Rotation(3) * Boost(3, _masses(N)) * TimeShift(), 3),
    "Galilei2xSN": (
        lambda N: Translation(2) * Rotation(2) * Boost(2, _masses(N)) * TimeShift() * Permutation(),
        2,
    ),
    "SNxTime": (lambda N: Permutation() * TimeShift(), 3),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@FEW
@given(n=batches, N=particles, seed=seeds)
def test_group_axioms(name, n, N, seed):
    factory, d = PRODUCTS[name]
    check_axioms(factory(N), (N, d), n, seed)


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@FEW
@given(n=batches, N=particles, seed=seeds)
def test_finite_action_agrees_with_generators(name, n, N, seed):
    factory, d = PRODUCTS[name]
    check_generators(factory(N), (N, d), n, seed)


def homogeneous(R, a):
    """(d+1) x (d+1) matrices [[R, a], [0, 1]] of the affine maps x -> R x + a."""
    n, d, _ = R.shape
    M = torch.zeros(n, d + 1, d + 1, dtype=torch.float64)
    M[:, :d, :d], M[:, :d, d], M[:, d, d] = R, a, 1.0
    return M


@SETTINGS
@given(seed=seeds, n=batches)
def test_euclidean_group_is_the_semidirect_product(seed, n):
    gen = torch.Generator().manual_seed(seed)
    TR, RT = Translation(3) * Rotation(3), Rotation(3) * Translation(3)
    g, h = TR.sample(n, (2, 3), gen), TR.sample(n, (2, 3), gen)
    # (a, R) acts as x -> R x + a: composition is the product of affine matrices
    (a, R) = TR.compose(g, h)
    assert_close(homogeneous(R, a), homogeneous(g[1], g[0]) @ homogeneous(h[1], h[0]))
    x = random_x("point", n, (2, 3), gen)
    assert_close(
        TR.act(g, x, "point"), torch.einsum("nij,nmkj->nmki", g[1], x) + g[0][:, None, None]
    )
    # (R, a) acts as x -> R (x + a)
    g2, h2 = (g[1], g[0]), (h[1], h[0])
    (R, a) = RT.compose(g2, h2)
    Ra = torch.einsum("nij,nj->ni", R, a)
    want = homogeneous(g2[0], torch.einsum("nij,nj->ni", *g2)) @ homogeneous(
        h2[0], torch.einsum("nij,nj->ni", *h2)
    )
    assert_close(homogeneous(R, Ra), want)
    assert_close(
        RT.act(g2, x, "point"), torch.einsum("nij,nmkj->nmki", g2[0], x + g2[1][:, None, None])
    )


def test_boost_is_rotated_past_rotations():
    G = Rotation(3) * Boost(3) * TimeShift()
    gen = torch.Generator().manual_seed(4)
    g, h = G.sample(3, (2, 3), gen), G.sample(3, (2, 3), gen)
    R, u, s = G.compose(g, h)
    assert_close(R, g[0] @ h[0])
    assert_close(u, torch.einsum("nji,nj->ni", h[0], g[1]) + h[1])  # R2^T u1 + u2
    assert_close(s, g[2] + h[2])


def test_repr_and_structure():
    G = Translation(3) * Rotation(3) * Permutation()
    assert repr(G) == "Translation(3) x Rotation(3) x Permutation()"
    assert G.name == "translation x rotation x permutation"
    assert isinstance(G, ProductGroup) and G.dim == 3 and not G.discrete
    assert G.factors == (Translation(3), Rotation(3), Permutation())
    assert repr(Rotation(3) * Translation(3)) == "Rotation(3) x Translation(3)"
    assert repr(Rotation(3) * Boost(3, 2.0) * TimeShift()) == (
        "Rotation(3) x Boost(3, masses=2) x TimeShift()"
    )
    H = Permutation() * TimeShift()
    assert H.dim is None and not H.discrete


def test_product_is_associative_and_flat():
    T, R, P = Translation(3), Rotation(3), Permutation()
    left, right = (T * R) * P, T * (R * P)
    assert left == right and repr(left) == repr(right)
    assert hash(left) == hash(right)
    assert len(left.factors) == 3
    assert ProductGroup(T * R, P) == left
    assert left != R * T * P


def test_generators_in_factor_order():
    G = Translation(3) * Rotation(3) * Permutation()
    names = [g.name for g in G.generators((4, 3))]
    assert names == [
        "translation_x",
        "translation_y",
        "translation_z",
        "rotation_x",
        "rotation_y",
        "rotation_z",
    ]
    assert G.generator_names() == names
    assert [g.group for g in G.generators((4, 3))] == [Translation(3)] * 3 + [Rotation(3)] * 3
    G2 = Rotation(3) * Boost(3, 1.0) * TimeShift()
    assert G2.generator_names() == [
        "rotation_x",
        "rotation_y",
        "rotation_z",
        "boost_x",
        "boost_y",
        "boost_z",
        "time",
    ]


def test_discrete_generators_are_embedded():
    G = Translation(3) * Rotation(3) * Permutation()
    gens = G.discrete_generators((4, 3))
    assert [name for name, _ in gens] == ["transposition_01", "cycle"]
    for _, (a, R, p) in gens:
        assert_close(a, torch.zeros(1, 3, dtype=torch.float64))
        assert_close(R, torch.eye(3, dtype=torch.float64)[None])
        assert p.shape == (1, 4)
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    assert_close(G.act(gens[0][1], x, "point"), x[:, [1, 0, 2, 3]])


def test_exp_embeds_and_accepts_generators():
    G = Translation(2) * Rotation(2)
    s = torch.tensor([0.5, 1.0], dtype=torch.float64)
    a, R = G.exp("rotation", s, (3, 2))
    assert_close(a, torch.zeros(2, 2, dtype=torch.float64))
    assert_close(R, Rotation(2).exp("rotation", s, (3, 2)))
    gen = G.generators((3, 2))[0]
    a, R = G.exp(gen, s, (3, 2))
    assert_close(a, torch.tensor([[0.5, 0.0], [1.0, 0.0]], dtype=torch.float64))
    q = torch.randn(2, 3, 2, dtype=torch.float64)
    assert_close(G.act_infinitesimal(gen, q, "point"), gen.xi(q))


def test_check_config_checks_every_factor():
    G = Translation(3) * Rotation(3) * Permutation()
    assert G.check_config([4, 3]) == (4, 3)
    with pytest.raises(ValueError, match=r"Translation\(3\) acts on particles in 3 dimensions"):
        G.generators((4, 2))
    with pytest.raises(ValueError, match=r"expected configuration shape \(N, 3\)"):
        G.sample(2, (12,))
    G2 = Rotation(3) * Boost(3, torch.ones(3)) * TimeShift()
    with pytest.raises(ValueError, match="3 masses but the configuration has N = 4"):
        G2.generators((4, 3))


def test_bad_products():
    with pytest.raises(ValueError, match=r"repeated: \['Translation'\]"):
        Translation(3) * Rotation(3) * Translation(3)
    with pytest.raises(ValueError, match=r"repeated: \['Rotation'\]"):
        (Rotation(3) * Translation(3)) * (Rotation(3) * Permutation())
    with pytest.raises(ValueError, match=r"different dimensions \[2, 3\]"):
        Translation(2) * Rotation(3)
    with pytest.raises(ValueError, match=r"different dimensions"):
        Rotation(3) * Boost(2)
    with pytest.raises(ValueError, match="at least two"):
        ProductGroup(Rotation(3))
    with pytest.raises(TypeError, match="factors must be groups"):
        ProductGroup(Rotation(3), "translation")
    with pytest.raises(TypeError):
        Rotation(3) * 2


def test_bad_elements():
    G = Translation(3) * Rotation(3)
    g = G.sample(2, (4, 3))
    x = torch.zeros(2, 4, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match="is a tuple of 2 factor elements, got Tensor"):
        G.act(g[1], x, "point")
    with pytest.raises(TypeError, match="is a tuple of 2 factor elements"):
        G.compose(g, g[:1])
    with pytest.raises(ValueError, match=r"batch sizes \[2, 3\]"):
        G.act((g[0], Rotation(3).sample(3, (4, 3))), x, "point")
    with pytest.raises(ValueError, match="batch size 2 but x has leading dimension 5"):
        G.act(g, torch.zeros(5, 4, 3), "point")
    with pytest.raises(ValueError, match="cannot compose element batches of sizes 2 and 3"):
        G.compose(g, G.sample(3, (4, 3)))
    with pytest.raises(ValueError, match=r"has no generator 'boost_x'.*translation_x"):
        G.exp("boost_x", torch.zeros(1), (4, 3))
    with pytest.raises(ValueError, match="has no generator 'custom'"):
        G.act_infinitesimal(Generator("custom", lambda q: q), x, "point")
