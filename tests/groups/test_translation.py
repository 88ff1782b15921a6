import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from symnet.groups import Translation

from ._helpers import (
    SETTINGS,
    assert_close,
    batches,
    check_axioms,
    check_generators,
    kinds_for,
    particles,
    random_x,
    seeds,
)

dims = st.integers(min_value=1, max_value=5)


@pytest.mark.parametrize(
    ("dim", "names"),
    [
        (1, ["translation_x"]),
        (2, ["translation_x", "translation_y"]),
        (3, ["translation_x", "translation_y", "translation_z"]),
        (4, ["translation_0", "translation_1", "translation_2", "translation_3"]),
    ],
)
def test_generator_names(dim, names):
    T = Translation(dim)
    assert T.generator_names() == names
    gens = T.generators((3, dim))
    assert [g.name for g in gens] == names
    assert all(g.group is T and g.tau == 0.0 and not g.has_boundary for g in gens)
    assert not T.discrete and T.discrete_generators((3, dim)) == []


@SETTINGS
@given(dim=dims, n=batches, N=particles, seed=seeds)
def test_group_axioms(dim, n, N, seed):
    check_axioms(Translation(dim), (N, dim), n, seed)


@SETTINGS
@given(dim=dims, n=batches, N=particles, seed=seeds)
def test_finite_action_agrees_with_generators(dim, n, N, seed):
    check_generators(Translation(dim), (N, dim), n, seed)


def test_xi_is_the_unit_field():
    q = torch.randn(4, 3, 2, dtype=torch.float64)
    gx, gy = Translation(2).generators((3, 2))
    assert_close(gx.xi(q), torch.tensor([1.0, 0.0], dtype=torch.float64).expand_as(q))
    assert_close(gy(q, torch.ones(4)), torch.tensor([0.0, 1.0], dtype=torch.float64).expand_as(q))


def test_acts_on_points_only():
    T = Translation(3)
    gen = torch.Generator().manual_seed(0)
    a = T.sample(2, (4, 3), gen)
    for kind in kinds_for(T):
        x = random_x(kind, 2, (4, 3), gen)
        y = T.act(a, x, kind)
        if kind == "point":
            assert_close(y, x + a[:, None, None, :])
        else:
            assert_close(y, x)
            assert y.data_ptr() != x.data_ptr()  # a fresh tensor, never x itself


def test_exp_and_elements():
    T = Translation(3)
    s = torch.tensor([0.5, -2.0], dtype=torch.float64)
    a = T.exp("translation_y", s, (2, 3))
    assert_close(a, torch.tensor([[0.0, 0.5, 0.0], [0.0, -2.0, 0.0]], dtype=torch.float64))
    assert T.identity(3, (2, 3)).shape == (3, 3)
    assert T.identity(3, (2, 3)).dtype == torch.float64


def test_sample_distribution_and_seed():
    T = Translation(3, scale=2.0)
    a = T.sample(4000, (2, 3), torch.Generator().manual_seed(1))
    assert a.shape == (4000, 3) and a.dtype == torch.float64
    # the std of the sample std of 12000 normals is about 2 / sqrt(24000) = 0.013
    assert abs(float(a.std()) - 2.0) < 0.06
    assert abs(float(a.mean())) < 0.06
    b = T.sample(4000, (2, 3), torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_repr_and_equality():
    assert repr(Translation(3)) == "Translation(3)"
    assert Translation(3) == Translation(3) and Translation(3) != Translation(2)
    assert hash(Translation(2)) == hash(Translation(2))


def test_bad_input():
    T = Translation(3)
    with pytest.raises(ValueError, match=r"expected configuration shape \(N, 3\), got \(4, 2\)"):
        T.generators((4, 2))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        T.generators((4,))
    with pytest.raises(TypeError, match="config_shape"):
        T.generators(None)
    with pytest.raises(ValueError, match="dim"):
        Translation(0)
    with pytest.raises(ValueError, match="scale"):
        Translation(3, scale=-1.0)
    with pytest.raises(ValueError, match=r"x of kind point .* d = 3"):
        T.act(T.sample(1, (2, 3)), torch.zeros(1, 2, 2), "point")
    with pytest.raises(ValueError, match="no generator 'rotation_x'"):
        T.exp("rotation_x", torch.zeros(1), (2, 3))
    with pytest.raises(ValueError, match=r"s must have shape \(n,\)"):
        T.exp("translation_x", torch.tensor(1.0), (2, 3))
    with pytest.raises(TypeError, match="element of Translation"):
        T.act([[1.0, 2.0, 3.0]], torch.zeros(1, 2, 3), "point")
