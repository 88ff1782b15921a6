"""``rollout(..., every=k)``: the recorded rows are rows ``::k`` of ``every=1``, exactly.

The states in between are still computed and checked (NaN/inf and the
field's own checks name the true step); only what is kept changes.
"""

from __future__ import annotations

import pytest
import torch

from symnet.mechanics import (
    NonFiniteStateError,
    SingularMassMatrixError,
    _stepping,
    as_vector_field,
    hamiltonian_vector_field,
    integrators,
    lagrangian_vector_field,
    rollout,
)
from symnet.mechanics.methods import get_integrator

from ._closed_forms import F64, random_state, rel

FIXED = sorted(name for name in integrators if not get_integrator(name).adaptive)


def accel(q, v, t):  # time-dependent, velocity-free: every method applies
    return -q + 0.3 * torch.sin(2.0 * t)[:, None]


def blows_up(q, v):
    return q**3  # q' = v, v' = q^3: finite-time blow-up


def nan_beyond(q, v):
    return torch.where(q.abs() < 3.0, torch.ones_like(q), torch.nan)  # q = q0 + t^2 / 2


def H_sep(q, p):  # noqa: N802
    return 0.5 * (p**2).sum(-1) + 0.5 * (q**2).sum(-1) + 0.1 * (q**4).sum(-1)


def assert_rows(thin, full, every: int) -> None:
    """``thin`` holds exactly (bitwise) the rows ``::every`` of ``full``."""
    for name in ("t", "q", "v"):
        a, b = getattr(thin, name), getattr(full, name)[::every]
        assert a.shape == b.shape, name
        assert torch.equal(a, b), name
    assert (thin.method, thin.dt, thin.stopped_at) == (full.method, full.dt, full.stopped_at)


def state(batch=5, shape=(2,), dtype=F64):
    q, v, _ = random_state(shape, batch=batch, dtype=dtype)
    return q, v


@pytest.mark.parametrize("every", [3, 5, 64, 150])
@pytest.mark.parametrize("method", FIXED)
def test_fixed_step_rows_equal_every_1(method, every) -> None:
    q0, v0 = state()
    run = dict(dt=0.02, steps=every * -(-150 // every), method=method, t0=0.3)
    full = rollout(accel, q0, v0, compile=False, **run)
    thin = rollout(accel, q0, v0, compile=False, every=every, **run)
    assert len(thin) == run["steps"] // every + 1
    assert_rows(thin, full, every)
    assert float(thin.t[-1, 0]) == pytest.approx(0.3 + 0.02 * run["steps"])


def test_dopri5_keeps_every_kth_point_of_its_output_grid() -> None:
    q0, v0 = state(batch=3)
    run = dict(dt=0.1, steps=20, method="dopri5", compile=False)
    full = rollout(accel, q0, v0, **run)
    thin = rollout(accel, q0, v0, every=4, **run)
    assert len(thin) == 6
    assert_rows(thin, full, 4)


@pytest.mark.parametrize("method", ["leapfrog", "rk4"])
def test_hamiltonian_field_and_float32(method) -> None:
    f = hamiltonian_vector_field(H_sep)
    q0, p0 = state(dtype=torch.float32)
    full = rollout(f, q0, p0, dt=0.05, steps=130, method=method, compile=False)
    thin = rollout(f, q0, p0, dt=0.05, steps=130, method=method, compile=False, every=13)
    assert_rows(thin, full, 13)
    assert torch.equal(thin.p, full.p[::13])


def test_zero_steps_and_every_equal_to_steps() -> None:
    q0, v0 = state()
    none = rollout(accel, q0, v0, dt=0.1, steps=0, every=4, compile=False)
    assert len(none) == 1 and torch.equal(none.q[0], q0) and torch.equal(none.v[0], v0)
    ends = rollout(accel, q0, v0, dt=0.1, steps=70, every=70, compile=False)
    full = rollout(accel, q0, v0, dt=0.1, steps=70, compile=False)
    assert len(ends) == 2
    assert_rows(ends, full, 70)


def test_bad_every_is_an_error_naming_it() -> None:
    q0, v0 = state()
    for bad in (0, -2):
        with pytest.raises(ValueError, match="every must be >= 1"):
            rollout(accel, q0, v0, dt=0.1, steps=10, every=bad)
    with pytest.raises(ValueError, match=r"multiple of every.*steps=10 and every=3"):
        rollout(accel, q0, v0, dt=0.1, steps=10, every=3)
    for bad in (2.0, True, "2"):
        with pytest.raises(TypeError, match="every must be an integer"):
            rollout(accel, q0, v0, dt=0.1, steps=10, every=bad)
    assert len(rollout(accel, q0, v0, dt=0.1, steps=10, every=torch.tensor(5))) == 3


@pytest.mark.parametrize("every", [1, 4, 7, 64])
@pytest.mark.parametrize("method", ["leapfrog", "rk4", "dopri5"])
def test_nonfinite_state_names_the_true_step(method, every) -> None:
    # element 1 (q0 = 2) reaches |q| = 3 first, at t = 1.41: step 142 or so, no multiple of 4, 7, 64
    q0 = torch.tensor([[0.1], [2.0], [0.5]], dtype=F64)
    v0 = torch.zeros_like(q0)
    run = dict(dt=0.01, steps=448, method=method, compile=False)
    with pytest.raises(NonFiniteStateError) as ref:
        rollout(nan_beyond, q0, v0, **run)
    with pytest.raises(NonFiniteStateError) as info:
        rollout(nan_beyond, q0, v0, every=every, **run)
    assert (info.value.step, info.value.batch_index) == (ref.value.step, 1)
    assert ref.value.step % 4 and ref.value.step % 7 and ref.value.step % 64
    assert str(info.value) == str(ref.value)
    full = rollout(nan_beyond, q0, v0, on_nonfinite="return", **run)
    thin = rollout(nan_beyond, q0, v0, on_nonfinite="return", every=every, **run)
    k = ref.value.step
    assert full.stopped_at == thin.stopped_at == k and len(full) == k
    assert len(thin) == (k - 1) // every + 1  # the recorded steps 0, every, ... below k
    assert_rows(thin, full, every)
    assert torch.isfinite(thin.q).all() and torch.isfinite(thin.v).all()


def test_singular_mass_matrix_names_the_true_step() -> None:
    # M = diag(exp(-q_0), 1): element 1 passes condition number 10 at step 26-28
    def L(q, v):  # noqa: N802
        return 0.5 * torch.exp(-q[:, 0]) * v[:, 0] ** 2 + 0.5 * v[:, 1] ** 2

    q0 = torch.zeros(2, 2, dtype=F64)
    v0 = torch.tensor([[0.1, 0.0], [1.0, 0.0]], dtype=F64)
    f = lagrangian_vector_field(L, max_condition=10.0)
    errors = []
    for every in (1, 5):
        with pytest.raises(SingularMassMatrixError) as info:
            rollout(f, q0, v0, dt=0.05, steps=40, method="rk4", every=every, compile=False)
        errors.append(info.value)
    assert errors[0].step in range(26, 29)
    assert (errors[1].step, errors[1].batch_index) == (errors[0].step, errors[0].batch_index)
    assert str(errors[1]) == str(errors[0])


def test_progress_counts_steps_not_rows() -> None:
    q0, v0 = state()
    calls: list[list[tuple[int, int]]] = [[], []]
    for every, out in ((1, calls[0]), (5, calls[1])):
        rollout(
            accel,
            q0,
            v0,
            dt=0.05,
            steps=150,
            every=every,
            compile=False,
            progress=lambda *a, out=out: out.append(a),
        )
    assert calls[0] == calls[1] == [(64, 150), (128, 150), (150, 150)]


def test_memory_holds_the_recorded_states_and_one_block() -> None:
    q0, v0 = state()
    times = 0.01 * torch.arange(1001, dtype=F64)[:, None].expand(1001, 5)
    leapfrog = get_integrator("leapfrog")()
    rec, finite = _stepping.run_fixed(
        as_vector_field(accel), leapfrog, q0, v0, times, 0.01, 1000, False, None, every=100
    )
    assert finite
    held = len(rec.kept_x) + len(rec.xs)
    assert held <= 11 + _stepping.CHECK_EVERY + 1
    xs, ys = rec.stacked()
    assert xs.shape == (11, 5, 2) and ys.shape == (11, 5, 2)


def test_gradients_flow_through_the_recorded_states() -> None:
    q0, v0 = state(batch=2)
    q0.requires_grad_(True)
    full = rollout(accel, q0, v0, dt=0.1, steps=12, method="leapfrog", compile=False)
    thin = rollout(accel, q0, v0, dt=0.1, steps=12, method="leapfrog", compile=False, every=4)
    (g_full,) = torch.autograd.grad(full.q[::4].square().sum(), q0)
    (g_thin,) = torch.autograd.grad(thin.q.square().sum(), q0)
    assert torch.equal(g_thin, g_full)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["leapfrog", "rk4", "implicit_midpoint"])
def test_compiled_rows_equal_eager(method) -> None:
    q0, v0 = state()
    run = dict(dt=0.02, steps=140, method=method, t0=0.3)
    eager = rollout(accel, q0, v0, compile=False, every=7, **run)
    full = rollout(accel, q0, v0, compile=True, **run)
    thin = rollout(accel, q0, v0, compile=True, every=7, **run)
    assert_rows(thin, full, 7)  # the same compiled steps, thinned
    assert thin.t.shape == eager.t.shape and torch.equal(thin.t, eager.t)
    assert rel(thin.q, eager.q) < 1e-12 and rel(thin.v, eager.v) < 1e-12


@pytest.mark.slow
def test_compiled_nonfinite_step_equals_eager() -> None:
    q0 = torch.tensor([[0.1], [2.0], [0.5]], dtype=F64)
    v0 = torch.zeros_like(q0)
    run = dict(dt=0.1, steps=140, method="leapfrog", every=7, on_nonfinite="return")
    eager = rollout(blows_up, q0, v0, compile=False, **run)
    compiled = rollout(blows_up, q0, v0, compile=True, **run)
    assert compiled.stopped_at == eager.stopped_at is not None
    assert compiled.q.shape == eager.q.shape
    assert rel(compiled.q, eager.q) < 1e-12 and rel(compiled.v, eager.v) < 1e-12
