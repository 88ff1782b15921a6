"""Reps of O(d) = Rotation(d) * Reflection(d) work with the symmetry assertions."""

from __future__ import annotations

import pytest
import torch

from symnet.groups import Reflection, Rotation, Scalar, Vector
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

O3 = Rotation(3) * Reflection(3)
V = Vector(O3)


def _x() -> torch.Tensor:
    return torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_a_dot_product_of_two_vectors_is_o3_invariant() -> None:
    report = assert_invariant(lambda x: (x[..., :3] * x[..., 3:]).sum(-1), O3, (_x(),), (2 * V,))
    assert report.passed


def test_a_cross_product_is_only_so3_equivariant() -> None:
    def cross(x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.cross(x[..., :3], x[..., 3:])

    assert assert_equivariant(
        cross, Rotation(3), (_x(),), (2 * Vector(Rotation(3)),), Vector(Rotation(3))
    ).passed
    with pytest.raises(SymmetryAssertionError):
        assert_equivariant(cross, O3, (_x(),), (2 * V,), V)
    assert Scalar(O3).dim == 1
