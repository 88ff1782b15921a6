"""Issue 11, the Noether checker: honest verdicts, valid physics accepted, bad input refused."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Boost, Translation
from symnet.testing import assert_conserved

SPRING = S.TwoBodySpring(m1=1.0, m2=2.0, k=3.0)


@pytest.fixture(scope="module")
def states():
    return SPRING.sample_states(4, torch.Generator().manual_seed(0))


def _check(L, symmetries, q, v, **kwargs):
    kw = {"dt": 0.01, "steps": 10, "field": SPRING.acceleration, **kwargs}
    return nt.check(L, symmetries, q, v, **kw)


# ------------------------------------------------------------------ item 1: boost masses


def test_item1_boost_by_name_reads_the_masses_from_lagrangian(states):
    """A Galilean-invariant system is never called broken because its masses were not repeated."""
    q, v = states
    report = _check(SPRING.lagrangian, ["boost"], q, v)
    assert set(report.verdicts.values()) == {"conserved"}, str(report)
    given = _check(SPRING.lagrangian, ["boost"], q, v, masses=SPRING.masses)
    for name in ("boost_x", "boost_y", "boost_z"):
        torch.testing.assert_close(report.charges[name], given.charges[name], rtol=1e-12, atol=0)
    # default field too (the Euler-Lagrange equations by autodiff)
    assert set(_check(SPRING.lagrangian, ["boost"], q, v, field=None).verdicts.values()) == {
        "conserved"
    }


def test_item1_boost_by_name_reads_the_masses_from_hamiltonian(states):
    q, v = states
    p = v * SPRING.masses[:, None]
    report = nt.check_hamiltonian(SPRING.hamiltonian, ["boost_x"], q, p, dt=0.01, steps=10)
    assert report.verdicts == {"boost_x": "conserved"}, str(report)


def test_item1_boost_by_name_still_finds_a_broken_boost(states):
    """An external field breaks the boost: broken with the masses read from L, never conserved."""
    q, v = states

    def lagrangian(q, v):
        return SPRING.lagrangian(q, v) - 0.5 * (q[..., 0] ** 2).sum(-1)

    report = _check(lagrangian, ["boost_x"], q, v, field=None, steps=40)
    assert report.verdicts == {"boost_x": "broken"}, str(report)


@pytest.mark.parametrize("kind", ["coupled", "velocity-dependent", "anisotropic"])
def test_item1_boost_by_name_refuses_a_kinetic_term_without_masses(states, kind):
    """When d2L/dqdot2 is not diag(m_i) x I the masses cannot be read: an error asking for them."""
    q, v = states

    def lagrangian(q, v):
        base = SPRING.lagrangian(q, v)
        if kind == "coupled":
            return base + 0.1 * (v[:, 0] * v[:, 1]).sum(-1)
        if kind == "velocity-dependent":
            return base + 0.01 * (v**2).sum((-1, -2)) ** 2
        return base + 0.3 * v[..., 0].pow(2).sum(-1)

    with pytest.raises(ValueError, match=r"boost.*masses=") as info:
        _check(lagrangian, ["boost"], q, v)
    assert "d2L/dqdot2" in str(info.value)
    # with explicit masses the check runs (and says the boost along x is not a symmetry)
    report = _check(lagrangian, ["boost"], q, v, masses=SPRING.masses, field=None, steps=20)
    assert report.verdicts["boost_x"] == "broken", str(report)


def test_item1_masses_read_from_the_lagrangian_must_hold_along_the_run():
    """Masses that depend on the position fit diag(m_i) x I at one state, not along the run."""
    q, v = SPRING.sample_states(1, torch.Generator().manual_seed(0))

    def lagrangian(q, v):
        m = 1.0 + 0.5 * (q**2).sum(-1)  # (B, N): a mass per particle that depends on q
        return 0.5 * (m[..., None] * v**2).sum((-1, -2))

    with pytest.raises(ValueError, match=r"boost.*changes along the run.*masses="):
        _check(lagrangian, ["boost_x"], q, v, field=None)


# ------------------------------------------------------------------ item 2: diverged rollouts


def test_item2_a_diverged_rollout_is_inconclusive(states):
    q, v = states
    report = _check(SPRING.lagrangian, ["translation", "time"], q, v, dt=5.0, steps=50)
    for row in report.rows:
        assert row.verdict == "inconclusive", str(report)
        assert "diverged" in row.reason and "reduce dt" in row.reason
    # the same check at a sensible step is conserved
    ok = _check(SPRING.lagrangian, ["translation", "time"], q, v, dt=0.01, steps=50)
    assert set(ok.verdicts.values()) == {"conserved"}, str(ok)


def test_item2_a_meaningless_measured_order_is_never_conserved():
    from symnet.noether.verdict import Evidence, decide

    tol = nt.VerdictThresholds()
    # drift(dt) / drift(dt/2) = 2**40: no integrator of order 4 does that
    ev = Evidence(0.0, None, 1e-2 * 2.0**40 / 1e12, 1e-2 / 1e12 * 1e3, 0.0, 4)
    assert ev.measured_order > 30
    verdict, reason = decide(ev, tol)
    assert verdict == "inconclusive" and "order" in reason
    ev = Evidence(0.0, None, 1e-6, 1e-6 * 2.0**128, 0.0, 4)
    assert decide(ev, tol)[0] == "inconclusive"


# ------------------------------------------------------------------ item 3: lost gradients


def _no_grad_potential(q, v):
    T = 0.5 * (SPRING.masses[:, None] * v**2).sum((-1, -2))
    with torch.no_grad():
        V = 0.5 * SPRING.k * ((q[:, 0] - q[:, 1]).norm(dim=-1) - SPRING.l0) ** 2
    return T - V


def _detached_potential(q, v):
    T = 0.5 * (SPRING.masses[:, None] * v**2).sum((-1, -2))
    V = 0.5 * SPRING.k * ((q[:, 0] - q[:, 1]).detach().norm(dim=-1) - SPRING.l0) ** 2
    return T - V


@pytest.mark.parametrize("L", [_no_grad_potential, _detached_potential], ids=["no_grad", "detach"])
@pytest.mark.parametrize("field", [None, "closed-form"])
def test_item3_a_lagrangian_with_a_lost_gradient_is_refused(states, L, field):
    q, v = states
    fld = SPRING.acceleration if field else None
    with pytest.raises(ValueError, match=r"L's autodiff derivative with respect to q disagrees"):
        nt.check(L, "translation", q, v, dt=0.01, steps=4, field=fld)


def test_item3_a_hamiltonian_with_a_lost_gradient_is_refused(states):
    q, v = states

    def hamiltonian(q, p):
        return SPRING.hamiltonian(q.detach(), p) + 0.0 * q.sum((-1, -2))

    with pytest.raises(ValueError, match=r"H's autodiff derivative with respect to q disagrees"):
        nt.check_hamiltonian(hamiltonian, "translation", q, v, dt=0.01, steps=4)
    with pytest.raises(ValueError, match=r"H's autodiff derivative with respect to q"):
        nt.check_hamiltonian(
            hamiltonian, "translation", q, v, dt=0.01, steps=4, field=SPRING.phase_velocity
        )


# ------------------------------------------------------------------ item 5: states at rest


def test_item5_states_at_rest_are_valid_physics():
    pendulum = S.Pendulum()
    q, _ = pendulum.sample_states(3, torch.Generator().manual_seed(0))
    zero = torch.zeros_like(q)
    report = nt.check(pendulum.lagrangian, ["time"], q, zero, dt=0.01, steps=20)
    assert report.verdicts == {"time": "conserved"}, str(report)
    assert_conserved(pendulum.lagrangian, "time", q, zero, dt=0.01, steps=20)
    report = nt.check_hamiltonian(pendulum.hamiltonian, ["time"], q, zero, dt=0.01, steps=20)
    assert report.verdicts == {"time": "conserved"}, str(report)


def test_item5_a_lagrangian_without_velocity_is_still_refused(states):
    q, v = states
    with pytest.raises(ValueError, match=r"L does not depend on qdot"):
        _check(lambda q, v: -(q**2).sum((-1, -2)), "translation", q, v)


# ------------------------------------------------------------------ item 11: memory up front


def test_item11_an_impossible_number_of_steps_is_refused_up_front(states):
    q, v = states
    calls = []

    def lagrangian(q, v):
        calls.append(1)
        return SPRING.lagrangian(q, v)

    with pytest.raises(ValueError, match=r"steps=1000000000000 .*memory.*TiB") as info:
        _check(lagrangian, "translation", q, v, steps=10**12)
    assert "steps" in str(info.value)
    assert not calls  # refused before any work


# ------------------------------------------------------------------ item 13: generator names


def _offered(msg: str) -> list[str]:
    return msg.split("expected one of ", 1)[1].split(" (", 1)[0].split(", ")


def test_item13_unknown_generator_lists_the_names_valid_here():
    q = torch.randn(2, 3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"unknown symmetry 'rotation_z'; expected one of") as info:
        nt.check(lambda q, v: (v**2).sum((-1, -2)), ["rotation_z"], q, q, dt=0.01, steps=4)
    offered = _offered(str(info.value))
    assert {"rotation", "translation_x", "translation_y", "time", "boost_y"} <= set(offered)
    assert "rotation_z" not in offered and "translation_z" not in offered
    assert "(3, 2)" in str(info.value)
    # every offered name is accepted
    for name in offered:
        nt.check(lambda q, v: (v**2).sum((-1, -2)), [name], q, q, dt=0.01, steps=2, masses=1.0)


def test_item13_generalized_coordinates_offer_only_time():
    q = torch.randn(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"unknown symmetry 'rotation_z'") as info:
        nt.check(lambda q, v: (v**2).sum(-1), ["rotation_z"], q, q, dt=0.01, steps=4)
    assert _offered(str(info.value)) == ["time"]


# ------------------------------------------------------------------ item 15: non-copyable modules


class _LockedSpring(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.k = nn.Parameter(torch.tensor(SPRING.k, dtype=torch.float32))
        self.lock = threading.Lock()

    def forward(self, q, v):
        m = SPRING.masses.to(q)
        T = 0.5 * (m[:, None] * v**2).sum((-1, -2))
        return T - 0.5 * self.k * ((q[:, 0] - q[:, 1]).norm(dim=-1) - SPRING.l0) ** 2


def test_item15_a_module_holding_a_lock_is_checked(states):
    module = _LockedSpring()
    q, v = states
    report = _check(module, ["translation", "time"], q, v)
    assert set(report.verdicts.values()) == {"conserved"}, str(report)
    assert module.k.dtype == torch.float32 and module.k.grad is None
    assert isinstance(module.lock, type(threading.Lock()))


# ------------------------------------------------------------------ item 19: argument types


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"dt": True}, "dt"),
        ({"dt": math.nan}, "dt"),
        ({"steps": True}, "steps"),
        ({"steps": 10.0}, "steps"),
        ({"n_elements": True}, "n_elements"),
        ({"n_elements": -1}, "n_elements"),
        ({"rng": False}, "rng"),
        ({"rng": 1.5}, "rng"),
        ({"t0": True}, "t0"),
        ({"t0": math.inf}, "t0"),
    ],
)
def test_item19_bad_numbers_are_refused_naming_the_argument(states, kwargs, name):
    q, v = states
    with pytest.raises((TypeError, ValueError), match=rf"^{name} must"):
        _check(SPRING.lagrangian, "translation", q, v, **kwargs)


def test_item19_integers_and_reals_of_any_type_are_accepted(states):
    q, v = states
    report = _check(
        SPRING.lagrangian,
        "translation",
        q,
        v,
        dt=np.float64(0.01),
        steps=np.int64(10),
        n_elements=np.int32(2),
        rng=np.int64(3),
        t0=np.float32(0.5),
    )
    assert report.steps == 10 and type(report.steps) is int
    assert report.charges["translation_x"].shape == (11, 4)
    assert set(report.verdicts.values()) == {"conserved"}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"drift": -1e-9}, "drift"),
        ({"invariance": math.nan}, "invariance"),
        ({"balance": math.inf}, "balance"),
        ({"flow": True}, "flow"),
        ({"order_slack": "0.5"}, "order_slack"),
        ({"invariance": 1e-3, "broken": 1e-6}, "invariance"),
    ],
)
def test_item19_tolerances_validate_their_fields(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=rf"VerdictThresholds.*{name}"):
        nt.VerdictThresholds(**kwargs)


def test_item19_tolerances_accept_numpy_numbers():
    tol = nt.VerdictThresholds(drift=np.float64(1e-8), invariance=1e-10)
    assert tol.drift == 1e-8


# ------------------------------------------------------------------ item 21: chunked batches


def test_item21_chunks_give_the_same_report(states):
    q, v = SPRING.sample_states(8, torch.Generator().manual_seed(1))
    group = Translation(3) * Boost(3, SPRING.masses)
    syms = [group, "rotation", "time", "permutation"]
    eq = S.TwoBodySpring()
    qe, ve = eq.sample_states(8, torch.Generator().manual_seed(1))
    for L, qq, vv, fld, sy in [
        (SPRING.lagrangian, q, v, SPRING.acceleration, syms[:3]),
        (eq.lagrangian, qe, ve, None, syms),
    ]:
        whole = nt.check(L, sy, qq, vv, dt=0.05, steps=12, field=fld)
        chunked = nt.check(L, sy, qq, vv, dt=0.05, steps=12, field=fld, chunk_size=3)
        assert whole.rows == chunked.rows
        assert whole.charges.keys() == chunked.charges.keys()
        for k in whole.charges:
            assert chunked.charges[k].shape == (13, 8)
            torch.testing.assert_close(chunked.charges[k], whole.charges[k], rtol=0, atol=0)
        torch.testing.assert_close(chunked.times, whole.times, rtol=0, atol=0)


def test_item21_every_stage_works_on_chunks(states, monkeypatch):
    """Rollouts and charge evaluation see at most chunk_size trajectories at a time."""
    import symnet.mechanics
    import symnet.noether.pipeline as check_module

    sizes = {"rollout": [], "gradients": []}
    rollout, gradients = symnet.mechanics.rollout, check_module.gradients

    def spy_rollout(field, q, v, **kw):
        sizes["rollout"].append(q.shape[0])
        return rollout(field, q, v, **kw)

    def spy_gradients(fn, q, v, t, name="L", **kw):
        sizes["gradients"].append(q.shape[0])
        return gradients(fn, q, v, t, name, **kw)

    monkeypatch.setattr(symnet.mechanics, "rollout", spy_rollout)
    monkeypatch.setattr(check_module, "gradients", spy_gradients)
    q, v = SPRING.sample_states(8, torch.Generator().manual_seed(2))
    report = _check(SPRING.lagrangian, ["translation", "permutation"], q, v, chunk_size=3)
    assert report.charges["translation_x"].shape == (11, 8)
    assert max(sizes["rollout"]) == 3 and len(sizes["rollout"]) > 3
    assert max(sizes["gradients"]) <= 3 * (2 * 10 + 1)


def test_item21_default_chunk_bounds_the_working_set():
    from symnet.noether.pipeline import DEFAULT_CHUNK_BYTES, chunk_and_memory, trajectory_bytes

    per = trajectory_bytes(500, 6, 7)
    chunk = chunk_and_memory(None, 4096, 500, 6, 7)
    assert 1 <= chunk < 4096 and chunk * per <= DEFAULT_CHUNK_BYTES
    assert chunk_and_memory(None, 8, 10, 6, 3) == 8  # small checks are one chunk
    assert chunk_and_memory(5, 8, 10, 6, 3) == 5


@pytest.mark.parametrize("bad", [0, -2, True, 2.5])
def test_item21_chunk_size_is_validated(states, bad):
    q, v = states
    with pytest.raises((TypeError, ValueError), match=r"^chunk_size must"):
        _check(SPRING.lagrangian, "translation", q, v, chunk_size=bad)


# ------------------------------------------------------------------ sweep


def test_sweep_charge_refuses_a_lagrangian_that_modifies_its_input(states):
    q, v = states
    q0 = q.clone()

    def lagrangian(q, v):
        with torch.no_grad():
            q.add_(1.0)
        return SPRING.lagrangian(q, v)

    gen = Translation(3).generators((2, 3))[0]
    with pytest.raises(ValueError, match=r"L modified its input q in place"):
        nt.charge(lagrangian, gen)(q, v)
    assert torch.equal(q, q0)
    with pytest.raises(ValueError, match=r"L modified its input q in place"):
        _check(lagrangian, "translation", q, v)
    assert torch.equal(q, q0)


def test_sweep_check_refuses_a_field_that_modifies_its_input(states):
    q, v = states

    def field(q, v):
        out = SPRING.acceleration(q, v)
        q.mul_(1.5)
        return out

    with pytest.raises(ValueError, match=r"modified its input q in place"):
        _check(SPRING.lagrangian, "translation", q, v, field=field)


def test_sweep_charge_of_a_float32_module_at_float64_states_names_the_dtypes(states):
    q, v = states

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(12, 1)  # float32

        def lagrangian(self, q, v):
            return self.lin(torch.cat([q, v], -1).flatten(1)).squeeze(-1)

    net = Net()
    gen = Translation(3).generators((2, 3))[0]
    # a bound method of a module: the message names both dtypes
    with pytest.raises(TypeError, match=r"^L could not be evaluated in float64.*float32"):
        nt.charge(net.lagrangian, gen)(q, v)
    # a closure: the message says which dtype the states have and what to do, without the
    # checker's advice (charge() does not cast)
    with pytest.raises(TypeError, match=r"^L could not be evaluated in float64") as info:
        nt.charge(lambda q, v: net.lagrangian(q, v), gen)(q, v)
    assert "cast the states or the model" in str(info.value)
    assert "checker" not in str(info.value)
    # float32 states work
    assert nt.charge(net.lagrangian, gen)(q.float(), v.float()).dtype == torch.float32


def test_sweep_charge_refuses_a_lost_gradient(states):
    q, v = states
    gen = Translation(3).generators((2, 3))[0]
    with pytest.raises(ValueError, match=r"autodiff derivative with respect to q"):
        nt.charge(_no_grad_potential, gen)(q, v)


def test_sweep_check_of_a_float32_module_method_casts_a_copy(states):
    q, v = states

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(12, 1)  # float32

        def lagrangian(self, q, v):
            potential = self.lin(torch.cat([q, q], -1).flatten(1)).squeeze(-1)
            return 0.5 * (v**2).sum(dim=(-2, -1)) - potential

    net = Net()
    before = net.lin.weight.detach().clone()
    report = _check(net.lagrangian, "translation", q, v)
    assert set(report.verdicts) == {"translation_x", "translation_y", "translation_z"}
    assert net.lin.weight.dtype == torch.float32
    assert torch.equal(net.lin.weight, before)


def test_sweep_a_finite_element_test_giving_nan_is_not_round_off():
    from symnet.noether.verdict import Evidence, decide

    verdict, _ = decide(Evidence(0.0, math.nan, 1e-15, 1e-15, 1e-15, 4), nt.VerdictThresholds())
    assert verdict != "conserved"


def test_sweep_a_field_using_torch_autograd_still_works(states):
    """The user's field runs in the ambient grad mode; the checker keeps no graph of it."""
    q, v = states

    def field(q, v):
        with torch.enable_grad():
            x = q.detach().requires_grad_(True)
            V = 0.5 * SPRING.k * ((x[:, 0] - x[:, 1]).norm(dim=-1) - SPRING.l0) ** 2
            (force,) = torch.autograd.grad(-V.sum(), x)
        return force / SPRING.masses[:, None]

    def plain_field(q, v):
        x = q.detach().requires_grad_(True)
        V = 0.5 * SPRING.k * ((x[:, 0] - x[:, 1]).norm(dim=-1) - SPRING.l0) ** 2
        (force,) = torch.autograd.grad(-V.sum(), x)
        return force / SPRING.masses[:, None]

    for fld in (field, plain_field):
        report = _check(SPRING.lagrangian, ["translation", "permutation"], q, v, field=fld)
        assert all(c.grad_fn is None for c in report.charges.values())
        assert report.verdicts["translation_x"] == "conserved", str(report)


def test_item21_a_blow_up_in_a_chunk_names_its_index_in_the_whole_batch():
    from symnet.mechanics import NonFiniteStateError, rollout

    system = S.CentralPotential()
    q, v = system.sample_states(6, torch.Generator().manual_seed(0))
    kw = {"dt": 1.0, "steps": 10, "field": system.acceleration, "chunk_size": 1}
    with pytest.raises(NonFiniteStateError) as info:
        nt.check(system.lagrangian, "rotation", q, v, **kw)
    b = info.value.batch_index
    assert f"batch element {b}" in str(info.value)
    with pytest.raises(NonFiniteStateError):  # that trajectory alone blows up
        rollout(system.acceleration, q[b : b + 1], v[b : b + 1], dt=1.0, steps=10)
    with pytest.raises(NonFiniteStateError):  # the whole batch at once: an error too
        nt.check(system.lagrangian, "rotation", q, v, **{**kw, "chunk_size": None})
