"""Parity: symnet tells a vector (1o) from a pseudovector (1e) under O(3) (issue 13, item 1).

Each mistake e3nn's own ``assert_equivariant`` catches -- an output declared
with the wrong parity, a cross product declared a vector, an input declared
with the wrong parity -- fails under ``Rotation(3) * Reflection(3)`` with a
message naming the ``reflection`` element, and its corrected version passes.
"""

from __future__ import annotations

import pytest
import torch
from e3nn import o3

from symnet.groups import Reflection, Rotation, Translation
from symnet.groups.utils import default_dtype
from symnet.nn import EGNN, EGNNConv
from symnet.testing import assert_equivariant, assert_invariant

O3 = Rotation(3) * Reflection(3)


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def fails_at_reflection(*args, check=assert_equivariant, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        check(*args, **kwargs)
    message = str(info.value)
    assert "reflection" in message and "FAIL" in message, message
    return message


def linear(irreps_in: str, irreps_out: str) -> o3.Linear:
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        return o3.Linear(irreps_in, irreps_out)


def test_a_e3nn_output_declared_1e_but_really_1o():
    layer, x = linear("2x1o", "1o"), randn(4, 6)
    assert assert_equivariant(layer, Rotation(3), x, "2x1o", "1e").passed  # SO(3) cannot tell
    fails_at_reflection(layer, O3, x, "2x1o", "1e")
    assert assert_equivariant(layer, O3, x, "2x1o", "1o").passed


def cross(q: torch.Tensor) -> torch.Tensor:
    """``q_0 x q_1`` of ``q`` (B, 2, 3), shape (B, 1, 3)."""
    return torch.linalg.cross(q[:, 0], q[:, 1])[:, None]


def cross_irreps(x: torch.Tensor) -> torch.Tensor:
    """The cross product of two ``1o`` vectors packed as ``2x1o`` (B, 6), in e3nn's basis."""
    with default_dtype(torch.float64):
        tp = o3.FullyConnectedTensorProduct("1o", "1o", "1e", internal_weights=False)
    a, b = x[:, :3], x[:, 3:]
    w = torch.ones(tp.weight_numel, dtype=x.dtype)
    return tp(a, b, w)


def test_b_cross_product_is_axial_not_a_vector():
    q = randn(4, 2, 3, seed=1)
    fails_at_reflection(cross, O3, q, "vector", "vector")
    assert assert_equivariant(cross, O3, q, "vector", "axial").passed
    x = randn(4, 6, seed=2)
    fails_at_reflection(cross_irreps, O3, x, "2x1o", "1o")
    assert assert_equivariant(cross_irreps, O3, x, "2x1o", "1e").passed


def test_c_input_declared_with_the_wrong_parity():
    layer, x = linear("1e", "1e"), randn(4, 3, seed=3)
    fails_at_reflection(layer, O3, x, "1o", "1e")
    assert assert_equivariant(layer, O3, x, "1e", "1e").passed


def triple(q: torch.Tensor) -> torch.Tensor:
    """The chiral triple product ``q_0 . (q_1 x q_2)``, shape (B, 1)."""
    return (q[:, 0] * torch.linalg.cross(q[:, 1], q[:, 2])).sum(-1, keepdim=True)


def test_d_chiral_function_is_so3_invariant_but_o3_pseudoscalar():
    q = randn(4, 3, 3, seed=4)
    assert assert_invariant(triple, Rotation(3), q, "vector").passed
    fails_at_reflection(triple, O3, q, "vector", check=assert_invariant)
    assert assert_equivariant(triple, O3, q, "vector", "pseudoscalar").passed
    per_particle = O3 * Translation(3)  # points: relative vectors only
    fails_at_reflection(
        lambda p: triple(p - p[:, 3:]), per_particle, randn(4, 4, 3), "point", "global"
    )


@pytest.mark.parametrize("d", [2, 3])
def test_e_egnn_is_equivariant_under_e_d_with_reflections(d):
    G = Translation(d) * Rotation(d) * Reflection(d)
    torch.manual_seed(0)
    model = EGNN(in_features=4, hidden=8, out_features=3, n_layers=2, dim=d).double()
    h, x = randn(2, 5, 4, seed=5), randn(2, 5, d, seed=6)
    assert assert_equivariant(model, G, (h, x), ("scalar", "point"), ("scalar", "point")).passed
    assert Reflection(d) in model.group.factors  # and it declares them

    def chiral(h, x):  # a handed push along the normal of the first three particles
        h2, x2 = model(h, x)
        e1, e2 = x[..., 1, :] - x[..., 0, :], x[..., 2, :] - x[..., 0, :]
        if d == 3:
            normal = torch.linalg.cross(e1, e2)
        else:  # the 2D "cross product" is a pseudoscalar: rotate e1 by 90 degrees times it
            normal = (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0])[..., None] * e1
        return h2, x2 + 0.1 * normal[..., None, :]

    message = fails_at_reflection(chiral, G, (h, x), ("scalar", "point"), ("scalar", "point"))
    assert "discrete" in message


@pytest.mark.parametrize("d", [2, 3])
def test_e_egnn_conv_is_equivariant_under_e_d_with_reflections(d):
    G = Translation(d) * Rotation(d) * Reflection(d)
    torch.manual_seed(0)
    conv = EGNNConv(4, 8, 3, dim=d).double()
    h, pos = randn(2, 5, 4, seed=7), randn(2, 5, d, seed=8)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 2]])
    kinds = ("scalar", "point", "constant")
    assert assert_equivariant(conv, G, (h, pos, edge_index), kinds, ("scalar", "point")).passed
    assert conv.group == G
