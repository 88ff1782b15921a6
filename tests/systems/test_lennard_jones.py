"""The periodic Lennard-Jones fluid: neighbour-list energies and forces, symmetries, states."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import grad, vmap

import symnet.noether as nt
from symnet import mechanics
from symnet import systems as S
from symnet._functorch import plain_values as _values
from symnet.groups import Boost, PeriodicBox, Permutation, Rotation, TimeShift, Translation

F64 = torch.float64


def reference_potential(system: S.LennardJones, q: torch.Tensor) -> torch.Tensor:
    """O(N^2) minimum-image sum of the cut-and-shifted LJ potential, written out independently."""
    L = system.box.lengths.to(q)
    dx = q[:, None, :, :] - q[:, :, None, :]
    dx = dx - L * torch.round(dx / L)
    r = dx.norm(dim=-1)
    N = q.shape[1]
    iu = torch.triu_indices(N, N, 1)
    r = r[:, iu[0], iu[1]]
    eps, sig, rc = system.epsilon, system.sigma, system.cutoff

    def phi(x):
        return 4 * eps * ((sig / x) ** 12 - (sig / x) ** 6)

    def dphi(x):
        return 4 * eps * (-12 * sig**12 / x**13 + 6 * sig**6 / x**7)

    rcs = torch.tensor(rc, dtype=q.dtype)
    e = phi(r) - phi(rcs)
    if system.shift == "force":
        e = e - (r - rc) * dphi(rcs)
    return torch.where(r < rc, e, torch.zeros_like(e)).sum(-1)


def autograd_forces(system, q):
    x = q.clone().requires_grad_(True)
    return -torch.autograd.grad(system.potential(x).sum(), x)[0]


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def fluid():
    lj = S.LennardJones.fcc(4)  # N = 256, density 0.8442
    q, v = lj.sample_states(2, rng=3)
    # a short run melts the lattice: a liquid configuration with pairs at every distance
    with torch.no_grad():
        traj = mechanics.rollout(
            lj.acceleration, q, v, dt=0.005, steps=60, method="leapfrog", compile=False
        )
    return lj, traj.q[-1], traj.v[-1]


@pytest.mark.parametrize("shift", ["energy", "force"])
def test_energy_and_forces_equal_the_all_pairs_reference(fluid, shift):
    base, q, _ = fluid
    lj = S.LennardJones(base.N, base.box, shift=shift)
    V = lj.potential(q)
    assert V.shape == (2,) and V.dtype == F64
    assert rel(V, reference_potential(lj, q)) < 1e-13
    x = q.clone().requires_grad_(True)
    F_ref = -torch.autograd.grad(reference_potential(lj, x).sum(), x)[0]
    assert rel(lj.forces(q), F_ref) < 1e-12
    # unwrapped input: particles moved by random box vectors change nothing
    g = torch.Generator().manual_seed(0)
    n = torch.randint(-3, 4, q.shape, generator=g).to(F64)
    unwrapped = q + n * lj.box.lengths
    assert rel(lj.potential(unwrapped), V) < 1e-13
    assert rel(lj.forces(unwrapped), lj.forces(q)) < 1e-11


def test_forces_are_minus_the_gradient_by_autograd_and_torch_func(fluid):
    lj, q, v = fluid
    a = lj.acceleration(q, v)
    assert rel(a * lj.m, autograd_forces(lj, q)) < 1e-13
    f = vmap(grad(lambda x: -lj.potential(x[None]).sum()))(q)
    assert rel(f, a) < 1e-13
    assert float(a.sum(1).abs().max()) < 1e-12  # Newton's third law: total force zero


def test_periodic_invariance():
    lj = S.LennardJones(64, box=PeriodicBox([7.0, 7.5, 8.0]), shift="force")
    q, _ = lj.sample_states(3, rng=1)
    V = lj.potential(q)
    moved = q.clone()
    moved[:, 5] += torch.tensor([7.0, -7.5, 16.0], dtype=F64)  # one particle by a box vector
    assert rel(lj.potential(moved), V) < 1e-14
    a = torch.tensor([3.3, -1.7, 9.1], dtype=F64)
    wrapped = lj.box.wrap(q + a)  # a common translation, wrapped into the box
    assert rel(lj.potential(wrapped), V) < 1e-13
    assert rel(lj.forces(wrapped), lj.forces(q)) < 1e-11
    acted = Translation(3, box=lj.box).act(a.expand(3, 3), q, "point")
    assert torch.equal(acted, wrapped) and rel(lj.potential(acted), V) < 1e-13
    # negative control: a non-lattice displacement of one particle changes V
    moved[:, 5] += 0.3
    assert rel(lj.potential(moved), V) > 1e-6


def test_two_dimensional_box():
    lj = S.LennardJones(50, box=PeriodicBox([8.0, 9.0]), cutoff=3.0)
    q, v = lj.sample_states(2, rng=2)
    assert q.shape == (2, 50, 2)
    assert rel(lj.potential(q), reference_potential(lj, q)) < 1e-13
    assert rel(lj.forces(q), autograd_forces(lj, q)) < 1e-13
    assert torch.allclose(lj.temperature_of(v), torch.full((2,), 1.44, dtype=F64))
    assert lj.broken == [Rotation(2)]


def test_cache_reused_on_another_configuration_is_exact():
    lj = S.LennardJones(108, box=8.0, shift="force")
    q1, _ = lj.sample_states(2, rng=1)
    q2, _ = lj.sample_states(2, rng=2)
    q2 = q2[:, torch.randperm(108, generator=torch.Generator().manual_seed(0))]  # far from q1
    lj.forces(q1)
    nl = lj.neighbour_list(q1)
    assert nl.builds == 1
    # a different configuration of the same batch shape: the cached list must rebuild
    builds = []
    for q in (q2, q2 + 0.05, q1):
        assert rel(lj.forces(q), autograd_reference(lj, q)) < 1e-12
        builds.append(nl.builds)
    assert builds == [2, 2, 3]  # q2 + 0.05 moved less than skin / 2 from q2: kept
    # interleaved batch shapes keep their own lists
    lj.potential(q1[:1])
    assert lj.neighbour_list(q1) is nl and lj.neighbour_list(q1[:1]) is not nl


def autograd_reference(lj, q):
    x = q.clone().requires_grad_(True)
    return -torch.autograd.grad(reference_potential(lj, x).sum(), x)[0]


def test_leapfrog_conserves_momentum_to_round_off(fluid):
    lj, q, v = fluid
    with torch.no_grad():
        traj = mechanics.rollout(lj.acceleration, q, v, dt=0.005, steps=100, method="leapfrog")
    P = (lj.m * traj.v).sum(2)
    assert float((P - P[0]).abs().max()) < 1e-11
    assert float(P[0].abs().max()) < 1e-12  # sampled with zero total momentum


def _energy_errors(lj, q, v, dts, T):
    out = []
    for dt in dts:
        with torch.no_grad():
            tr = mechanics.rollout(
                lj.acceleration, q, v, dt=dt, steps=round(T / dt), method="leapfrog", compile=False
            )
            E = lj.energy(tr.q.flatten(0, 1), tr.v.flatten(0, 1)).reshape(tr.q.shape[0], -1)
        out.append(float((E - E[0]).abs().max()))
    return out


def _slope(dts, errs):
    x = torch.tensor(dts, dtype=F64).log()
    y = torch.tensor(errs, dtype=F64).log()
    return float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())


def test_energy_error_of_leapfrog_is_second_order_with_the_force_shift(fluid):
    base, q, v = fluid
    lj = S.LennardJones(base.N, base.box, shift="force")
    dts = [0.006, 0.003, 0.0015]
    errs = _energy_errors(lj, q[:1], v[:1], dts, T=0.06)
    assert 1.85 < _slope(dts, errs) < 2.15, errs


@pytest.mark.parametrize(("shift", "low", "high"), [("force", 1.8, 2.3), ("energy", 0.6, 1.4)])
def test_a_pair_crossing_the_cutoff(shift, low, high):
    """Two particles across r_c: the force jump of the energy shift costs an O(dt) error."""
    lj = S.LennardJones(2, box=8.0, shift=shift)
    q = torch.tensor([[[1.0, 1.0, 1.0], [3.9, 1.0, 1.0]]], dtype=F64)  # r = 2.9 > r_c
    v = torch.tensor([[[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]]], dtype=F64)  # r -> 1.9
    dts = [0.04 / 2**k for k in range(5)]
    errs = _energy_errors(lj, q, v, dts, T=1.0)
    assert low < _slope(dts, errs) < high, errs


def test_fcc_protocol():
    lj = S.LennardJones.fcc(4)
    assert lj.N == 256 and lj.config_shape == (256, 3)
    side = (256 / 0.8442) ** (1 / 3)
    assert torch.allclose(lj.box.lengths, torch.full((3,), side, dtype=F64))
    assert lj.density == pytest.approx(0.8442)
    assert (lj.cutoff, lj.skin, lj.temperature, lj.shift) == (2.5, 0.3, 1.44, "energy")
    assert S.LennardJones.fcc(5, density=0.5, shift="force").N == 500
    with pytest.raises(TypeError, match="N"):
        S.LennardJones.fcc(4, N=10)
    with pytest.raises(ValueError, match="cells"):
        S.LennardJones.fcc(0)
    with pytest.raises(ValueError, match="density"):
        S.LennardJones.fcc(4, density=-1.0)


@pytest.mark.parametrize("N", [256, 40])
def test_sampled_states(N):
    lj = S.LennardJones(N, box=7.0) if N == 40 else S.LennardJones.fcc(4)
    q, v = lj.sample_states(5, rng=7)
    assert q.shape == v.shape == (5, N, 3) and q.dtype == F64
    T = 2 * lj.kinetic(v) / (3 * (N - 1))  # kinetic energy 3 (N - 1) / 2 kT exactly
    assert torch.allclose(T, torch.full((5,), 1.44, dtype=F64), rtol=1e-13, atol=0)
    assert torch.allclose(lj.temperature_of(v), T, rtol=1e-14, atol=0)
    assert float(v.sum(1).abs().max()) < 1e-12  # zero total momentum
    assert not torch.equal(q[0], q[1]) and not torch.equal(v[0], v[1])
    assert float(q.min()) > 0 and float(q.max()) < float(lj.box.lengths[0])
    # fcc sites (3 cells per side for N = 40: the first 40 of 108) with a small jitter
    n = 4 if N == 256 else 3
    a = float(lj.box.lengths[0]) / n
    sites = q[0] / a - 0.25
    assert float((sites * 2 - torch.round(sites * 2)).abs().max()) * a / 2 < 0.021 * a
    d = (q[0][:, None] - q[0][None]).norm(dim=-1) + torch.eye(N, dtype=F64) * 1e9
    assert float(d.min()) > a / math.sqrt(2) - 0.1 * a
    # seeded: same generator state, same draw
    q2, v2 = lj.sample_states(5, rng=7)
    assert torch.equal(q, q2) and torch.equal(v, v2)


def test_symmetry_declarations():
    lj = S.LennardJones(32, box=6.0)
    assert lj.symmetries == [
        Translation(3, box=lj.box),
        Boost(3, 1.0),
        Permutation(),
        TimeShift(),
    ]
    assert lj.broken == [Rotation(3)]


def test_noether_verdicts_on_a_small_periodic_fluid():
    """Momentum, boosts, energy and permutations conserved; rotations broken by the box."""
    lj = S.LennardJones(32, box=6.0, shift="force")
    q, v = lj.sample_states(4, rng=1)
    report = nt.check(
        lj.lagrangian,
        [*lj.symmetries, *lj.broken],
        q,
        v,
        dt=0.01,
        steps=40,
        method="leapfrog",
        field=lj.acceleration,
    )
    broken = {f"rotation_{a}" for a in "xyz"}
    for name, verdict in report.verdicts.items():
        assert verdict == ("broken" if name in broken else "conserved"), str(report)
    assert set(report.verdicts) >= broken | {"translation_x", "boost_z", "time", "permutation"}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: S.LennardJones(64, box=4.0), "cutoff"),  # 2.5 > L / 2 = 2
        (lambda: S.LennardJones(64, box=8.0, cutoff=0.0), "cutoff"),
        (lambda: S.LennardJones(1, box=8.0), "N"),
        (lambda: S.LennardJones(64, box=-8.0), "box"),
        (lambda: S.LennardJones(64, box=8.0, epsilon=0.0), "epsilon"),
        (lambda: S.LennardJones(64, box=8.0, sigma=-1.0), "sigma"),
        (lambda: S.LennardJones(64, box=8.0, mass=0.0), "mass"),
        (lambda: S.LennardJones(64, box=8.0, skin=-0.1), "skin"),
        (lambda: S.LennardJones(64, box=8.0, temperature=0.0), "temperature"),
        (lambda: S.LennardJones(64, box=8.0, shift="smooth"), "shift"),
        (lambda: S.LennardJones(64, box=8.0, cutoff=float("nan")), "cutoff"),
    ],
)
def test_bad_arguments_name_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_argument_types_and_shapes():
    with pytest.raises(TypeError, match="box"):
        S.LennardJones(64, box="big")
    with pytest.raises(TypeError, match="N"):
        S.LennardJones(64.0, box=8.0)
    lj = S.LennardJones(64, box=8.0)
    q, v = lj.sample_states(2, rng=0)
    with pytest.raises(ValueError, match=r"q must have shape \(B, 64, 3\)"):
        lj.potential(q[:, :32])
    with pytest.raises(ValueError, match="q must have shape"):
        lj.acceleration(q[0], v[0])


def test_skin_is_reduced_to_fit_the_box_and_repr():
    lj = S.LennardJones(32, box=5.4)  # L / 2 - cutoff = 0.2 < 0.3
    assert lj.skin == pytest.approx(0.2)
    q, v = lj.sample_states(2, rng=0)
    assert rel(lj.potential(q), reference_potential(lj, q)) < 1e-13
    assert repr(S.LennardJones(32, box=8.0, epsilon=2.0)) == (
        "LennardJones(N=32, box=PeriodicBox([8.0, 8.0, 8.0]), cutoff=2.5, epsilon=2, "
        "sigma=1, mass=1, skin=0.3, temperature=1.44, shift='energy')"
    )


def test_pair_potential_vanishes_at_the_cutoff():
    for shift in ("energy", "force"):
        lj = S.LennardJones(32, box=8.0, shift=shift)
        r = torch.tensor([1.1, 2.5 - 1e-9, 2.5, 3.0], dtype=F64)
        e = lj.pair_potential(r)
        assert float(e[1].abs()) < 1e-9 and float(e[2:].abs().max()) == 0.0
        assert float(e[0]) < 0  # the well


def test_torch_func_transforms_give_the_same_forces_and_leave_the_cache_alone():
    lj = S.LennardJones(108, box=8.0, shift="force")
    q, v = lj.sample_states(3, rng=0)
    F = lj.forces(q)
    assert len(lj._lists) == 1

    def potential_one(x):
        return lj.potential(x[None]).sum()

    assert rel(vmap(grad(potential_one))(q), -F) < 1e-13
    nested = vmap(vmap(grad(potential_one)))(q[:, None].expand(3, 2, 108, 3))
    assert rel(nested, -F[:, None].expand(3, 2, 108, 3)) < 1e-13
    # vmapped over the last axis: the values cannot be read, every pair is used
    stacked = torch.stack([q, q], dim=-1)  # (3, 108, 3, 2), vmapped over the last axis
    last = vmap(grad(lambda x: lj.potential(x).sum()), in_dims=3)(stacked)
    assert rel(last, -F.expand(2, 3, 108, 3)) < 1e-13
    readable = []

    def probe(x):
        readable.append(_values(x) is not None)
        return x.sum()

    vmap(probe)(q)
    vmap(probe, in_dims=3)(stacked)
    assert readable == [True, False]
    assert rel(grad(lambda x: lj.potential(x).sum())(q), -F) < 1e-13
    _, dV = torch.func.jvp(lj.potential, (q,), (v,))
    assert rel(dV, -(F * v).sum((1, 2))) < 1e-12
    assert len(lj._lists) == 1 and lj.neighbour_list(q).builds == 1  # the cache was not used
    t = torch.zeros(3, dtype=F64)
    assert rel(mechanics.lagrangian_vector_field(lj.lagrangian)(q, v, t), F / lj.m) < 1e-12


def test_a_diverging_rollout_is_reported_at_its_step():
    """NaN positions give NaN forces, so the rollout names the step (regression)."""
    lj = S.LennardJones(32, box=6.0)
    q, v = lj.sample_states(2, torch.Generator().manual_seed(0))
    with pytest.raises(mechanics.NonFiniteStateError, match="step"):
        mechanics.rollout(
            lj.acceleration, q, 20 * v, dt=0.1, steps=300, method="leapfrog", compile=False
        )
    out = mechanics.rollout(
        lj.acceleration, q, 20 * v, dt=0.1, steps=300, method="leapfrog", compile=False,
        on_nonfinite="return",
    )  # fmt: skip
    assert out.stopped_at is not None and torch.isfinite(out.q).all()
    bad = torch.full_like(q, math.nan)
    assert lj.forces(bad).isnan().all() and lj.potential(bad).isnan().all()
