"""The integer kinds: ``label`` (per-particle types, particle axis -1) and ``index``."""

from __future__ import annotations

import pytest
import torch

from symnet.groups import (
    Boost,
    Kind,
    Permutation,
    Reflection,
    Rotation,
    TimeShift,
    Translation,
    as_kind,
)
from symnet.groups.kinds import check_layout
from symnet.groups.utils import euclidean_group

SIGMA = torch.tensor([[2, 0, 3, 1], [1, 2, 3, 0]])


def test_kind_objects():
    label, index = as_kind("label"), as_kind("index")
    assert label == Kind("label") and label.particle_axis and label.particle_dim == -1
    assert not index.particle_axis and index.particle_dim == -2
    assert label.integer and index.integer and as_kind("constant").integer
    assert not as_kind("point").integer


@pytest.mark.parametrize("dtype", [torch.long, torch.int32, torch.bool, torch.float64])
def test_labels_are_permuted_along_the_last_axis(dtype):
    z = torch.tensor([[[1, 6, 8, 1], [0, 1, 1, 0]], [[7, 7, 1, 6], [1, 0, 0, 1]]]).to(dtype)
    out = Permutation().act(SIGMA, z, "label")  # (n, 2, N): an extra middle axis
    assert out.dtype == dtype and out.shape == z.shape
    for b in range(2):
        assert torch.equal(out[b], z[b][:, SIGMA[b]])
    x = torch.randn(2, 4, 3, dtype=torch.float64)  # labels move with the points
    moved = Permutation().act(SIGMA, x, "point")
    assert torch.equal(moved[0, 0], x[0, 2]) and torch.equal(out[0, 0, 0], z[0, 0, 2])


def test_index_values_are_relabelled_so_edges_join_the_same_particles():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 3, generator=gen, dtype=torch.float64)
    edges = torch.tensor(
        [[[0, 1, 2, 3, -1], [1, 2, 3, 0, -1]], [[0, 0, 2, -1, 3], [3, 1, 1, -1, 2]]]
    )
    x2 = Permutation().act(SIGMA, x, "point")
    e2 = Permutation().act(SIGMA, edges, "index")
    assert e2.dtype == edges.dtype and torch.equal(e2 < 0, edges < 0)  # padding stays
    valid = edges >= 0
    for b in range(2):
        for k in range(edges.shape[-1]):
            if valid[b, 0, k]:
                for end in (0, 1):  # the same particle (the same coordinates) at each end
                    assert torch.equal(x2[b, e2[b, end, k]], x[b, edges[b, end, k]])
    # sigma then its inverse restores the indices
    back = Permutation().act(Permutation().inverse(SIGMA), e2, "index")
    assert torch.equal(back, edges)


def test_product_with_permutations_acts_consistently():
    G = euclidean_group(3, reflections=True)
    g = G.sample(2, (4, 3), rng=1)
    z = torch.tensor([[1, 6, 8, 1], [7, 7, 1, 6]])
    e = torch.tensor([[[0, 1], [1, 2]], [[3, 0], [2, 2]]])
    assert torch.equal(G.act(g, z, "label"), Permutation().act(g[-1], z, "label"))
    assert torch.equal(G.act(g, e, "index"), Permutation().act(g[-1], e, "index"))
    assert torch.equal(G.act_infinitesimal("rotation_x", z, "label"), torch.zeros_like(z))


@pytest.mark.parametrize(
    "group,g",
    [
        (Rotation(3), torch.eye(3, dtype=torch.float64)[None]),
        (Translation(3), torch.ones(1, 3, dtype=torch.float64)),
        (Reflection(3), torch.tensor([-1.0], dtype=torch.float64)),
        (Boost(3, 1.0), torch.ones(1, 3, dtype=torch.float64)),
        (TimeShift(), torch.ones(1, dtype=torch.float64)),
    ],
)
def test_other_groups_leave_labels_and_indices_alone(group, g):
    z = torch.tensor([[1, 6, 8, 1]])
    e = torch.tensor([[[0, 1], [1, 2]]])
    for x, kind in ((z, "label"), (e, "index"), (z.double(), "label")):
        out = group.act(g, x, kind)
        assert torch.equal(out, x) and out.dtype == x.dtype and out is not x
    for name in group.generator_names():
        assert torch.equal(group.act_infinitesimal(name, z, "label"), torch.zeros_like(z))
        assert torch.equal(group.act_infinitesimal(name, e, "index"), torch.zeros_like(e))


def test_errors_name_the_argument_and_what_was_expected():
    with pytest.raises(TypeError, match="z of kind index must be an integer tensor"):
        check_layout(as_kind("index"), torch.zeros(2, 3), "z")
    with pytest.raises(TypeError, match="z of kind index must be an integer tensor"):
        check_layout(as_kind("index"), torch.zeros(2, 3, dtype=torch.bool), "z")
    with pytest.raises(TypeError, match="z of kind label must be an integer, boolean or floating"):
        check_layout(as_kind("label"), torch.zeros(2, 3, dtype=torch.complex64), "z")
    with pytest.raises(ValueError, match=r"z of kind label must have shape \(n, \.\.\., N\)"):
        check_layout(as_kind("label"), torch.zeros(3, dtype=torch.long), "z")
    with pytest.raises(ValueError, match=r"e of kind index must have shape \(n, \.\.\., E\)"):
        check_layout(as_kind("index"), torch.zeros(3, dtype=torch.long), "e")
    with pytest.raises(ValueError, match="holds particle index 7, but the permutations act on 4"):
        Permutation().act(SIGMA, torch.tensor([[0, 7], [1, 2]]), "index")
    with pytest.raises(ValueError, match=r"permutations of 4 particles cannot act on x with 3"):
        Permutation().act(SIGMA, torch.zeros(2, 3, dtype=torch.long), "label")
