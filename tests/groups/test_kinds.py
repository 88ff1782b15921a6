import pytest
import torch
from e3nn import o3

from symnet.groups import KIND_NAMES, Kind, Rotation, as_kind, irreps_kind
from symnet.groups.kinds import check_layout


def test_kind_names():
    assert KIND_NAMES == (
        "point", "vector", "axial", "scalar", "pseudoscalar", "global", "time", "label", "index",
        "constant",
    )  # fmt: skip
    for name in KIND_NAMES:
        k = as_kind(name)
        assert k == Kind(name) and str(k) == name
    axis = [True, True, True, True, False, False, False, True, False, False]
    assert [as_kind(n).particle_axis for n in KIND_NAMES] == axis


def test_constant_kind_is_left_alone():
    from symnet.groups import Permutation, Translation

    G = Translation(3) * Rotation(3) * Permutation()
    edges = torch.tensor([[0, 1, 2], [1, 2, 0]])
    g = G.sample(1, (3, 3), rng=0)
    assert torch.equal(G.act(g, edges, "constant"), edges)
    assert torch.equal(
        G.act_infinitesimal("rotation_x", edges, "constant"), torch.zeros_like(edges)
    )
    with pytest.raises(ValueError, match="kind constant must be an integer"):
        G.act(g, edges.double(), "constant")


def test_irreps_kinds():
    k = as_kind("1x0e + 1x1o")
    assert k.name == "irreps" and k.irreps == o3.Irreps("1x0e+1x1o") and not k.per_particle
    assert as_kind(o3.Irreps("2x1e")) == Kind("irreps", o3.Irreps("2x1e"))
    assert str(k) == "irreps(1x0e+1x1o)" and not k.particle_axis
    p = irreps_kind("1x1o", per_particle=True)
    assert p.per_particle and p.particle_axis and str(p) == "irreps(1x1o, per particle)"
    assert as_kind(p) is p
    assert hash(as_kind("1o")) == hash(as_kind("1x1o"))


@pytest.mark.parametrize("bad", ["pointt", "Point", "", "1x1o +", "vectors"])
def test_unknown_kind_string(bad):
    with pytest.raises(ValueError, match=r"kind must be one of 'point', 'vector'.*got"):
        as_kind(bad)


def test_kind_of_wrong_type():
    with pytest.raises(TypeError, match="kind must be a kind name .* got int"):
        as_kind(3)
    with pytest.raises(TypeError, match="in_kind must be"):
        as_kind(None, name="in_kind")


@pytest.mark.parametrize(
    ("kind", "shape", "match"),
    [
        ("point", (4, 3), r"x of kind point must have shape \(n, \.\.\., N, d\), got \(4, 3\)"),
        ("vector", (2, 4, 2), r"has last dimension 2, but the group acts in d = 3"),
        ("scalar", (5, 2), r"x of kind scalar must have shape \(n, \.\.\., N, C\)"),
        ("global", (), r"x of kind global must have shape \(n, \.\.\., C\)"),
        ("time", (), r"x of kind time must have shape \(n, \.\.\.\)"),
        ("1x1o", (2, 4), r"irreps\(1x1o\) must have shape \(n, \.\.\., dim\) with dim = 3"),
        (
            irreps_kind("1x1o", per_particle=True),
            (2, 3),
            r"must have shape \(n, \.\.\., N, dim\) with dim = 3, got \(2, 3\)",
        ),
    ],
)
def test_layout_errors(kind, shape, match):
    with pytest.raises(ValueError, match=match):
        check_layout(as_kind(kind), torch.zeros(shape), "x", 3)


def test_layouts_accepted():
    for kind, shape in [
        ("point", (2, 4, 3)),
        ("point", (2, 5, 4, 3)),
        ("scalar", (2, 4, 1)),
        ("global", (2,)),
        ("time", (2,)),
        ("1x1o", (2, 3)),
        (irreps_kind("1x1o", per_particle=True), (2, 4, 3)),
    ]:
        check_layout(as_kind(kind), torch.zeros(shape), "x", 3)


def test_act_accepts_every_kind_form():
    R = Rotation(3)
    g = R.sample(2, (1, 3), torch.Generator().manual_seed(0))
    x = torch.randn(2, 3, dtype=torch.float64)
    want = torch.einsum("nij,nj->ni", g, x)
    for kind in ("1x1o", o3.Irreps("1x1o"), as_kind("1x1o")):
        torch.testing.assert_close(R.act(g, x, kind), want, rtol=1e-12, atol=1e-12)
