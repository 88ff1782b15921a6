"""An e3nn point-cloud model checked with irreps kinds; the wrong irreps fail."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3
from e3nn.math import soft_one_hot_linspace
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn

from symnet.groups import Permutation, Rotation, Translation, irreps_kind
from symnet.groups.utils import default_dtype
from symnet.testing import assert_equivariant

IRREPS_OUT = "0e + 1o + 2e"
G = Translation(3) * Rotation(3) * Permutation()


class _PointCloud(nn.Module):
    """Points (B, N, 3) -> per-particle irreps (B, N, 9): SH x radial weights, a Gate, twice."""

    def __init__(self, irreps_out: str = IRREPS_OUT) -> None:
        super().__init__()
        self.sh = o3.Irreps.spherical_harmonics(2)
        self.gate = Gate("4x0e", [torch.tanh], "2x0e", [torch.sigmoid], "1x1o + 1x2e")
        self.tp1 = o3.FullyConnectedTensorProduct(
            "0e", self.sh, self.gate.irreps_in, shared_weights=False
        )
        self.tp2 = o3.FullyConnectedTensorProduct(
            self.gate.irreps_out, self.sh, irreps_out, shared_weights=False
        )
        self.fc1 = FullyConnectedNet([6, 8, self.tp1.weight_numel], torch.tanh)
        self.fc2 = FullyConnectedNet([6, 8, self.tp2.weight_numel], torch.tanh)

    def forward(self, x):
        n = x.shape[-2]
        j = torch.arange(n).expand(n, n)[~torch.eye(n, dtype=torch.bool)].reshape(n, n - 1)
        i = torch.arange(n)[:, None].expand(n, n - 1)
        rel = x[..., j, :] - x[..., i, :]
        y = o3.spherical_harmonics(self.sh, rel, normalize=True, normalization="component")
        dist = (rel * rel).sum(-1).sqrt()
        emb = soft_one_hot_linspace(dist, 0.0, 4.0, 6, basis="gaussian", cutoff=False)
        h = self.gate(self.tp1(x.new_ones(y.shape[:-1] + (1,)), y, self.fc1(emb)).mean(-2))
        return self.tp2(h[..., j, :], y, self.fc2(emb)).mean(-2)


def _points(dtype=torch.float64):
    return 1.5 * torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0), dtype=dtype)


@pytest.fixture(scope="module")
def model64():
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        return _PointCloud()


def test_float64_model_is_equivariant(model64):
    out = irreps_kind(IRREPS_OUT, per_particle=True)
    report = assert_equivariant(model64, G, _points(), "point", out, n_samples=2)
    assert report.max_error < 1e-12
    pooled = assert_equivariant(
        lambda x: model64(x).mean(-2), Rotation(3), _points(), "point", IRREPS_OUT, n_samples=2
    )
    assert pooled.max_error < 1e-12


def test_float32_model_checked_in_float32():
    torch.manual_seed(1)
    model = _PointCloud()
    out = irreps_kind(IRREPS_OUT, per_particle=True)
    x = _points(torch.float32)
    assert_equivariant(model, G, x, "point", out, dtype=torch.float32, n_samples=2)


@pytest.mark.parametrize("wrong", ["0e + 2e + 1o", "9x0e", "3x0e + 2x1o"])
def test_wrong_irreps_fail(model64, wrong):
    out = irreps_kind(wrong, per_particle=True)  # the right dimension, the wrong representation
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(
            model64, Rotation(3), _points(), "point", out, n_samples=1, check_generators=False
        )


def test_wrong_irreps_fail_the_generator_check(model64):
    out = irreps_kind("0e + 2e + 1o", per_particle=True)
    with pytest.raises(AssertionError, match="rotation_"):
        assert_equivariant(model64, Rotation(3), _points(), "point", out, check_elements=False)
