"""``discover_hamiltonian``: conserved charges, point and hidden (Runge-Lenz, Fradkin)."""

from __future__ import annotations

import math
from functools import cache

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S

KEPLER = S.Kepler(m=1.5, k=2.0)
OSCILLATOR = S.IsotropicOscillator(m=2.0, k=2.0)
KEPLER_FAMILIES = ("affine", "quadratic", "cubic", "radial")


def _states(system: S.System, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    q, v = system.sample_states(n, torch.Generator().manual_seed(seed))
    return q, system.momentum(q, v)


@cache
def _kepler() -> nt.ChargeDiscovery:
    return nt.discover_hamiltonian(KEPLER.hamiltonian, *_states(KEPLER, 240), KEPLER_FAMILIES)


@cache
def _oscillator() -> nt.ChargeDiscovery:
    return nt.discover_hamiltonian(OSCILLATOR.hamiltonian, *_states(OSCILLATOR, 120))


def test_kepler_angular_momentum_and_runge_lenz() -> None:
    found = _kepler()
    assert found.names == ["L_x", "L_y", "L_z", "runge_lenz_x", "runge_lenz_y", "runge_lenz_z"]
    assert found.gap >= 1e6, str(found)
    for c in found:
        assert c.relative_singular_value < 1e-12 and c.bracket_error < 1e-12
    # A = p x L - m k x / |x| with m k = 3
    assert found["runge_lenz_x"].formula == "(x|p|^2 - p_x (x.p)) - 3 x/|x|"
    q, p = _states(KEPLER, 5, seed=7)
    A = torch.stack([found[f"runge_lenz_{a}"](q, p) for a in "xyz"], dim=-1)
    assert torch.allclose(A, KEPLER.runge_lenz(q, p), atol=1e-12, rtol=0)
    Lz = found["L_z"](q, p)
    assert torch.allclose(Lz, KEPLER.angular_momentum(q, p)[:, 2], atol=1e-13, rtol=0)
    assert [g.name for g in found.generators] == ["rotation_x", "rotation_y", "rotation_z"]


def test_kepler_poisson_algebra() -> None:
    alg = _kepler().algebra
    lines = alg.lines()
    assert "{L_x, L_y} = L_z" in lines
    assert "{L_x, runge_lenz_y} = runge_lenz_z" in lines
    # {A_x, A_y} = -2 m H L_z: a function of H, not in the span of the charges
    assert any(line.startswith("{runge_lenz_x, runge_lenz_y} = (not in the span") for line in lines)
    assert not alg.closes


def test_default_families_miss_the_runge_lenz_vector() -> None:
    found = nt.discover_hamiltonian(KEPLER.hamiltonian, *_states(KEPLER, 120))
    assert found.names == ["L_x", "L_y", "L_z"]
    assert found.gap >= 1e6


def test_oscillator_fradkin_tensor() -> None:
    found = _oscillator()
    assert found.names == ["L", "fradkin_xx", "fradkin_xy", "fradkin_yy"]
    assert found.gap >= 1e6
    # F_ab = p_a p_b / m + k q_a q_b, normalized to a unit p_a p_b coefficient: m k = 4
    assert found["fradkin_xy"].formula == "p_x*p_y + 4 x*y"
    assert found.algebra.closes  # u(2)
    assert "{fradkin_xx, fradkin_xy} = 8 L" in found.algebra.lines()
    assert "Lie algebra of dimension 4" in str(found)


def test_anisotropic_oscillator_has_mode_energies_only() -> None:
    system = S.AnisotropicOscillator()
    found = nt.discover_hamiltonian(system.hamiltonian, *_states(system, 120))
    assert found.names == ["fradkin_xx", "fradkin_yy"]  # the energies of the two modes


def test_two_body_spring_momenta_and_products() -> None:
    system = S.TwoBodySpring()
    found = nt.discover_hamiltonian(system.hamiltonian, *_states(system, 200))
    names = found.names
    assert names[:6] == ["P_x", "P_y", "P_z", "L_x", "L_y", "L_z"]
    assert {"P_x^2", "P_x*P_y", "P_z^2"} <= set(names)
    assert found.gap >= 1e6


def test_check_charges_along_trajectories() -> None:
    found = _kepler()
    q, p = _states(KEPLER, 3, seed=2)
    report = found.check(q, p, dt=0.02, steps=20, method="leapfrog")
    assert report.all_conserved, str(report)
    assert report.form == "hamiltonian"
    assert report.charges["runge_lenz_z"].shape == (21, 3)
    # a charge that is not conserved is reported broken
    bogus = nt.Charge("x", lambda q, p: q[:, 0, 0], "x")
    rep = nt.check_charges(KEPLER.hamiltonian, [bogus], q, p, dt=0.02, steps=20, method="leapfrog")
    assert rep.verdicts == {"x": "broken"}


def test_custom_candidate_functions() -> None:
    def lz(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return q[:, 0, 0] * p[:, 0, 1] - q[:, 0, 1] * p[:, 0, 0]

    def xpx(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return q[:, 0, 0] * p[:, 0, 0]

    q, p = _states(OSCILLATOR, 40)
    found = nt.discover_hamiltonian(OSCILLATOR.hamiltonian, q, p, [("lz", lz), xpx])
    assert found.names == ["L"]  # recognized as the point charge of the rotation


def test_bad_input() -> None:
    H = OSCILLATOR.hamiltonian
    q, p = _states(OSCILLATOR, 60)
    with pytest.raises(ValueError, match="unknown candidate family 'quartic'"):
        nt.discover_hamiltonian(H, q, p, ("affine", "quartic"))
    with pytest.raises(ValueError, match="listed twice"):
        nt.discover_hamiltonian(H, q, p, ("quadratic", "quadratic"))
    with pytest.raises(ValueError, match="at least 16 sample states"):
        nt.discover_hamiltonian(H, q[:10], p[:10])
    q0 = q.clone()
    q0[0] = 0.0
    with pytest.raises(ValueError, match="not finite"):
        nt.discover_hamiltonian(H, q0, p, ("radial", "linear"))
    bad = p.clone()
    bad[1, 0, 0] = math.inf
    with pytest.raises(ValueError, match="inf"):
        nt.discover_hamiltonian(H, q, bad)
    with pytest.raises(ValueError, match="shape"):
        nt.discover_hamiltonian(H, q, p, [lambda q, p: q])
    with pytest.raises(TypeError, match="candidate 0"):
        nt.discover_hamiltonian(H, q, p, [3])
    with pytest.raises(TypeError, match="callable"):
        nt.discover_hamiltonian(None, q, p)
