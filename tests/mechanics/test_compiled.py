"""Compiled rollouts and fields agree with the eager ones: values, errors, cache, fallback.

Every test here compiles (about 1 s per small closed-form graph, a few
seconds for a Lagrangian through torch.func), so the fields are module-level
functions with a few shapes: the compiled artefacts are cached per source
and signature and shared between the tests.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch._dynamo.utils import counters

from symnet.mechanics import (
    CompileWarning,
    NonFiniteStateError,
    SingularMassMatrixError,
    _compile_cache,
    _stepping,
    compile_field,
    hamiltonian_vector_field,
    integrators,
    lagrangian_vector_field,
    rollout,
)
from symnet.mechanics.methods import get_integrator

from ._closed_forms import F64, random_state, rel

pytestmark = pytest.mark.slow

F32 = torch.float32
TOL = {F64: 1e-12, F32: 1e-5}


def accel(q, v, t):  # depends on time (stage times), not on v (every method applies)
    return -q + 0.3 * torch.sin(2.0 * t)[:, None]


def H_sep(q, p):  # noqa: N802
    return 0.5 * (p**2).sum(-1) + 0.5 * (q**2).sum(-1) + 0.1 * (q**4).sum(-1)


def L_exp(q, v):  # noqa: N802 - M = diag(exp(-q_0), 1): condition number exp(q_0)
    return 0.5 * torch.exp(-q[:, 0]) * v[:, 0] ** 2 + 0.5 * v[:, 1] ** 2


def blows_up(q, v):
    return q**3  # q' = v, v' = q^3: finite-time blow-up


def compiled_for(fn) -> int:
    """How many cached artefacts compiled from ``fn`` (a plain function or a source) are ready."""
    ident = ("object", id(fn))
    return sum(1 for key, a in _compile_cache._ENTRIES.items() if key[0][2] == ident and a.ready)


def state(dtype, batch=5, shape=(2,)):
    q, v, _ = random_state(shape, batch=batch, dtype=dtype)
    return q, v


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("method", sorted(integrators))
def test_compiled_rollout_matches_eager(method, dtype) -> None:
    q0, v0 = state(dtype)
    run = dict(dt=0.05, steps=70, method=method, t0=0.3)  # 70 steps: past a 64-step block
    eager = rollout(accel, q0, v0, compile=False, **run)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        compiled = rollout(accel, q0, v0, compile=True, **run)
    assert compiled_for(accel) >= 1
    assert torch.equal(compiled.t, eager.t) and compiled.q.shape == eager.q.shape
    assert rel(compiled.q, eager.q) < TOL[dtype] and rel(compiled.v, eager.v) < TOL[dtype]


@pytest.mark.parametrize("method", ["leapfrog", "rk4"])
def test_compiled_hamiltonian_rollout_matches_eager(method) -> None:
    f = hamiltonian_vector_field(H_sep, separable=True)
    q0, p0 = state(F64)
    eager = rollout(f, q0, p0, dt=0.05, steps=40, method=method, compile=False)
    compiled = rollout(f, q0, p0, dt=0.05, steps=40, method=method, compile=True)
    assert compiled_for(H_sep) >= 1
    assert rel(compiled.q, eager.q) < 1e-12 and rel(compiled.p, eager.p) < 1e-12


def exp_field():
    """A Lagrangian field through torch.func; the tests share its compiled rk4 step."""
    return lagrangian_vector_field(L_exp, max_condition=10.0)


def test_lagrangian_rollout_compiles_once_for_dt_halving_and_new_fields() -> None:
    q0 = torch.zeros(2, 2, dtype=F64)
    v0 = torch.tensor([[0.1, 0.3], [0.5, -0.2]], dtype=F64)  # q_0 stays below log(10)
    f = exp_field()
    eager = rollout(f, q0, v0, dt=0.05, steps=40, compile=False)
    compiled = rollout(f, q0, v0, dt=0.05, steps=40, compile=True)
    assert compiled_for(L_exp) >= 1
    assert rel(compiled.q, eager.q) < 1e-12 and rel(compiled.v, eager.v) < 1e-12
    # the checker's second rollout (dt / 2) and a new field from the same L: no new compile
    graphs, ours = counters["stats"]["unique_graphs"], _compile_cache.COUNTS["compiled"]
    again = exp_field()
    half = rollout(again, q0, v0, dt=0.025, steps=80, compile=True)
    assert counters["stats"]["unique_graphs"] == graphs
    assert _compile_cache.COUNTS["compiled"] == ours
    reference = rollout(again, q0, v0, dt=0.025, steps=80, compile=False)
    assert rel(half.q, reference.q) < 1e-12
    # another configuration of the same L is another artefact
    other = lagrangian_vector_field(L_exp, max_condition=100.0)
    other(q0, v0)
    again(q0, v0)
    assert _compile_cache.field_key(other)[0] != _compile_cache.field_key(again)[0]


@pytest.mark.parametrize("method", ["rk4", "implicit_midpoint"])
def test_singular_mass_matrix_raises_the_eager_error(method) -> None:
    # element 1 reaches q_0 = log(10) (condition number 10) at about step 27
    q0 = torch.zeros(2, 2, dtype=F64)
    v0 = torch.tensor([[0.1, 0.0], [1.0, 0.0]], dtype=F64)
    run = dict(dt=0.05, steps=40, method=method)
    with pytest.raises(SingularMassMatrixError) as eager:
        rollout(exp_field(), q0, v0, compile=False, **run)
    with pytest.raises(SingularMassMatrixError) as compiled:
        rollout(exp_field(), q0, v0, compile=True, **run)
    assert compiled_for(L_exp) >= 1
    assert (compiled.value.step, compiled.value.batch_index) == (
        eager.value.step,
        eager.value.batch_index,
    )
    assert eager.value.step in range(26, 29) and eager.value.batch_index == 1
    assert str(compiled.value) == str(eager.value)


@pytest.mark.parametrize("method", ["rk4", "leapfrog"])
def test_nonfinite_state_is_reported_at_the_same_step(method) -> None:
    q0 = torch.tensor([[0.1], [2.0], [0.5]], dtype=F64)
    v0 = torch.zeros_like(q0)
    run = dict(dt=0.1, steps=100, method=method)
    errors = []
    for mode in (False, True):
        with pytest.raises(NonFiniteStateError) as info:
            rollout(blows_up, q0, v0, compile=mode, **run)
        errors.append(info.value)
    assert str(errors[0]) == str(errors[1])
    assert (errors[0].step, errors[0].batch_index) == (errors[1].step, errors[1].batch_index)
    eager, compiled = (
        rollout(blows_up, q0, v0, compile=mode, on_nonfinite="return", **run)
        for mode in (False, True)
    )
    assert compiled.stopped_at == eager.stopped_at == errors[0].step
    assert rel(compiled.q, eager.q) < 1e-12 and rel(compiled.v, eager.v) < 1e-12


@pytest.mark.parametrize("mode", [False, True])
def test_progress_every_64_steps_and_at_the_end(mode) -> None:
    q0, v0 = state(F64)
    calls = []
    rollout(
        accel, q0, v0, dt=0.05, steps=150, t0=0.3, compile=mode, progress=lambda *a: calls.append(a)
    )
    assert calls == [(64, 150), (128, 150), (150, 150)]


def test_auto_compiles_when_the_steps_look_expensive(monkeypatch) -> None:
    q0 = torch.zeros(2, 2, dtype=F64)
    v0 = torch.tensor([[0.1, 0.3], [0.5, -0.2]], dtype=F64)
    ticks = iter(range(1000))
    rule = _stepping.AutoRule(clock=lambda: float(next(ticks)))  # 1 s per eager step
    times = 0.05 * torch.arange(41, dtype=F64)[:, None].expand(41, 2)
    rk4 = get_integrator("rk4")()
    used = []
    engine = _stepping.StepEngine

    def spy(*args):
        used.append(engine(*args))
        return used[-1]

    monkeypatch.setattr(_stepping, "StepEngine", spy)
    rec, finite = _stepping.run_fixed(exp_field(), rk4, q0, v0, times, 0.05, 40, "auto", None, rule)
    assert finite and rule.predicted == pytest.approx(36.0)
    assert len(used) == 1 and used[0].art.ready and not used[0].failed
    eager = rollout(exp_field(), q0, v0, dt=0.05, steps=40, compile=False)
    assert rel(rec.stacked()[0], eager.q) < 1e-12


def test_auto_never_compiles_a_rollout_that_records_a_graph(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("auto compiled a rollout that records a graph")

    monkeypatch.setattr(_stepping, "StepEngine", refuse)
    ticks = iter(range(1000))
    rule = _stepping.AutoRule(clock=lambda: float(next(ticks)))
    q0 = torch.zeros(2, 2, dtype=F64, requires_grad=True)
    v0 = torch.tensor([[0.1, 0.3], [0.5, -0.2]], dtype=F64)
    times = 0.05 * torch.arange(11, dtype=F64)[:, None].expand(11, 2)
    rk4 = get_integrator("rk4")()
    rec, _ = _stepping.run_fixed(exp_field(), rk4, q0, v0, times, 0.05, 10, "auto", None, rule)
    assert rec.xs[-1].requires_grad and rule.start is None


def test_compile_field_values_gradients_and_errors() -> None:
    k = torch.tensor(1.3, dtype=F64, requires_grad=True)

    def L_param(q, v):  # noqa: N802
        return 0.5 * (v**2).sum(-1) - 0.5 * k * (q**2).sum(-1) - 0.1 * k * (q**4).sum(-1)

    eager = lagrangian_vector_field(L_param)
    fast = compile_field(eager)
    assert type(fast) is type(eager) and fast.source is L_param and fast is not eager
    q, v, t = random_state((2,), batch=4)
    fast(q, v, t)  # first call: eager and checked
    a = fast(q, v, t)
    assert compiled_for(L_param) == 1
    e = eager(q, v, t)
    assert rel(a, e) < 1e-12
    (ga,) = torch.autograd.grad((a**2).sum(), k)
    (ge,) = torch.autograd.grad((e**2).sum(), k)
    assert rel(ga, ge) < 1e-12
    # a singular mass matrix in a compiled call raises the eager field's error
    singular = lagrangian_vector_field(L_exp, max_condition=10.0)
    fast = compile_field(singular)
    good = torch.zeros(2, 2, dtype=F64)
    bad = torch.tensor([[0.0, 0.0], [2.5, 0.0]], dtype=F64)
    fast(good, good)
    fast(good, good)  # compiled
    with pytest.raises(SingularMassMatrixError) as eager_err:
        singular(bad, good)
    with pytest.raises(SingularMassMatrixError) as fast_err:
        fast(bad, good)
    assert str(fast_err.value) == str(eager_err.value) and fast_err.value.batch_index == 1


def test_compiler_failure_falls_back_with_one_warning_line() -> None:
    def item_field(q, v):  # .item() under fullgraph=True: dynamo refuses to compile it
        return -q * float(q.abs().max() >= 0)

    q0, v0 = state(F64)
    eager = rollout(item_field, q0, v0, dt=0.05, steps=20, compile=False)
    with pytest.warns(CompileWarning) as record:
        compiled = rollout(item_field, q0, v0, dt=0.05, steps=20, compile=True)
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message and "torch.compile failed" in message and "eagerly" in message
    assert torch.equal(compiled.q, eager.q) and torch.equal(compiled.v, eager.v)


def test_torch_compile_raising_falls_back(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here\nsecond line")

    def field(q, v):  # a new source: nothing cached
        return -2.0 * q

    monkeypatch.setattr(torch, "compile", broken)
    q0, v0 = state(F64)
    with pytest.warns(CompileWarning, match="no compiler here") as record:
        compiled = rollout(field, q0, v0, dt=0.05, steps=10, method="leapfrog", compile=True)
    assert len(record) == 1 and "second line" not in str(record[0].message)
    eager = rollout(field, q0, v0, dt=0.05, steps=10, method="leapfrog", compile=False)
    assert torch.equal(compiled.q, eager.q)
    fast = compile_field(field)
    with pytest.warns(CompileWarning, match="no compiler here"):
        for _ in range(3):
            out = fast(q0, v0)
    assert torch.equal(out, -2.0 * q0)
    assert not math.isnan(float(out.sum()))
