"""The periodic Yukawa (screened Coulomb) fluid: energies, forces, shifts, arguments."""

from __future__ import annotations

import pytest
import torch
from torch.func import grad, vmap

from symnet import mechanics
from symnet import systems as S
from symnet.groups import PeriodicBox, Rotation, Translation

F64 = torch.float64


def reference_potential(system: S.Yukawa, q: torch.Tensor) -> torch.Tensor:
    """O(N^2) minimum-image sum of the cut-and-shifted Yukawa potential, written out."""
    L = system.box.lengths.to(q)
    dx = q[:, None, :, :] - q[:, :, None, :]
    dx = dx - L * torch.round(dx / L)
    N = q.shape[1]
    iu = torch.triu_indices(N, N, 1)
    r = dx.norm(dim=-1)[:, iu[0], iu[1]]
    A, k, rc = system.strength, system.kappa, system.cutoff

    def phi(x):
        return A * torch.exp(-k * x) / x

    rcs = torch.tensor(rc, dtype=q.dtype)
    e = phi(r) - phi(rcs)
    if system.shift == "force":
        dphi = -A * torch.exp(-k * rcs) * (k * rcs + 1) / rcs**2
        e = e - (r - rc) * dphi
    return torch.where(r < rc, e, torch.zeros_like(e)).sum(-1)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("shift", ["energy", "force"])
def test_energy_and_forces_equal_the_all_pairs_reference(shift):
    sys = S.Yukawa(216, box=PeriodicBox([8.0, 8.5, 9.0]), cutoff=3.5, kappa=1.2, shift=shift)
    q, v = sys.sample_states(2, rng=4)
    q = q + 0.3 * torch.randn(q.shape, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert rel(sys.potential(q), reference_potential(sys, q)) < 1e-13
    x = q.clone().requires_grad_(True)
    F_ref = -torch.autograd.grad(reference_potential(sys, x).sum(), x)[0]
    a = sys.acceleration(q, v)
    assert rel(a * sys.m, F_ref) < 1e-12
    assert float(a.sum(1).abs().max()) < 1e-13
    f = vmap(grad(lambda y: -sys.potential(y[None]).sum()))(q)
    assert rel(f, F_ref) < 1e-12
    moved = q + torch.tensor([8.0, -17.0, 9.0], dtype=F64) * (torch.arange(216) % 2)[:, None]
    assert rel(sys.potential(moved), sys.potential(q)) < 1e-13


def test_shifts_at_the_cutoff():
    r = torch.tensor([2.0 - 1e-7, 2.0 - 1e-9, 2.0, 2.5], dtype=F64)
    energy = S.Yukawa(32, box=6.0, cutoff=2.0, shift="energy").pair_potential(r)
    force = S.Yukawa(32, box=6.0, cutoff=2.0).pair_potential(r)
    assert float(energy[1].abs()) < 1e-9 and float(energy[2:].abs().max()) == 0.0
    assert float(force[1].abs()) < 1e-15 and float(force[2:].abs().max()) == 0.0
    # slope at r_c: phi'(r_c) < 0 for the energy shift, zero for the force shift
    assert float((energy[1] - energy[0]) / 1e-7) < -0.01
    assert abs(float((force[1] - force[0]) / 1e-7)) < 1e-6


def test_momentum_and_energy_along_leapfrog():
    sys = S.Yukawa(108, box=8.0, cutoff=3.0, kappa=1.0, strength=2.0)
    q, v = sys.sample_states(1, rng=2)
    errs = []
    for dt in (0.01, 0.005):
        with torch.no_grad():
            tr = mechanics.rollout(
                sys.acceleration, q, v, dt=dt, steps=round(0.2 / dt), method="leapfrog"
            )
            E = sys.energy(tr.q[:, 0], tr.v[:, 0])
        P = tr.v.sum(2)
        assert float((P - P[0]).abs().max()) < 1e-12
        errs.append(float((E - E[0]).abs().max()))
    assert 3.4 < errs[0] / errs[1] < 4.6, errs  # second order


def test_declarations_states_and_repr():
    sys = S.Yukawa(32, box=6.0, cutoff=2.5)
    assert sys.shift == "force" and sys.temperature == 1.0
    assert sys.symmetries[0] == Translation(3, box=sys.box) and sys.broken == [Rotation(3)]
    q, v = sys.sample_states(3, rng=0)
    assert torch.allclose(sys.temperature_of(v), torch.ones(3, dtype=F64), rtol=1e-13, atol=0)
    assert float(v.sum(1).abs().max()) < 1e-13
    assert repr(S.Yukawa(32, box=6.0, cutoff=2.5, kappa=2.0)) == (
        "Yukawa(N=32, box=PeriodicBox([6.0, 6.0, 6.0]), cutoff=2.5, kappa=2, strength=1, "
        "mass=1, skin=0.3, temperature=1, shift='force')"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cutoff": 3.5}, "cutoff"),
        ({"cutoff": -1.0}, "cutoff"),
        ({"kappa": 0.0}, "kappa"),
        ({"strength": -1.0}, "strength"),
        ({"mass": float("inf")}, "mass"),
        ({"shift": "none"}, "shift"),
        ({"N": 0}, "N"),
        ({"box": 0.0}, "box"),
    ],
)
def test_bad_arguments_name_them(kwargs, match):
    args = {"N": 32, "box": 6.0, "cutoff": 2.5} | kwargs
    with pytest.raises(ValueError, match=match):
        S.Yukawa(**args)
