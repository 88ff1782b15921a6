"""The checker on Lorentz and symplectic symmetries: exact charges conserved, mutants broken.

A relativistic free particle in affine parametrisation, ``L = (m/2) eta(xdot, xdot)``
(plus a potential of ``eta(x, x)``), conserves all six Lorentz charges; a
potential of ``|x_spatial|`` alone breaks the boosts and keeps the rotations.
An isotropic well on ``R^{2n}`` conserves exactly the u(n) generators of Sp(2n, R).
"""

from __future__ import annotations

import pytest
import torch

import symnet.noether as nt
from symnet.groups import Lorentz, Symplectic

ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))
RUN = {"dt": 0.02, "steps": 16, "compile": False}


def _states(d: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(3, 1, d, generator=g, dtype=torch.float64)
    return q, torch.randn(3, 1, d, generator=g, dtype=torch.float64)


def _minkowski(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bi,ij,bj->b", a[:, 0], ETA.to(a), b[:, 0])


def free_particle(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return 0.5 * 1.3 * _minkowski(v, v)


def invariant_well(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    s = _minkowski(q, q)
    return free_particle(q, v) - 0.2 * s / (1 + s**2)


def spatial_well(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The mutant: a potential of ``|x_spatial|`` only (a preferred frame)."""
    return free_particle(q, v) - 0.3 * (q[:, 0, 1:] ** 2).sum(-1)


def test_free_particle_conserves_all_six_lorentz_charges() -> None:
    q, v = _states(4)
    for L in (free_particle, invariant_well):
        report = nt.check(L, Lorentz(), q, v, **RUN)
        assert set(report.verdicts.values()) == {"conserved"}, str(report)
        assert len(report.verdicts) == 6
        assert [report.row(n).charge for n in ("boost_x", "rotation_z")] == ["K_x", "L_z"]
        assert max(report.row(n).invariance_error for n in report.verdicts) < 1e-12


def time_well(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The mutant: a potential of ``x^0`` only."""
    return free_particle(q, v) - 0.3 * torch.cos(q[:, 0, 0])


@pytest.mark.parametrize("mutant", [spatial_well, time_well])
def test_a_preferred_frame_breaks_the_boosts_and_keeps_the_rotations(mutant) -> None:
    q, v = _states(4, seed=1)
    report = nt.check(mutant, Lorentz(proper=True), q, v, **RUN)
    assert report.verdicts == {
        "boost_x": "broken", "boost_y": "broken", "boost_z": "broken",
        "rotation_x": "conserved", "rotation_y": "conserved", "rotation_z": "conserved",
    }, str(report)  # fmt: skip


def test_isotropic_well_conserves_exactly_the_unitary_part_of_sp() -> None:
    G = Symplectic(2)

    def well(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        r2 = (q[:, 0] ** 2).sum(-1)
        return 0.5 * (v[:, 0] ** 2).sum(-1) - 0.5 * r2 - 0.1 * r2**2

    q, v = _states(4, seed=2)
    report = nt.check(well, G, q, v, **RUN)
    compact = set(G.compact_generator_names())
    assert compact == {"phase_0", "phase_1", "phase_01", "rot_01"}
    want = {n: "conserved" if n in compact else "broken" for n in G.generator_names()}
    assert report.verdicts == want, str(report)
