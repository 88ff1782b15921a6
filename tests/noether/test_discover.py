"""``discover``: the affine symmetries of the ground-truth systems (REFERENCES.md section 4).

Each system's exact point symmetries must come out, named, with a
singular-value gap of at least 1e6 in float64, and nothing else.
"""

from __future__ import annotations

import doctest
import math
from functools import cache

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Generator, Rotation, TimeShift, Translation
from symnet.groups.rotation import so_basis

SYSTEMS = {
    "two_body_spring": S.TwoBodySpring(m1=1.0, m2=2.0, k=3.0, l0=1.0),
    "kepler": S.Kepler(),
    "magnetic": S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0),
    "double_pendulum_g0": S.DoublePendulum(g=0.0),
    "double_pendulum": S.DoublePendulum(),
    "anisotropic": S.AnisotropicOscillator(),
    "isotropic": S.IsotropicOscillator(),
    "central": S.CentralPotential(),
}

EXPECTED = {
    "two_body_spring": [
        "translation_x",
        "translation_y",
        "translation_z",
        "rotation_x",
        "rotation_y",
        "rotation_z",
        "time",
    ],
    "kepler": ["rotation_x", "rotation_y", "rotation_z", "time"],
    "magnetic": ["translation_x", "translation_z", "time"],
    "double_pendulum_g0": ["shift[1,1]", "time"],
    "double_pendulum": ["time"],
    "anisotropic": ["time"],
    "isotropic": ["rotation", "time"],
    "central": ["rotation_x", "rotation_y", "rotation_z", "time"],
}


def _states(name: str, n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return SYSTEMS[name].sample_states(n, torch.Generator().manual_seed(seed))


@cache
def _found(name: str, time: bool = True) -> nt.SymmetryDiscovery:
    q, v = _states(name)
    return nt.discover(SYSTEMS[name].lagrangian, q, v, time=time)


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_ground_truth_generators(name: str) -> None:
    found = _found(name)
    assert found.names == EXPECTED[name], str(found)
    assert found.gap is not None and found.gap >= 1e6, str(found)
    for g in found:
        assert isinstance(g, Generator)
        assert found.relative[g.name] < 1e-12
        assert found.deviation[g.name] < 1e-12
    assert found.algebra.dimension == len(found)


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_without_time(name: str) -> None:
    found = _found(name, time=False)
    assert found.names == [n for n in EXPECTED[name] if n != "time"]
    if len(found):
        assert found.gap >= 1e6
    else:
        assert found.gap is None
        assert "nothing below the cut" in str(found)


def test_two_body_spring_generators_are_canonical() -> None:
    found = _found("two_body_spring")
    eye = torch.eye(3, dtype=torch.float64)
    for axis, name in enumerate(["translation_x", "translation_y", "translation_z"]):
        g = found[name]
        assert isinstance(g.group, Translation)
        assert torch.equal(g.matrix, torch.zeros(3, 3, dtype=torch.float64))
        assert torch.allclose(g.offset, eye[axis], atol=1e-14, rtol=0)
    _, mats = so_basis(3)
    for axis, name in enumerate(["rotation_x", "rotation_y", "rotation_z"]):
        g = found[name]
        assert isinstance(g.group, Rotation)
        assert torch.allclose(g.matrix, mats[axis], atol=1e-14, rtol=0)
        assert g.offset is None
    assert isinstance(found["time"].group, TimeShift) and found["time"].tau == 1.0
    # the charges of the named generators are the textbook ones
    q, v = _states("two_body_spring", 4, seed=3)
    P = nt.charge(SYSTEMS["two_body_spring"].lagrangian, found["translation_x"])(q, v)
    m = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(P, (m[:, None] * v).sum(1)[:, 0], atol=1e-13, rtol=0)


def test_structure_constants_of_e3() -> None:
    alg = _found("two_body_spring").algebra
    names = alg.names
    C = alg.structure_constants
    ix = {n: i for i, n in enumerate(names)}

    def bracket(a: str, b: str) -> dict[str, float]:
        row = C[ix[a], ix[b]]
        return {names[k]: float(row[k]) for k in range(len(names)) if abs(float(row[k])) > 1e-9}

    assert bracket("rotation_x", "rotation_y") == pytest.approx({"rotation_z": 1.0})
    assert bracket("rotation_y", "rotation_z") == pytest.approx({"rotation_x": 1.0})
    assert bracket("rotation_z", "translation_x") == pytest.approx({"translation_y": 1.0})
    assert bracket("translation_x", "translation_y") == {}
    assert bracket("time", "rotation_x") == {}
    assert alg.closes and not alg.is_abelian
    assert float(alg.residual.max()) < 1e-12
    text = str(_found("two_body_spring"))
    assert "Lie algebra of dimension 7" in text
    assert "[rotation_x, rotation_y] = rotation_z" in text
    assert "gap across the cut" in text


def test_kepler_and_magnetic_have_no_translations() -> None:
    assert not any(n.startswith("translation") for n in _found("kepler").names)
    mag = _found("magnetic")
    # rotation_z is a quasi-symmetry in the Landau gauge (boundary term): not affine-invariant
    assert "rotation_z" not in mag.names
    assert mag.algebra.is_abelian


def test_quasi_symmetry_found_as_custom_candidate() -> None:
    system = SYSTEMS["magnetic"]
    q, v = _states("magnetic")
    found = nt.discover(system.lagrangian, q, v, candidates=["affine", system.rotation_z()])
    assert found.names == ["translation_x", "translation_z", "rotation_z", "time"]
    assert found["rotation_z"].has_boundary
    # [translation_x, rotation_z] = -translation_y, a quasi-symmetry outside the span
    assert not found.algebra.closes


def test_double_pendulum_shift_is_both_angles() -> None:
    g = _found("double_pendulum_g0")["shift[1,1]"]
    assert torch.allclose(g.offset, torch.ones(2, dtype=torch.float64), atol=1e-14, rtol=0)
    assert g.group is None


def test_check_verifies_every_found_generator() -> None:
    found = _found("two_body_spring")
    q, v = _states("two_body_spring", 3, seed=5)
    report = found.check(q, v, dt=0.02, steps=20, method="leapfrog")
    assert set(report.verdicts) == set(found.names)
    assert report.all_conserved, str(report)
    assert report.row("rotation_z").charge == "L_z"


def test_particlewise_distinguishes_particles() -> None:
    def lagrangian(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # particle 0 free
        return 0.5 * (v**2).sum((-1, -2)) - 0.25 * (q[:, 1] ** 2).sum(-1) ** 2

    q, v = torch.randn(
        2, 120, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    found = nt.discover(lagrangian, q, v, particlewise=True)
    axes = ("x", "y", "z")
    expected = [f"translation_{a}[particle 0]" for a in axes]
    expected += [f"rotation_{a}[particle {i}]" for i in (0, 1) for a in axes] + ["time"]
    assert sorted(found.names) == sorted(expected)
    assert found.gap >= 1e6
    # a particle-0 rotation moves only particle 0
    xi = found["rotation_z[particle 0]"].xi(q[:2])
    assert torch.equal(xi[:, 1], torch.zeros_like(xi[:, 1]))
    # identical particles: particlewise finds the common generators
    spring = nt.discover(SYSTEMS["two_body_spring"].lagrangian, *_states("two_body_spring"),
                         particlewise=True)  # fmt: skip
    assert spring.names == EXPECTED["two_body_spring"]


def test_custom_candidate_fields() -> None:
    system = SYSTEMS["isotropic"]
    q, v = _states("isotropic")

    def swirl(q: torch.Tensor) -> torch.Tensor:  # the rotation, written by hand
        return torch.stack([-q[..., 1], q[..., 0]], dim=-1)

    def shear(q: torch.Tensor) -> torch.Tensor:  # not a symmetry
        return torch.stack([q[..., 1], torch.zeros_like(q[..., 0])], dim=-1)

    found = nt.discover(system.lagrangian, q, v, candidates=[swirl, shear], time=False)
    assert found.names == ["swirl"]
    assert found.relative["swirl"] < 1e-12
    both = nt.discover(system.lagrangian, q, v, candidates=[swirl, "affine"], time=False)
    assert both.names == ["swirl"]  # the affine rotation is the same field: one generator
    assert "(7 coefficients, rank 6)" in both.candidates


def test_screw_and_shifted_rotation_names() -> None:
    gen = torch.Generator().manual_seed(1)
    q, v = torch.randn(2, 120, 1, 3, generator=gen, dtype=torch.float64)

    def helix(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        x, y, z = q[..., 0], q[..., 1], q[..., 2]
        u = x * torch.cos(2 * z) + y * torch.sin(2 * z)
        return (0.5 * (v**2).sum(-1) - u**2).sum(-1)

    def shifted(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        d = q - torch.tensor([1.0, 2.0, 0.0], dtype=q.dtype)
        return (0.5 * (v**2).sum(-1) - (d[..., :2] ** 2).sum(-1) - d[..., 2] ** 4).sum(-1)

    assert nt.discover(helix, q, v, time=False).names == ["screw(axis=[0,0,1], pitch=0.5)"]
    assert nt.discover(shifted, q, v, time=False).names == ["rotation_z(through=[1,2,0])"]

    def tilted(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # rotation about (1, 2, 2)/3
        w = torch.tensor([1.0, 2.0, 2.0], dtype=q.dtype) / 3
        along = (q * w).sum(-1)
        return (0.5 * (v**2).sum(-1) - (q**2).sum(-1) - along**4).sum(-1)

    assert nt.discover(tilted, q, v, time=False).names == ["rotation_about[0.3333,0.6667,0.6667]"]

    def dilation(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # invariant under q -> s q
        return ((v**2).sum(-1) / (q**2).sum(-1)).sum(-1)

    names = nt.discover(dilation, q, v, time=False).names
    assert "dilation" in names and "rotation_x" in names


def test_explicit_time_dependence() -> None:
    driven = S.DrivenOscillator()
    q, v = driven.sample_states(64, torch.Generator().manual_seed(0))
    t = torch.linspace(0.0, 5.0, 64, dtype=torch.float64)
    assert nt.discover(driven.lagrangian, q, v, t=t).names == []
    damped = S.DampedOscillator()
    found = nt.discover(damped.lagrangian, q, v, t=t)
    # t -> t + eps, q -> q - eps gamma/2 q: a combined time shift and dilation
    (g,) = found
    assert g.name == "symmetry_1" and g.tau == 1.0
    assert float(g.matrix[0, 0]) == pytest.approx(-damped.gamma / 2, rel=1e-12)


def test_module_lagrangian_is_cast_not_modified() -> None:
    class Free(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return 0.5 * self.w * (v**2).sum((-1, -2)) - ((q[..., 0] - 1.0) ** 2).sum(-1)

    model = Free()
    q, v = torch.randn(2, 64, 2, 2, generator=torch.Generator().manual_seed(0))
    found = nt.discover(model, q, v)
    assert found.names == ["translation_y", "time"]
    assert model.w.dtype == torch.float32


def test_fixed_threshold() -> None:
    q, v = _states("isotropic")
    found = nt.discover(SYSTEMS["isotropic"].lagrangian, q, v, threshold=1e-8)
    assert found.names == ["rotation", "time"] and found.threshold == 1e-8
    assert math.isfinite(found.gap)


def test_bad_input() -> None:
    L = SYSTEMS["isotropic"].lagrangian
    q, v = _states("isotropic")
    with pytest.raises(ValueError, match="same shape"):
        nt.discover(L, q, v[:, :, :1])
    with pytest.raises(ValueError, match=r"\(B, N, d\)"):
        nt.discover(L, q[..., None], v[..., None])
    bad = q.clone()
    bad[3, 0, 1] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        nt.discover(L, bad, v)
    with pytest.raises(ValueError, match="unknown candidates 'quadratic'"):
        nt.discover(L, q, v, candidates="quadratic")
    with pytest.raises(ValueError, match="at least 7 sample states"):
        nt.discover(L, q[:5], v[:5])
    with pytest.raises(TypeError, match="callable"):
        nt.discover("L", q, v)
    with pytest.raises(ValueError, match="threshold"):
        nt.discover(L, q, v, threshold=2.0)
    with pytest.raises(ValueError, match="particlewise"):
        nt.discover(S.DoublePendulum().lagrangian, *_states("double_pendulum"), particlewise=True)
    with pytest.raises(TypeError, match="candidate 0"):
        nt.discover(L, q, v, candidates=[3])
    with pytest.raises(ValueError, match="shape"):
        nt.discover(lambda q, v: (v**2).sum(-1), q, v)  # returns (B, 1)
    with pytest.raises(ValueError, match="t must"):
        nt.discover(L, q, v, t=torch.zeros(3))


def test_doctests() -> None:
    import importlib

    for name in ("symnet.noether.discovery.lagrangian", "symnet.noether.discovery.hamiltonian"):
        m = importlib.import_module(name)
        result = doctest.testmod(m, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0


def test_candidates_that_vanish_on_the_samples() -> None:
    q, v = _states("isotropic")
    zero = Generator("zero", lambda q: torch.zeros_like(q))
    with pytest.raises(ValueError, match="vanishes"):
        nt.discover(SYSTEMS["isotropic"].lagrangian, q, v, candidates=[zero], time=False)
