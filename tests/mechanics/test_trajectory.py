"""rollout and Trajectory: shapes, options, error paths, gradients, inputs untouched."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from symnet.mechanics import (
    ConvergenceError,
    NonFiniteStateError,
    SecondOrderField,
    SingularMassMatrixError,
    Trajectory,
    hamiltonian_vector_field,
    integrators,
    lagrangian_vector_field,
    rollout,
)

from ._closed_forms import F64, H_kepler, L_charge, L_kepler, L_oscillator, random_state

ALL = sorted(integrators)


def oscillator(q, v):
    return -q


@pytest.mark.parametrize("method", ALL)
def test_shapes_and_metadata(method) -> None:
    q0, v0, _ = random_state((2, 3), batch=5)
    traj = rollout(oscillator, q0, v0, dt=0.01, steps=7, method=method)
    assert isinstance(traj, Trajectory)
    assert traj.t.shape == (8, 5)
    assert traj.q.shape == traj.v.shape == (8, 5, 2, 3)
    assert traj.method == method and traj.dt == 0.01 and traj.stopped_at is None
    assert len(traj) == 8
    assert torch.equal(traj.q[0], q0) and torch.equal(traj.v[0], v0)
    assert traj.p is traj.v
    assert "Trajectory(q=(8, 5, 2, 3)" in repr(traj)


def test_time_grid_and_t0_forms() -> None:
    q0, v0, t = random_state((1,), batch=3)
    for t0 in (1.5, torch.tensor(1.5, dtype=F64)):
        traj = rollout(oscillator, q0, v0, dt=0.25, steps=4, t0=t0)
        assert torch.allclose(traj.t, 1.5 + 0.25 * torch.arange(5, dtype=F64)[:, None].expand(5, 3))
    traj = rollout(oscillator, q0, v0, dt=0.25, steps=4, t0=t)
    assert torch.allclose(traj.t, t[None] + 0.25 * torch.arange(5, dtype=F64)[:, None])


def test_per_sample_t0_reaches_time_dependent_field() -> None:
    # a(t) = t: v(T) = v0 + (T^2 - t0^2)/2 exactly for rk4 (polynomial in t)
    q0 = torch.zeros(3, 1, dtype=F64)
    t0 = torch.tensor([0.0, 1.0, 2.0], dtype=F64)
    traj = rollout(lambda q, v, t: t[:, None].expand_as(q), q0, q0, dt=0.1, steps=10, t0=t0)
    T = t0 + 1.0
    assert torch.allclose(traj.v[-1, :, 0], (T**2 - t0**2) / 2, atol=1e-12)


def test_steps_zero_and_negative_dt() -> None:
    q0, v0, _ = random_state((1,), batch=2)
    traj = rollout(oscillator, q0, v0, dt=0.1, steps=0)
    assert traj.q.shape == (1, 2, 1)
    forward = rollout(oscillator, q0, v0, dt=0.01, steps=100, method="leapfrog")
    back = rollout(oscillator, forward.q[-1], forward.v[-1], dt=-0.01, steps=100, method="leapfrog")
    assert torch.allclose(back.q[-1], q0, atol=1e-12)  # leapfrog is time-reversible


def test_hamiltonian_rollout_holds_momenta() -> None:
    q0, p0, _ = random_state((3,), batch=4)
    traj = rollout(hamiltonian_vector_field(H_kepler), q0, p0, dt=0.01, steps=5, method="leapfrog")
    assert torch.equal(traj.p[0], p0)


def test_lagrangian_field_rollout_matches_closed_form_field() -> None:
    from ._closed_forms import a_kepler

    q0, v0, _ = random_state((3,), batch=3)
    a = rollout(lagrangian_vector_field(L_kepler), q0, v0, dt=0.01, steps=20, method="yoshida4")
    b = rollout(lambda q, v: a_kepler(q, v, None), q0, v0, dt=0.01, steps=20, method="yoshida4")
    assert torch.allclose(a.q, b.q, atol=1e-13) and torch.allclose(a.v, b.v, atol=1e-13)


# ------------------------------------------------------------------------- error paths


def test_unknown_method_lists_names() -> None:
    q0, v0, _ = random_state((1,))
    with pytest.raises(ValueError, match="unknown integration method 'rk3'; available: dopri5"):
        rollout(oscillator, q0, v0, dt=0.1, steps=3, method="rk3")


def test_unknown_option_is_type_error() -> None:
    q0, v0, _ = random_state((1,))
    with pytest.raises(TypeError, match="'leapfrog' got unknown option.*rtol"):
        rollout(oscillator, q0, v0, dt=0.1, steps=3, method="leapfrog", rtol=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dt": 0.0, "steps": 3}, "dt must be finite and non-zero"),
        ({"dt": math.nan, "steps": 3}, "dt must be"),
        ({"dt": 0.1, "steps": -1}, "steps must be >= 0"),
        ({"dt": 0.1, "steps": 3, "on_nonfinite": "ignore"}, "on_nonfinite"),
        ({"dt": 0.1, "steps": 3, "t0": torch.zeros(2, dtype=F64)}, r"t0 must be .*\(7,\)"),
        ({"dt": 0.1, "steps": 3, "compile": "yes"}, r"compile must be True, False or 'auto'"),
        ({"dt": 0.1, "steps": 3, "compile": 1}, r"compile must be .*got 1"),
        ({"dt": 0.1, "steps": 3, "compile": None}, r"compile must be .*got None"),
    ],
)
def test_bad_arguments(kwargs, match) -> None:
    q0, v0, _ = random_state((1,))
    with pytest.raises(ValueError, match=match):
        rollout(oscillator, q0, v0, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dt": 0.1, "steps": 2.0}, "steps must be an integer"),
        ({"dt": "0.1", "steps": 2}, "dt must be a real number"),
        ({"dt": 0.1, "steps": 2, "t0": "0"}, "t0 must be a real number"),
        ({"dt": 0.1, "steps": 2, "progress": 3}, "progress must be None or a callable"),
    ],
)
def test_bad_argument_types(kwargs, match) -> None:
    q0, v0, _ = random_state((1,))
    with pytest.raises(TypeError, match=match):
        rollout(oscillator, q0, v0, **kwargs)


def test_bad_states() -> None:
    q0 = torch.zeros(3, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"q0 and v0 must have the same shape.*\(3, 2\).*\(3, 1\)"):
        rollout(oscillator, q0, torch.zeros(3, 1, dtype=F64), dt=0.1, steps=2)
    with pytest.raises(ValueError, match=r"q0 and p0 must have the same shape"):
        rollout(
            hamiltonian_vector_field(H_kepler), q0, torch.zeros(3, 1, dtype=F64), dt=0.1, steps=2
        )
    bad = q0.clone()
    bad[2, 1] = math.nan
    with pytest.raises(ValueError, match=r"^v0 contains NaN \(first at index \(2, 1\)\)"):
        rollout(oscillator, q0, bad, dt=0.1, steps=2)
    with pytest.raises(TypeError, match="field must be a VectorField or a callable"):
        rollout("oscillator", q0, q0, dt=0.1, steps=2)


def blows_up(q, v):
    return q**3  # q' = v, v' = q^3: finite-time blow-up


@pytest.mark.parametrize("method", ["rk4", "leapfrog", "euler", "yoshida4"])
def test_nonfinite_mid_rollout_raises_naming_step_and_batch(method) -> None:
    q0 = torch.tensor([[0.1], [2.0], [0.5]], dtype=F64)
    with pytest.raises(NonFiniteStateError, match=r"at step \d+ .* in batch element 1") as info:
        rollout(blows_up, q0, torch.zeros_like(q0), dt=0.1, steps=500, method=method)
    err = info.value
    assert err.batch_index == 1 and 1 < err.step < 500
    # the partial trajectory ends right before that step and is finite
    traj = rollout(
        blows_up, q0, torch.zeros_like(q0), dt=0.1, steps=500, method=method, on_nonfinite="return"
    )
    assert traj.stopped_at == err.step
    assert traj.q.shape[0] == err.step == traj.t.shape[0]
    assert torch.isfinite(traj.q).all() and torch.isfinite(traj.v).all()


def test_implicit_midpoint_blow_up_is_a_divergence_naming_the_step() -> None:
    q0 = torch.tensor([[0.1], [2.0], [0.5]], dtype=F64)
    with pytest.raises(ConvergenceError, match=r"rollout step \d+ .*diverged") as info:
        rollout(blows_up, q0, torch.zeros_like(q0), dt=0.1, steps=500, method="implicit_midpoint")
    assert 1 < info.value.step < 500


def test_implicit_midpoint_reports_a_field_that_is_nonfinite_at_the_state() -> None:
    def field(q, v):  # NaN at a finite state: the rollout names the step
        return torch.where(q > 1.0, math.nan, 1.0 + 0.0 * q)

    q0 = torch.tensor([[0.0], [0.999]], dtype=F64)
    with pytest.raises((NonFiniteStateError, ConvergenceError)) as info:
        rollout(field, q0, torch.zeros_like(q0), dt=0.1, steps=50, method="implicit_midpoint")
    assert info.value.step is not None


def test_nonfinite_from_dopri5_is_located() -> None:
    def field(q, v):  # NaN once |q| > 2
        return torch.where(q.abs() > 2.0, math.nan, 1.0 + 0.0 * q)

    q0 = torch.tensor([[0.0], [1.0]], dtype=F64)
    with pytest.raises(NonFiniteStateError, match="in batch element 1"):
        rollout(field, q0, torch.zeros_like(q0), dt=0.1, steps=40, method="dopri5")
    traj = rollout(
        field, q0, torch.zeros_like(q0), dt=0.1, steps=40, method="dopri5", on_nonfinite="return"
    )
    assert traj.stopped_at is not None and torch.isfinite(traj.q).all()
    assert 10 <= traj.stopped_at <= 16  # q = 1 + t^2/2 passes 2 at t = 1.41


def test_dopri5_failure_without_nan_is_convergence_error() -> None:
    q0 = torch.tensor([[1.0]], dtype=F64)
    with pytest.raises(ConvergenceError, match="more than max_num_steps=6 .* at step 1"):
        rollout(
            oscillator, q0, torch.zeros_like(q0), dt=1.0, steps=3, method="dopri5", max_num_steps=6
        )


@pytest.mark.parametrize("method", ["leapfrog", "symplectic_euler", "yoshida4"])
def test_splitting_method_refuses_velocity_dependent_field(method) -> None:
    q0, v0, _ = random_state((3,))
    with pytest.raises(ValueError, match="depends on the velocity.*'implicit_midpoint'"):
        rollout(lagrangian_vector_field(L_charge), q0, v0, dt=0.01, steps=3, method=method)
    from ._closed_forms import H_charge

    with pytest.raises(ValueError, match="not separable.*'implicit_midpoint'"):
        rollout(hamiltonian_vector_field(H_charge), q0, v0, dt=0.01, steps=3, method=method)


def test_implicit_midpoint_handles_velocity_dependent_field() -> None:
    from ._closed_forms import a_charge

    q0, v0, _ = random_state((3,), batch=3)
    traj = rollout(
        lambda q, v: a_charge(q, v, None), q0, v0, dt=0.05, steps=20, method="implicit_midpoint"
    )
    # the speed is conserved exactly by the midpoint rule (a quadratic invariant)
    speed = (traj.v**2).sum(-1)
    assert torch.allclose(speed, speed[0].expand_as(speed), rtol=1e-12)


def test_implicit_midpoint_nonconvergence_names_step() -> None:
    q0 = torch.ones(2, 1, dtype=F64)
    stiff = SecondOrderField(lambda q, v: -400.0 * q - 30.0 * v)
    with pytest.raises(
        ConvergenceError, match=r"rollout step 1 \(t = 0.5\).*did not converge|diverged"
    ) as info:
        rollout(stiff, q0, q0, dt=0.5, steps=5, method="implicit_midpoint", max_iter=20)
    assert info.value.step == 1
    slow = SecondOrderField(lambda q, v: -q)
    with pytest.raises(ConvergenceError, match=r"step 1 .*did not converge in 1 iterations"):
        rollout(slow, q0, q0, dt=0.1, steps=3, method="implicit_midpoint", max_iter=1)


def test_singular_mass_matrix_during_rollout_names_step_and_batch() -> None:
    # M = diag(exp(-q_0), 1): the condition number exp(q_0) passes 10 at q_0 = 2.3,
    # which element 1 (q_0(t) = -2 log(1 - t/2)) reaches at t = 1.37
    def L(q, v):  # noqa: N802
        return 0.5 * torch.exp(-q[:, 0]) * v[:, 0] ** 2 + 0.5 * v[:, 1] ** 2

    q0 = torch.zeros(2, 2, dtype=F64)
    v0 = torch.tensor([[0.1, 0.0], [1.0, 0.0]], dtype=F64)
    f = lagrangian_vector_field(L, max_condition=10.0)
    with pytest.raises(SingularMassMatrixError, match=r"rollout step 2\d .*batch index 1") as info:
        rollout(f, q0, v0, dt=0.05, steps=40, method="rk4")
    assert info.value.step in range(26, 29) and info.value.batch_index == 1
    assert 10.0 < info.value.condition < 11.0


# ------------------------------------------------------------------ gradients and inputs


class TinyL(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.v = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)).double()

    def forward(self, q, qdot):
        return 0.5 * qdot[:, 0] ** 2 - self.v(q)[:, 0]


@pytest.mark.parametrize("method", ["rk4", "leapfrog", "implicit_midpoint", "dopri5"])
def test_gradients_flow_through_short_rollouts(method) -> None:
    L = TinyL()
    q0, v0, _ = random_state((1,), batch=4)
    traj = rollout(lagrangian_vector_field(L), q0, v0, dt=0.05, steps=5, method=method)
    assert traj.q.requires_grad
    traj.q[-1].pow(2).sum().backward()
    grads = [p.grad for p in list(L.v.parameters())[:-1]]  # the last bias shifts L only
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_gradient_wrt_initial_state_matches_finite_differences() -> None:
    q0, v0, _ = random_state((1,), batch=2)
    f = lagrangian_vector_field(L_oscillator)

    def end(q, v):
        return rollout(f, q, v, dt=0.1, steps=2, method="rk4").q[-1]

    assert torch.autograd.gradcheck(end, (q0.requires_grad_(), v0.requires_grad_()), fast_mode=True)


def test_no_graph_under_no_grad() -> None:
    L = TinyL()
    q0, v0, _ = random_state((1,), batch=2)
    with torch.no_grad():
        traj = rollout(lagrangian_vector_field(L), q0, v0, dt=0.05, steps=3)
    assert not traj.q.requires_grad


@pytest.mark.parametrize("method", ALL)
def test_inputs_not_modified(method) -> None:
    q0, v0, t0 = random_state((2,), batch=3)
    copies = q0.clone(), v0.clone(), t0.clone()
    traj = rollout(oscillator, q0, v0, dt=0.1, steps=3, method=method, t0=t0)
    traj.q.add_(1.0)  # the trajectory does not alias the inputs either
    for a, b in zip((q0, v0, t0), copies, strict=True):
        assert torch.equal(a, b)


def test_float32_rollout() -> None:
    q0, v0, _ = random_state((3,), batch=3, dtype=torch.float32)
    traj = rollout(lagrangian_vector_field(L_kepler), q0, v0, dt=0.01, steps=10, method="leapfrog")
    assert traj.q.dtype == traj.t.dtype == torch.float32
    assert torch.isfinite(traj.q).all()


# ------------------------------------------------------------------ progress and compile


@pytest.mark.parametrize("method", ["rk4", "implicit_midpoint", "dopri5"])
def test_progress_reports_the_rollout_advancing(method) -> None:
    q0, v0, _ = random_state((1,), batch=3)
    calls = []
    rollout(
        oscillator, q0, v0, dt=0.01, steps=150, method=method, progress=lambda *a: calls.append(a)
    )
    assert calls[-1] == (150, 150) and all(total == 150 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and calls.count((150, 150)) == 1
    if method != "dopri5":  # the adaptive solver reports the grid points it passes
        assert done == [64, 128, 150]


def test_progress_ends_at_total_when_the_rollout_stops_early() -> None:
    q0 = torch.tensor([[0.1], [2.0], [0.5]], dtype=F64)
    calls = []
    traj = rollout(
        blows_up,
        q0,
        torch.zeros_like(q0),
        dt=0.1,
        steps=500,
        on_nonfinite="return",
        progress=lambda *a: calls.append(a),
    )
    assert traj.stopped_at is not None and calls[-1] == (500, 500)


def test_compile_true_checks_the_first_step_eagerly() -> None:
    def writes(q, v):  # refused on its first call, before anything is compiled
        q.mul_(2.0)
        return -q

    q0, v0, _ = random_state((1,), batch=3)
    kept = q0.clone()
    with pytest.raises(ValueError, match="modified its input q in place"):
        rollout(writes, q0, v0, dt=0.1, steps=5, compile=True)
    assert torch.equal(q0, kept)


def test_auto_leaves_short_rollouts_eager(monkeypatch) -> None:
    from symnet.mechanics import _stepping

    def refuse(*args, **kwargs):
        raise AssertionError("a short rollout was compiled")

    monkeypatch.setattr(_stepping, "StepEngine", refuse)
    q0, v0, _ = random_state((1,), batch=3)
    traj = rollout(oscillator, q0, v0, dt=0.01, steps=20)  # compile="auto" by default
    assert traj.q.shape == (21, 3, 1)
