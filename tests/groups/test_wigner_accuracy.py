"""Wigner D matrices accurate to round-off for every rotation (issue 13, item 8).

The old route (e3nn's Euler angles, made pole-safe by a pre-rotation) still
met torch's float64 ``matrix_exp``, which picks its Taylor degree from the
largest norm in the batch: a single rotation (a batch of one, as the symmetry
assertions act) with an Euler angle of about 0.005 to 0.05 lost four to five
digits (8e-11 on the rotations below, one at a time). :func:`symnet.groups.wigner.wigner_d` uses no
angles and no exponential, so it is accurate everywhere, the poles included.
"""

from __future__ import annotations

import math

import pytest
import torch
from e3nn import o3

from symnet.groups import Rotation
from symnet.groups.rotation import so_basis
from symnet.groups.utils import default_dtype
from symnet.groups.wigner import irreps_lie, parity_signs, wigner_d

TOL = 1e-14
IRREPS = ["1o", "1e", "2e", "0e + 1o + 2e + 3o"]


def haar(n: int, seed: int) -> torch.Tensor:
    return Rotation(3).sample(n, (1, 3), rng=seed)


def pole_rotations(seed: int) -> torch.Tensor:
    """Rotations whose e3nn Euler angle beta is 0, pi, or 1e-8 away, and tiny angles."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for beta in (0.0, 1e-8, -1e-8, math.pi, math.pi - 1e-8, math.pi + 1e-8, 0.02, 0.04):
        a, g = (2 * math.pi * torch.rand(2, 64, generator=gen, dtype=torch.float64)).unbind()
        b = torch.full_like(a, beta)
        out.append(o3.angles_to_matrix(a, b, g))
    small = torch.tensor([1e-3, 5e-3, 0.01, 0.02, 0.03, 0.05], dtype=torch.float64)
    for axis in so_basis(3)[1]:
        out.append(torch.linalg.matrix_exp(small[:, None, None] * axis))
    return torch.cat(out)


def err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


@pytest.fixture(scope="module")
def rotations() -> tuple[torch.Tensor, torch.Tensor]:
    R1 = torch.cat([haar(10_000, 1), pole_rotations(0)])
    R2 = torch.cat([haar(10_000, 2), pole_rotations(1).flip(0)])
    return R1, R2


@pytest.mark.parametrize("irreps", IRREPS)
def test_homomorphism_and_orthogonality_to_round_off(irreps, rotations):
    R1, R2 = rotations
    D1, D2, D12 = wigner_d(irreps, R1), wigner_d(irreps, R2), wigner_d(irreps, R1 @ R2)
    assert D1.dtype == torch.float64 and D1.shape == (R1.shape[0], *(2 * [o3.Irreps(irreps).dim]))
    assert err(D12, D1 @ D2) < TOL
    eye = torch.eye(D1.shape[-1], dtype=torch.float64)
    assert err(D1 @ D1.transpose(-1, -2), eye) < TOL
    assert err(wigner_d(irreps, R1.transpose(-1, -2)), D1.transpose(-1, -2)) < TOL


def test_one_rotation_at_a_time():
    """Batches of one (how the assertions act), at the poles and at small Euler angles."""
    irreps = "0e + 1o + 2e + 3o"
    R = torch.cat([haar(100, 6), pole_rotations(2)])
    g = haar(1, 7)
    Dg = wigner_d(irreps, g)
    worst_vector, worst_product = 0.0, 0.0
    for r in R:
        D = wigner_d(irreps, r[None])
        worst_vector = max(worst_vector, err(D[0, 1:4, 1:4], r))  # e3nn's 1o is (x, y, z)
        worst_product = max(worst_product, err(wigner_d(irreps, g @ r[None]), Dg @ D))
    assert worst_vector < TOL and worst_product < TOL


def test_vector_irrep_is_the_rotation_matrix(rotations):
    R1, _ = rotations
    for irreps in ("1o", "1e"):
        D = wigner_d(irreps, R1)
        with default_dtype(torch.float64):
            Q = o3.Irrep("1o").D_from_matrix(torch.eye(3, dtype=torch.float64))
        assert err(D, Q @ R1 @ Q.T) < TOL  # R itself, in e3nn's basis of l = 1


@pytest.mark.parametrize("irreps", IRREPS)
def test_agrees_with_e3nn_where_e3nn_is_accurate(irreps):
    """Euler angles in [0.5, 2.5]: far from the pole and from torch's inaccurate matrix_exp."""
    gen = torch.Generator().manual_seed(3)
    angles = 0.5 + 2.0 * torch.rand(3, 500, generator=gen, dtype=torch.float64)
    with default_dtype(torch.float64):
        R = o3.angles_to_matrix(*angles)
        want = o3.Irreps(irreps).D_from_matrix(R)
        want_improper = o3.Irreps(irreps).D_from_matrix(-R)
    assert err(wigner_d(irreps, R), want) < 1e-13
    assert err(wigner_d(irreps, -R), want_improper) < 1e-13


def test_improper_matrices_act_with_parity():
    R = haar(64, 4)
    irreps = "0e + 0o + 1o + 1e + 2e + 2o"
    p = parity_signs(irreps)
    assert p.tolist() == [1, -1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1]
    assert err(wigner_d(irreps, -R), p[:, None] * wigner_d(irreps, R)) == 0.0
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    D = wigner_d(irreps, R @ mirror)  # an improper matrix that is not -R
    assert err(D, wigner_d(irreps, R) @ wigner_d(irreps, mirror[None])) < TOL


def test_lie_algebra_is_the_derivative():
    irreps = "0e + 1o + 2e + 3o"
    for A in so_basis(3)[1]:
        X = irreps_lie(irreps, A)
        assert err(X, -X.T) < TOL
        for s in (1e-3, 0.7, -2.1):
            R = torch.linalg.matrix_exp(torch.tensor(s, dtype=torch.float64) * A)[None]
            want = torch.linalg.matrix_exp(s * X)
            assert err(wigner_d(irreps, R)[0], want) < 1e-12  # matrix_exp's own accuracy


def test_float32_and_bad_shape():
    R = haar(8, 5)
    D32 = wigner_d("2e", R.float())
    assert D32.dtype == torch.float32
    assert err(D32.double(), wigner_d("2e", R)) < 1e-5
    with pytest.raises(ValueError, match=r"R must have shape \(n, 3, 3\)"):
        wigner_d("1o", R[0])
