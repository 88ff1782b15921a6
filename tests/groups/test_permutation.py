import math
from itertools import permutations

import pytest
import torch
from hypothesis import given

from symnet.groups import Permutation, Rotation, irreps_kind

from ._helpers import SETTINGS, assert_close, batches, check_axioms, particles, seeds

# 1% critical values of the chi-square distribution (scipy.stats.chi2.ppf(0.99, df)).
CHI2_99 = {5: 15.086, 23: 41.638}


def closure(generators):
    """All products of the given permutations (tuples), by breadth-first search."""
    n = len(generators[0])
    identity = tuple(range(n))
    seen, frontier = {identity}, [identity]
    P = Permutation()
    while frontier:
        new = []
        for p in frontier:
            for g in generators:
                q = tuple(P.compose(torch.tensor([g]), torch.tensor([p]))[0].tolist())
                if q not in seen:
                    seen.add(q)
                    new.append(q)
        frontier = new
    return seen


def test_is_discrete():
    P = Permutation()
    assert P.discrete and P.name == "permutation"
    assert P.generator_names() == [] and P.generators((4, 3)) == []
    with pytest.raises(ValueError, match="no continuous generators"):
        P.exp("permutation", torch.zeros(1), (4, 3))
    with pytest.raises(ValueError, match="no generator"):
        P.act_infinitesimal("permutation", torch.zeros(1, 4, 3), "point")


@pytest.mark.parametrize("N", [3, 4, 5])
def test_discrete_generators_generate_the_symmetric_group(N):
    gens = Permutation().discrete_generators((N, 2))
    assert [name for name, _ in gens] == ["transposition_01", "cycle"]
    assert all(g.shape == (1, N) and g.dtype == torch.long for _, g in gens)
    swap, cycle = (g[0].tolist() for _, g in gens)
    assert swap == [1, 0, *range(2, N)]
    assert cycle == [*range(1, N), 0]
    if N <= 4:
        assert len(closure([tuple(swap), tuple(cycle)])) == math.factorial(N)


def test_two_particles_have_one_generator():
    gens = Permutation().discrete_generators((2, 3))
    assert [name for name, _ in gens] == ["transposition_01"]
    assert Permutation().discrete_generators((1, 3)) == []


@SETTINGS
@given(n=batches, N=particles, seed=seeds)
def test_group_axioms(n, N, seed):
    check_axioms(Permutation(), (N, 3), n, seed)


def test_action_convention():
    # x'[i] = x[perm[i]] on the particle axis -2, for every particle-carrying kind
    P = Permutation()
    g = torch.tensor([[2, 0, 1]])
    x = torch.arange(6.0, dtype=torch.float64).reshape(1, 3, 2)
    want = x[:, [2, 0, 1], :]
    for kind in ("point", "vector", "scalar", irreps_kind("2x0e", per_particle=True)):
        assert_close(P.act(g, x, kind), want)
    assert_close(P.act(g, x, "global"), x)
    assert_close(P.act(g, x, "2x0e"), x)  # not per particle: invariant
    # compose(g, h) acts as h first, then g
    h = torch.tensor([[1, 0, 2]])
    assert_close(P.act(P.compose(g, h), x, "point"), P.act(g, P.act(h, x, "point"), "point"))


def test_commutes_with_rotations_on_per_particle_irreps():
    kind = irreps_kind("1x1o + 1x2e", per_particle=True)
    gen = torch.Generator().manual_seed(0)
    p = Permutation().sample(3, (4, 3), gen)
    R = Rotation(3).sample(3, (4, 3), gen)
    x = torch.randn(3, 4, 8, generator=gen, dtype=torch.float64)
    P, Rot = Permutation(), Rotation(3)
    assert_close(P.act(p, Rot.act(R, x, kind), kind), Rot.act(R, P.act(p, x, kind), kind))


@pytest.mark.parametrize(("N", "n"), [(3, 3000), (4, 4800)])
def test_sample_is_uniform(N, n):
    g = Permutation().sample(n, (N, 1), torch.Generator().manual_seed(11))
    assert g.shape == (n, N) and g.dtype == torch.long
    assert torch.equal(torch.sort(g, dim=1).values, torch.arange(N).expand(n, N))
    index = {p: i for i, p in enumerate(permutations(range(N)))}
    counts = torch.zeros(len(index))
    for row in g.tolist():
        counts[index[tuple(row)]] += 1
    expected = n / len(index)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < CHI2_99[len(index) - 1], chi2


def test_repr():
    assert repr(Permutation()) == "Permutation()"


def test_bad_input():
    P = Permutation()
    with pytest.raises(ValueError, match=r"expected configuration shape \(N, d\), got \(5,\)"):
        P.generators((5,))
    with pytest.raises(ValueError, match=r"got \(5,\)"):
        P.sample(2, (5,))
    g = P.sample(2, (4, 3))
    with pytest.raises(ValueError, match="permutations of 4 particles cannot act on x with 3"):
        P.act(g, torch.zeros(2, 3, 3), "point")
    with pytest.raises(ValueError, match="batch size 2 but x has leading dimension 5"):
        P.act(g, torch.zeros(5, 4, 3), "point")
    with pytest.raises(ValueError, match=r"x of kind scalar must have shape \(n, \.\.\., N, C\)"):
        P.act(g, torch.zeros(2, 4), "scalar")
    with pytest.raises(TypeError, match="long index tensor"):
        P.act(g.double(), torch.zeros(2, 4, 3), "point")
    with pytest.raises(ValueError, match="cannot compose permutations of 4 and 3 particles"):
        P.compose(g, P.sample(2, (3, 3)))
