"""The parity kinds: ``axial`` (pseudovectors) and ``pseudoscalar`` (global or per particle)."""

from __future__ import annotations

import pytest
import torch
from torch.func import jvp

from symnet.groups import (
    Boost,
    Generator,
    Kind,
    OneParameterGroup,
    Permutation,
    Reflection,
    Rotation,
    TimeShift,
    Translation,
    as_kind,
)
from symnet.groups.kinds import check_layout

from ._helpers import assert_close

P = torch.tensor([-1.0], dtype=torch.float64)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_kind_objects():
    assert as_kind("axial") == Kind("axial") and str(as_kind("axial")) == "axial"
    ps = Kind("pseudoscalar", per_particle=True)
    assert str(ps) == "pseudoscalar(per particle)" and ps.particle_axis and ps.particle_dim == -2
    assert not as_kind("pseudoscalar").particle_axis
    assert as_kind("axial").particle_axis


def test_rotations_move_axial_vectors_like_vectors_and_keep_pseudoscalars():
    R = Rotation(3).sample(4, (2, 3), rng=0)
    v = randn(4, 2, 3)
    assert torch.equal(Rotation(3).act(R, v, "axial"), Rotation(3).act(R, v, "vector"))
    s = randn(4, 2)
    assert torch.equal(Rotation(3).act(R, s, "pseudoscalar"), s)
    for name in Rotation(3).generator_names():
        assert torch.equal(
            Rotation(3).act_infinitesimal(name, v, "axial"),
            Rotation(3).act_infinitesimal(name, v, "vector"),
        )
        assert not Rotation(3).act_infinitesimal(name, s, "pseudoscalar").any()


def test_reflections_flip_pseudoscalars_and_keep_the_sign_of_axial_vectors():
    for d in (2, 3):
        v, s = randn(1, 4, d), randn(1, 2)
        M = Reflection(d).orthogonal_matrix(P)[0]
        assert_close(Reflection(d).act(P, v, "axial"), -(v @ M.T), what="det(P) P v")
        assert torch.equal(Reflection(d).act(P, s, "pseudoscalar"), -s)
        per = Kind("pseudoscalar", per_particle=True)
        assert torch.equal(Reflection(d).act(P, randn(1, 4, 2), per), -randn(1, 4, 2))


def test_shifts_leave_parity_kinds_alone():
    v, s = randn(2, 3, 3), randn(2, 2)
    for G, g in (
        (Translation(3), randn(2, 3)),
        (Boost(3, 1.0), randn(2, 3)),
        (TimeShift(), randn(2)),
    ):
        assert torch.equal(G.act(g, v, "axial"), v)
        assert torch.equal(G.act(g, s, "pseudoscalar"), s)


def test_permutations_permute_axial_and_per_particle_pseudoscalars():
    sigma = torch.tensor([[2, 0, 1]])
    v, s = randn(1, 3, 3), randn(1, 3, 2)
    assert torch.equal(Permutation().act(sigma, v, "axial"), v[:, [2, 0, 1]])
    per = Kind("pseudoscalar", per_particle=True)
    assert torch.equal(Permutation().act(sigma, s, per), s[:, [2, 0, 1]])
    assert torch.equal(Permutation().act(sigma, s[:, 0], "pseudoscalar"), s[:, 0])


def test_linear_one_parameter_groups_use_the_determinant():
    """``E = exp(s A)`` with a trace: axial ``det(E) E v``, pseudoscalar ``det(E) x``."""
    A = torch.tensor([[0.1, -1.0, 0.0], [1.0, 0.2, 0.0], [0.0, 0.0, 0.3]], dtype=torch.float64)
    G = OneParameterGroup(Generator.linear("spiral", A))
    s = torch.tensor([0.7], dtype=torch.float64)
    v, x = randn(1, 2, 3), randn(1, 2)
    E = torch.linalg.matrix_exp(0.7 * A)
    det = torch.linalg.det(E)
    assert_close(G.act(s, v, "axial"), det * v @ E.T, what="axial")
    assert_close(G.act(s, x, "pseudoscalar"), det * x, what="pseudoscalar")
    for kind, y in (("axial", v), ("pseudoscalar", x)):
        zero = torch.zeros(1, dtype=torch.float64)
        tangent = jvp(lambda t, k=kind, y=y: G.act(t, y, k), (zero,), (torch.ones(1).double(),))[1]
        assert_close(tangent, G.act_infinitesimal("spiral", y, kind), what=f"{kind} tangent")
    flow = OneParameterGroup(Generator("f", lambda q: q**2))
    assert not flow.supports_kind(as_kind("axial"))
    assert not flow.supports_kind(as_kind("pseudoscalar"))


def test_layout_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"v of kind axial must have shape \(n, \.\.\., N, d\)"):
        check_layout(as_kind("axial"), torch.zeros(2, 3), "v")
    with pytest.raises(ValueError, match=r"has last dimension 2.*d = 3"):
        Rotation(3).act(torch.eye(3)[None].double(), torch.zeros(1, 2, 2), "axial")
    with pytest.raises(
        ValueError, match=r"s of kind pseudoscalar must have shape \(n, \.\.\., C\)"
    ):
        check_layout(as_kind("pseudoscalar"), torch.zeros(()), "s")
    per = Kind("pseudoscalar", per_particle=True)
    with pytest.raises(
        ValueError, match=r"pseudoscalar\(per particle\) must have shape \(n, \.\.\., N"
    ):
        check_layout(per, torch.zeros(2, 3), "s")
