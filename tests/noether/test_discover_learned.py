"""``discover`` on learned-looking and learned Lagrangians: approximate symmetries.

A model that is only approximately symmetric must come out with its
symmetries marked approximate, each with its relative singular value, clearly
separated from the non-symmetries; exact ones (time, for a model without a
time input) stay at round-off.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import symnet.noether as nt
from symnet.mechanics import lagrangian_vector_field
from symnet.systems import IsotropicOscillator

SYSTEM = IsotropicOscillator()


class Perturbed(nn.Module):
    """The isotropic oscillator plus ``eps`` times a random MLP of the raw positions."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.eps = eps
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return SYSTEM.lagrangian(q, v) + self.eps * self.net(q.reshape(q.shape[0], -1))[:, 0]


class SeparableMLP(nn.Module):
    """``L = |v|^2 / 2 - V(q)`` with ``V`` an MLP of the raw (not invariant) positions."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.V = nn.Sequential(
            nn.Linear(2, width), nn.Softplus(), nn.Linear(width, width), nn.Softplus(),
            nn.Linear(width, 1),
        )  # fmt: skip

    def forward(self, q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return 0.5 * (v**2).sum((-1, -2)) - self.V(q.reshape(q.shape[0], -1))[:, 0]


def _states(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return SYSTEM.sample_states(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("eps", [1e-4, 1e-3])
def test_perturbed_symmetry_is_approximate(eps: float) -> None:
    q, v = _states(200, 0)
    found = nt.discover(Perturbed(eps), q, v)
    assert found.names == ["rotation", "time"], str(found)
    rel = found.relative["rotation"]
    assert 1e-3 * eps < rel < eps  # proportional to the perturbation, far above round-off
    assert found.relative_singular_values[-2] < rel  # the idealized rotation vs the nullspace
    assert found.relative["time"] == 0.0  # the model has no time input: exact
    assert found.gap > 1e2
    text = str(found)
    assert "approximate" in text and "exact" in text
    # without the perturbation it is exact again
    exact = nt.discover(Perturbed(0.0), q, v)
    assert exact.relative["rotation"] < 1e-12 and exact.gap > 1e6


def test_relative_singular_value_scales_with_the_perturbation() -> None:
    q, v = _states(200, 0)
    small, large = (nt.discover(Perturbed(eps), q, v).relative["rotation"] for eps in (1e-4, 1e-2))
    assert large / small == pytest.approx(100.0, rel=0.05)


def test_large_perturbation_is_no_symmetry() -> None:
    q, v = _states(200, 0)
    found = nt.discover(Perturbed(10.0), q, v)
    assert found.names == ["time"]
    assert found.relative_singular_values[-2] > 0.05  # the rotation, now above max_relative


@pytest.mark.slow
def test_trained_separable_lnn_learns_rotation_approximately() -> None:
    torch.manual_seed(0)
    model = SeparableMLP()
    field = lagrangian_vector_field(model)
    q, v = (x.float() for x in _states(1024, 1))
    a = SYSTEM.acceleration(q.double(), v.double()).float()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(2)
    for _ in range(150):
        idx = torch.randint(0, q.shape[0], (128,), generator=gen)
        loss = ((field(q[idx], v[idx]) - a[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.05
    qs, vs = _states(300, 3)
    found = nt.discover(model, qs, vs)
    assert found.names == ["rotation", "time"], str(found)
    assert 1e-6 < found.relative["rotation"] < 0.05  # learned, approximately
    assert found.gap >= 10
