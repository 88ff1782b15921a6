"""Symmetrization wrappers: the unwrapped model fails each check, the wrapped one passes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from symnet.groups import Permutation, Rotation, Translation
from symnet.nn import Centered, FrameAveraged, GroupAveraged
from symnet.testing import assert_equivariant, assert_invariant

SN = Permutation()
SE3 = Translation(3) * Rotation(3)
DTYPES = [torch.float32, torch.float64]
KLEIN = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


class FlatMLP(nn.Module):
    """An MLP on the flattened ``(N, C)`` input: no symmetry at all."""

    def __init__(self, shape_in: tuple[int, ...], shape_out: tuple[int, ...], seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        n_in, n_out = math.prod(shape_in), math.prod(shape_out)
        self.net = nn.Sequential(nn.Linear(n_in, 32), nn.SiLU(), nn.Linear(32, n_out))
        self.shape_out = shape_out

    def forward(self, x):
        return self.net(x.flatten(-2)).reshape(*x.shape[:-2], *self.shape_out)


class RadialScale(nn.Module):
    """``x_i (1 + |x_i|^2)``: rotation and permutation equivariant, not translation."""

    def forward(self, x):
        return x * (1 + x.pow(2).sum(-1, keepdim=True))


class TwoHeads(nn.Module):
    """``(x, v) -> (model(x), model(v))``: two inputs, two outputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x, v):
        return self.model(x), self.model(v)


def fails(check, *args, **kwargs) -> None:
    with pytest.raises(AssertionError, match="is not"):
        check(*args, **kwargs)


# ------------------------------------------------------------------------ Centered
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_centered_invariant(dtype) -> None:
    T = Translation(3)
    model, q = FlatMLP((4, 3), (2,)), randn(3, 4, 3)
    fails(assert_invariant, model, T, q, "point", dtype=dtype)
    assert_invariant(Centered(model, "point"), T, q, "point", dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_centered_equivariant(dtype) -> None:
    T = Translation(3)
    model, q = FlatMLP((4, 3), (4, 3)), randn(3, 4, 3)
    fails(assert_equivariant, model, T, q, "point", "point", dtype=dtype)
    assert_equivariant(Centered(model, "point", "point"), T, q, "point", "point", dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_centered_keeps_rotations_and_permutations(dtype) -> None:
    G = Translation(3) * Rotation(3) * Permutation()
    q = randn(3, 5, 3)
    fails(assert_equivariant, RadialScale(), G, q, "point", "point", dtype=dtype)
    assert_equivariant(Centered(RadialScale(), "point", "point"), G, q, "point", "point",
                       dtype=dtype)  # fmt: skip


def test_centered_leaves_other_kinds_alone() -> None:
    def model(x, v, s):
        return x * v.pow(2).sum(-1, keepdim=True) + v, s.sum(-2)

    wrapped = Centered(model, ("point", "vector", "scalar"), ("point", "global"))
    q, v, s = randn(2, 4, 3), randn(2, 4, 3, seed=1), randn(2, 4, 1, seed=2)
    assert_equivariant(wrapped, Translation(3) * Rotation(3), (q, v, s),
                       ("point", "vector", "scalar"), ("point", "global"))  # fmt: skip
    assert "in=(point, vector, scalar), out=(point, global)" in repr(wrapped)
    with pytest.raises(ValueError, match="kind 'point'"):
        Centered(model, ("vector", "scalar"))
    with pytest.raises(ValueError, match="in_kinds has 3 kind"):
        wrapped(q, v)


# ------------------------------------------------------------------- GroupAveraged
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_group_averaged_invariant(dtype) -> None:
    model, x = FlatMLP((4, 1), (2,)), randn(3, 4, 1)
    fails(assert_invariant, model, SN, x, "scalar", dtype=dtype)
    assert_invariant(GroupAveraged(model, SN, "scalar"), SN, x, "scalar", dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_group_averaged_equivariant(dtype) -> None:
    model, x = FlatMLP((4, 2), (4, 2)), randn(3, 4, 2)
    fails(assert_equivariant, model, SN, x, "scalar", "scalar", dtype=dtype)
    wrapped = GroupAveraged(model, SN, "scalar", "scalar")
    assert_equivariant(wrapped, SN, x, "scalar", "scalar", dtype=dtype)


def test_group_averaged_over_the_klein_four_group() -> None:
    """Averaging over a subgroup H of S_4 gives H-invariance, not S_4-invariance."""
    model = FlatMLP((4, 1), (1,)).double()
    wrapped = GroupAveraged(model, SN, "scalar", elements=KLEIN)
    x = randn(5, 4, 1).double()
    y = wrapped(x)
    for g in KLEIN:
        assert torch.allclose(wrapped(SN.act(g[None], x, "scalar")), y, rtol=0, atol=1e-14)
    fails(assert_invariant, wrapped, SN, x, "scalar")
    assert "elements=4" in repr(wrapped)


def test_group_averaged_over_a_finite_rotation_group() -> None:
    """C4 (quarter turns about z) as explicit elements of Rotation(3)."""
    R = Rotation(3)
    c4 = R.exp("rotation_z", torch.arange(4, dtype=torch.float64) * math.pi / 2, (1, 3))
    model = FlatMLP((4, 3), (4, 3)).double()
    wrapped = GroupAveraged(model, R, "point", "point", elements=c4)
    q = randn(2, 4, 3).double()
    quarter = c4[1:2]
    turned = wrapped(R.act(quarter, q, "point"))
    assert torch.allclose(turned, R.act(quarter, wrapped(q), "point"), atol=1e-12)
    assert not torch.allclose(model(R.act(quarter, q, "point")), R.act(quarter, model(q), "point"))


def test_group_averaged_errors_and_helpers() -> None:
    assert Permutation().elements((3, 2)).shape == (6, 3)
    assert len({tuple(p) for p in Permutation().elements((4, 1)).tolist()}) == 24
    with pytest.warns(DeprecationWarning, match="Permutation"):
        from symnet.nn import all_permutations
    assert torch.equal(all_permutations(3), Permutation().elements((3, 2)))
    with pytest.raises(ValueError, match="elements="):
        GroupAveraged(FlatMLP((4, 3), (1,)), Rotation(3), "point")
    big = GroupAveraged(FlatMLP((8, 1), (1,)), SN, "scalar")
    with pytest.raises(ValueError, match="too expensive"):
        big(randn(1, 8, 1))


# ------------------------------------------------------------------- FrameAveraged
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_frame_averaged_invariant(dtype) -> None:
    model, q = FlatMLP((5, 3), (2,)), randn(3, 5, 3)
    fails(assert_invariant, model, SE3, q, "point", dtype=dtype)
    assert_invariant(FrameAveraged(model, "point"), SE3, q, "point", dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_frame_averaged_equivariant(dtype) -> None:
    q = randn(3, 5, 3)
    points = FlatMLP((5, 3), (5, 3))
    fails(assert_equivariant, points, SE3, q, "point", "point", dtype=dtype)
    assert_equivariant(FrameAveraged(points, "point", "point"), SE3, q, "point", "point",
                       dtype=dtype)  # fmt: skip
    both = FrameAveraged(TwoHeads(points), ("point", "vector"), ("point", "vector"))
    v = randn(3, 5, 3, seed=1)
    assert_equivariant(both, SE3, (q, v), ("point", "vector"), ("point", "vector"), dtype=dtype)


def test_frame_averaged_in_two_dimensions() -> None:
    SE2 = Translation(2) * Rotation(2)
    model, q = FlatMLP((6, 2), (6, 2)), randn(3, 6, 2)
    wrapped = FrameAveraged(model, "point", "point")
    assert wrapped.frames(q)[0].shape == (2, 3, 2, 2)
    assert_equivariant(wrapped, SE2, q, "point", "point")


def test_frames() -> None:
    q = randn(4, 6, 3).double()
    R, c = FrameAveraged(FlatMLP((6, 3), (1,)), "point").frames(q)
    assert R.shape == (4, 4, 3, 3) and c.shape == (4, 1, 3)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(R.transpose(-1, -2) @ R, eye.expand_as(R), atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(4, 4, dtype=torch.float64))
    O3 = FrameAveraged(FlatMLP((6, 3), (1,)), "point", improper=True)
    R8, _ = O3.frames(q)
    assert R8.shape == (8, 4, 3, 3)
    assert sorted(torch.linalg.det(R8[:, 0]).round().tolist()) == [-1.0] * 4 + [1.0] * 4


def test_improper_frames_add_reflections() -> None:
    model = FlatMLP((5, 3), (2,)).double()
    q = randn(3, 5, 3).double()
    mirror = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    o3 = FrameAveraged(model, "point", improper=True)
    so3 = FrameAveraged(model, "point")
    assert torch.allclose(o3(q * mirror), o3(q), atol=1e-12)
    assert not torch.allclose(so3(q * mirror), so3(q), atol=1e-6)
    assert_invariant(o3, SE3, q, "point")
    assert "O(d), center=True" in repr(o3)


def test_uncentered_frames_are_rotation_invariant_only() -> None:
    model, q = FlatMLP((5, 3), (2,)), randn(3, 5, 3)
    wrapped = FrameAveraged(model, "point", center=False)
    assert_invariant(wrapped, Rotation(3), q, "point")
    fails(assert_invariant, wrapped, Translation(3), q, "point")


def test_frame_averaged_errors() -> None:
    with pytest.raises(ValueError, match="'point' or 'vector'"):
        FrameAveraged(FlatMLP((5, 3), (2,)), "scalar")
    with pytest.raises(ValueError, match="point or vector input"):
        FrameAveraged(FlatMLP((5, 3), (2,)), ("point", "scalar"), frame_input=1)
