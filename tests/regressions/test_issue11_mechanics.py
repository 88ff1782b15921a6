"""Issue 11, items 3, 4, 7, 9, 11, 12 and 19 in ``symnet.mechanics``.

Item 3: a Lagrangian or Hamiltonian whose gradient misses part of its value
(``torch.no_grad()``, ``.detach()``) gave wrong equations of motion without an
error. Item 4: an extra defaulted parameter (``L(q, qdot, k=4.0)``) received
the time. Item 7: a field returning the wrong shape was broadcast into the
state. Item 9: a field that writes into its arguments changed the caller's
``q0``. Item 11: an adaptive rollout of a stiff field ran without bound.
Item 12: a float64 state into a float32 model gave an unhelpful error.
Item 19: rollout options were not validated. Last: a rollout that reaches
NaN/inf raises :class:`NonFiniteStateError` for every method.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from symnet.mechanics import (
    ConvergenceError,
    HamiltonianField,
    NonFiniteStateError,
    SecondOrderField,
    hamiltonian_vector_field,
    integrators,
    lagrangian_vector_field,
    mass_matrix,
    momentum,
    rollout,
)
from symnet.mechanics.methods import Dopri5

F64 = torch.float64
ALL = sorted(integrators)


def _state(batch: int = 3, n: int = 2, dtype: torch.dtype = F64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, n, generator=g, dtype=F64).to(dtype)
    v = torch.randn(batch, n, generator=g, dtype=F64).to(dtype)
    return q, v


def _kinetic(v):
    return 0.5 * (v**2).sum(-1)


def L_ok(q, qdot):  # noqa: N802
    return _kinetic(qdot) - 0.5 * (q**2).sum(-1)


def H_ok(q, p):  # noqa: N802
    return _kinetic(p) + 0.5 * (q**2).sum(-1)


# ------------------------------------------------------------------ item 3: gradients lost


def L_no_grad(q, qdot):  # noqa: N802
    with torch.no_grad():
        V = 0.5 * (q**2).sum(-1)
    return _kinetic(qdot) - V


def L_detached(q, qdot):  # noqa: N802
    return _kinetic(qdot) - 0.5 * (q.detach() ** 2).sum(-1)


def L_numpy(q, qdot):  # noqa: N802
    V = torch.as_tensor(0.5 * (q.detach().numpy() ** 2).sum(-1))
    return _kinetic(qdot) - V


def L_half_detached_kinetic(q, qdot):  # noqa: N802
    # M is invertible (the visible half), but the dynamics are wrong by a factor 2
    return 0.5 * _kinetic(qdot) + 0.5 * _kinetic(qdot.detach()) - 0.5 * (q**2).sum(-1)


@pytest.mark.parametrize(
    "L, arg",
    [(L_no_grad, "q"), (L_detached, "q"), (L_half_detached_kinetic, "qdot")],
    ids=["no_grad", "detach", "detached_kinetic"],
)
def test_item3_lagrangian_field_refuses_lost_gradients(L, arg) -> None:
    q = torch.ones(3, 1, dtype=F64)
    v = torch.zeros(3, 1, dtype=F64)
    with pytest.raises(ValueError, match=rf"L's autodiff derivative with respect to {arg} "):
        lagrangian_vector_field(L)(q, v)
    # through a rollout too, for every method
    for method in ALL:
        with pytest.raises(ValueError, match="invisible to autodiff"):
            rollout(lagrangian_vector_field(L), q, v, dt=0.1, steps=2, method=method)


def test_item3_numpy_lagrangian_is_a_clear_error() -> None:
    q, v = _state()
    with pytest.raises((RuntimeError, TypeError), match="numpy"):
        lagrangian_vector_field(L_numpy)(q, v)


def test_item3_momentum_and_mass_matrix_refuse_lost_gradients() -> None:
    q, v = _state()
    with pytest.raises(ValueError, match="with respect to qdot"):
        momentum(L_half_detached_kinetic)(q, v)
    with pytest.raises(ValueError, match="with respect to qdot"):
        mass_matrix(L_half_detached_kinetic)(q, v)
    with pytest.raises(ValueError, match="with respect to q "):
        mass_matrix(L_detached)(q, v)


def test_item3_hamiltonian_field_refuses_lost_gradients() -> None:
    def H_no_grad(q, p):  # noqa: N802
        with torch.no_grad():
            V = 0.5 * (q**2).sum(-1)
        return _kinetic(p) + V

    def H_detached_p(q, p):  # noqa: N802
        return _kinetic(p.detach()) + 0.5 * (q**2).sum(-1)

    q, p = torch.ones(3, 1, dtype=F64), torch.zeros(3, 1, dtype=F64)
    with pytest.raises(ValueError, match="H's autodiff derivative with respect to q "):
        hamiltonian_vector_field(H_no_grad)(q, p)
    with pytest.raises(ValueError, match="H's autodiff derivative with respect to p "):
        hamiltonian_vector_field(H_detached_p)(q, p + 1.0)


def test_item3_valid_fields_are_exact() -> None:
    q, v = torch.ones(3, 1, dtype=F64), torch.zeros(3, 1, dtype=F64)
    assert torch.equal(lagrangian_vector_field(L_ok)(q, v), -q)
    qdot, pdot = hamiltonian_vector_field(H_ok)(q, v)
    assert torch.equal(qdot, v) and torch.equal(pdot, -q)


def test_item3_probe_runs_once_per_field() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.Softplus(), nn.Linear(16, 1))  # float32
    calls = []

    def L(q, qdot):  # noqa: N802
        calls.append(1)
        return _kinetic(qdot) + net(q).squeeze(-1)

    f = lagrangian_vector_field(L)
    q, v = _state(batch=64, dtype=torch.float32)
    f(q, v)
    first = len(calls)
    f(q, v)
    later = len(calls) - first
    assert later < first  # the probe's evaluations are made on the first call only
    f(q, v)
    assert len(calls) - first == 2 * later
    # a float32 MLP is not a false alarm, and models still train through the field
    loss = f(q, v).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None for p in list(net.parameters())[:-1])  # not the last bias


def test_item3_probe_skipped_inside_a_torch_func_transform() -> None:
    f = hamiltonian_vector_field(H_ok)
    q, p = _state()
    jac = torch.func.jacrev(lambda x: f(x, p)[1])(q)  # first call inside a transform
    assert jac.shape == (3, 2, 3, 2)
    g = hamiltonian_vector_field(L_detached)  # a bad H is still caught at the first plain call
    t = torch.zeros(1, dtype=F64)
    torch.func.vmap(lambda a, b: g.derivative(a[None], b[None], t)[1][0])(q, p)
    with pytest.raises(ValueError, match="invisible to autodiff"):
        g(q, p)


# ------------------------------------------------------------------ item 4: defaulted parameters


def test_item4_defaulted_parameter_keeps_its_default() -> None:
    def L(q, qdot, k=4.0):  # noqa: N802
        return _kinetic(qdot) - 0.5 * k * (q**2).sum(-1)

    q, v = torch.ones(3, 1, dtype=F64), torch.zeros(3, 1, dtype=F64)
    f = lagrangian_vector_field(L)
    assert not f.uses_time
    torch.testing.assert_close(f(q, v, 7.0), -4.0 * q, rtol=1e-14, atol=0)

    def H(q, p, k=4.0):  # noqa: N802
        return _kinetic(p) + 0.5 * k * (q**2).sum(-1)

    h = hamiltonian_vector_field(H)
    assert not h.uses_time
    torch.testing.assert_close(h(q, v, 7.0)[1], -4.0 * q, rtol=1e-14, atol=0)
    g = SecondOrderField(lambda q, v, k=4.0: -k * q)
    assert not g.uses_time and torch.equal(g(q, v, 7.0), -4.0 * q)


@pytest.mark.parametrize("signature", ["t", "t_default", "time_default", "other_name"])
def test_item4_time_parameters_get_the_time(signature) -> None:
    def drive(q, qdot, t):
        return _kinetic(qdot) + q[:, 0] * t

    L = {
        "t": drive,
        "t_default": lambda q, qdot, t=0.0: drive(q, qdot, t),
        "time_default": lambda q, qdot, time=0.0: drive(q, qdot, time),
        "other_name": lambda q, qdot, s: drive(q, qdot, s),  # positional, no default
    }[signature]
    q, v = torch.zeros(3, 1, dtype=F64), torch.zeros(3, 1, dtype=F64)
    f = lagrangian_vector_field(L)
    assert f.uses_time
    torch.testing.assert_close(f(q, v, 2.5), torch.full_like(q, 2.5), rtol=1e-14, atol=0)


# ------------------------------------------------------------------ item 7: output shapes


@pytest.mark.parametrize(
    "field, match",
    [
        (lambda q, v: -q[:, :1], r"shape \(B, \*S\) = \(3, 2\).*returned shape \(3, 1\)"),
        (lambda q, v: torch.tensor(-1.0, dtype=F64), r"\(B, \*S\) = \(3, 2\).*a 0-d tensor"),
        (lambda q, v: -q[0], r"\(B, \*S\) = \(3, 2\).*returned shape \(2,\)"),
        (lambda q, v: -q.sum(), r"\(B, \*S\).*0-d tensor"),
        (lambda q, v: -q.float(), r"dtype torch.float64.*torch.float32"),
        (lambda q, v: -q.numpy(), r"as a Tensor.*ndarray"),
        (lambda q, v: (v, -q), r"as a Tensor.*tuple"),
    ],
    ids=["B1", "0d", "no_batch", "sum", "float32", "numpy", "pair"],
)
@pytest.mark.parametrize("method", ALL)
def test_item7_rollout_refuses_wrong_acceleration_shapes(field, match, method) -> None:
    q0, v0 = _state()
    with pytest.raises((ValueError, TypeError), match="field <lambda>") as info:
        rollout(field, q0, v0, dt=0.1, steps=2, method=method)
    assert info.match(match)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda q, p: p, r"must return the pair \(qdot, pdot\).*Tensor"),
        (lambda q, p: (p,), r"pair \(qdot, pdot\).*tuple of length 1"),
        (lambda q, p: (p, -q[:, :1]), r"pdot of shape \(B, \*S\) = \(3, 2\).*\(3, 1\)"),
        (lambda q, p: (p[0], -q), r"qdot of shape \(B, \*S\) = \(3, 2\).*\(2,\)"),
        (lambda q, p: (p, 0.0), r"pdot .*Tensor.*float"),
    ],
    ids=["single", "one_tuple", "pdot_B1", "qdot_no_batch", "float"],
)
@pytest.mark.parametrize("method", ["rk4", "leapfrog", "implicit_midpoint", "dopri5"])
def test_item7_hamiltonian_field_pairs_are_checked(fn, match, method) -> None:
    q0, p0 = _state()
    with pytest.raises((ValueError, TypeError), match="field <lambda>") as info:
        rollout(HamiltonianField(fn), q0, p0, dt=0.1, steps=2, method=method)
    assert info.match(match)


def test_item7_direct_field_calls_are_checked_and_valid_ones_pass() -> None:
    q, v = _state()
    with pytest.raises(ValueError, match=r"returned shape \(3, 1\)"):
        SecondOrderField(lambda q, v: -q[:, :1])(q, v)
    with pytest.raises(ValueError, match=r"returned shape \(3, 1\)"):
        HamiltonianField(lambda q, p: (p, -q[:, :1]))(q, v)
    assert torch.equal(SecondOrderField(lambda q, v: -q)(q, v), -q)
    # a list pair is fine and comes back as a tuple
    out = HamiltonianField(lambda q, p: [p, -q])(q, v)
    assert isinstance(out, tuple) and torch.equal(out[1], -q)


def test_item7_lagrangian_and_hamiltonian_outputs_are_checked() -> None:
    q, v = _state()
    with pytest.raises(ValueError, match=r"L must return one scalar per state"):
        lagrangian_vector_field(lambda q, qdot: L_ok(q, qdot)[:, None])(q, v)
    with pytest.raises(ValueError, match=r"H must return one scalar per state"):
        hamiltonian_vector_field(lambda q, p: H_ok(q, p)[:, None])(q, v)
    with pytest.raises(TypeError, match=r"L must return .*dtype torch.float64.*torch.float32"):
        lagrangian_vector_field(lambda q, qdot: L_ok(q, qdot).float())(q, v)
    with pytest.raises(TypeError, match=r"H must return .*dtype torch.float64.*torch.float32"):
        hamiltonian_vector_field(lambda q, p: H_ok(q, p).float())(q, v)
    with pytest.raises(TypeError, match=r"L must return .*dtype torch.float64"):
        momentum(lambda q, qdot: L_ok(q, qdot).float())(q, v)


# ------------------------------------------------------------------ item 9: inputs mutated


def _doubles_q(q, v):
    q.mul_(2.0)
    return -q


def _writes_v(q, v):
    v[:, 0] = 0.0
    return -q


def _writes_t(q, v, t):
    t.add_(1.0)
    return -q


@pytest.mark.parametrize("fn, arg", [(_doubles_q, "q"), (_writes_v, "qdot"), (_writes_t, "t")])
@pytest.mark.parametrize("method", ALL)
def test_item9_rollout_never_modifies_the_initial_state(fn, arg, method) -> None:
    q0, v0 = _state()
    t0 = torch.zeros(3, dtype=F64)
    copies = q0.clone(), v0.clone(), t0.clone()
    with pytest.raises(ValueError, match=rf"modified its input {arg} in place"):
        rollout(fn, q0, v0, dt=0.1, steps=3, method=method, t0=t0)
    for x, c in zip((q0, v0, t0), copies, strict=True):
        assert torch.equal(x, c)


def test_item9_direct_calls_never_modify_the_inputs() -> None:
    q, v = _state()
    copies = q.clone(), v.clone()
    with pytest.raises(ValueError, match="modified its input q in place"):
        SecondOrderField(_doubles_q)(q, v)

    def pair(q, p):
        p.zero_()
        return p, -q

    with pytest.raises(ValueError, match="modified its input p in place"):
        HamiltonianField(pair)(q, v)
    assert torch.equal(q, copies[0]) and torch.equal(v, copies[1])


def test_item9_a_field_that_writes_later_is_caught() -> None:
    calls = []

    def sometimes(q, v):
        calls.append(1)
        if len(calls) > 1:
            q.mul_(2.0)
        return -q

    f = SecondOrderField(sometimes)
    q, v = _state()
    f(q, v)
    with pytest.raises(ValueError, match="modified its input q in place"):
        f(q.clone(), v)
    # a rollout hands the field copies: the caller's q0 stays intact
    q0 = q.clone()
    with pytest.raises(ValueError, match="in place"):
        rollout(f, q0, v, dt=0.1, steps=3, method="euler")
    assert torch.equal(q0, q)


def test_item9_lagrangian_writing_into_its_inputs() -> None:
    def L(q, qdot):  # noqa: N802
        with torch.no_grad():
            q.mul_(2.0)
        return L_ok(q, qdot)

    q, v = _state()
    copy = q.clone()
    for build in (lagrangian_vector_field, momentum, mass_matrix):
        with pytest.raises((ValueError, RuntimeError), match="in place"):
            build(L)(q, v)
        assert torch.equal(q, copy)


# ------------------------------------------------------------------ item 11: stiff dopri5


def test_item11_dopri5_has_a_bounded_default_and_names_it() -> None:
    default = Dopri5.defaults["max_num_steps"]
    assert isinstance(default, int) and 100 <= default <= 100_000
    q0 = torch.ones(1, 1, dtype=F64)
    with pytest.raises(ConvergenceError, match=r"max_num_steps=20 .*raise it") as info:
        rollout(
            lambda q, v: -1e12 * q,
            q0,
            torch.zeros_like(q0),
            dt=1.0,
            steps=3,
            method="dopri5",
            max_num_steps=20,
        )
    assert info.value.step == 1


def test_item11_dopri5_stiff_field_stops_by_default() -> None:
    q0 = torch.ones(1, 1, dtype=F64)
    with pytest.raises(ConvergenceError, match=r"max_num_steps=\d+ \(the default\)"):
        rollout(lambda q, v: -1e12 * q, q0, torch.zeros_like(q0), dt=1.0, steps=3, method="dopri5")


@pytest.mark.parametrize(
    "value", [0, -5, True, 2.5, "100", None], ids=["0", "neg", "bool", "float", "str", "none"]
)
def test_item11_dopri5_options_validated(value) -> None:
    with pytest.raises((TypeError, ValueError), match="max_num_steps"):
        Dopri5(max_num_steps=value)
    for key in ("rtol", "atol"):
        with pytest.raises((TypeError, ValueError), match=key):
            Dopri5(**{key: "1e-7" if value == "100" else math.nan})
    Dopri5(max_num_steps=np.int64(50))


# ------------------------------------------------------------------ item 12: dtypes


def test_item12_float64_states_into_a_float32_model_name_the_dtypes() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))  # float32

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, q, qdot):
            return _kinetic(qdot) + self.net(torch.cat([q, qdot], -1)).squeeze(-1)

    model = Model()
    q, v = _state()  # float64
    hint = r"torch.float64 but the module's parameters are torch.float32.*\.to\("
    for build in (lagrangian_vector_field, momentum, mass_matrix, hamiltonian_vector_field):
        with pytest.raises(TypeError, match=hint):
            build(model)(q, v)
    with pytest.raises(TypeError, match=hint):
        rollout(lagrangian_vector_field(model), q, v, dt=0.1, steps=2)
    # the fix named in the message works
    lagrangian_vector_field(model)(q.float(), v.float())


def test_item12_models_trained_in_float32_get_the_hint() -> None:
    from symnet.models import HNN, LNN

    q, v = _state(n=1)
    with pytest.raises(TypeError, match="float32"):
        LNN(config_shape=(1,), hidden=8).acceleration(q, v)
    with pytest.raises(TypeError, match="float32"):
        HNN(config_shape=(1,), hidden=8).time_derivative(q, v)


# ------------------------------------------------------------------ item 19: rollout options


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"dt": "0.01"}, TypeError, "dt must be a real number"),
        ({"dt": True}, TypeError, "dt must be a real number"),
        ({"dt": None}, TypeError, "dt must be a real number"),
        ({"dt": math.nan}, ValueError, "dt must be finite"),
        ({"dt": math.inf}, ValueError, "dt must be finite"),
        ({"dt": -math.inf}, ValueError, "dt must be finite"),
        ({"dt": 0}, ValueError, "dt must be finite and non-zero"),
        ({"dt": torch.ones(2)}, TypeError, "dt must be a real number"),
        ({"steps": True}, TypeError, "steps must be an integer"),
        ({"steps": 2.0}, TypeError, "steps must be an integer"),
        ({"steps": "3"}, TypeError, "steps must be an integer"),
        ({"steps": -1}, ValueError, "steps must be >= 0"),
        ({"steps": np.int64(-2)}, ValueError, "steps must be >= 0"),
        ({"t0": math.nan}, ValueError, "t0 contains NaN"),
        ({"t0": math.inf}, ValueError, "t0 contains inf"),
        ({"t0": "0"}, TypeError, "t0 must be a real number or a tensor"),
        ({"t0": True}, TypeError, "t0 must be a real number or a tensor"),
        ({"t0": torch.zeros(2, dtype=F64)}, ValueError, r"t0 must be .*\(3,\)"),
        ({"method": ["rk4"]}, ValueError, "unknown integration method"),
        ({"on_nonfinite": None}, ValueError, "on_nonfinite"),
    ],
)
def test_item19_rollout_options_are_validated(kwargs, exc, match) -> None:
    q0, v0 = _state()
    run = {"dt": 0.1, "steps": 3, **kwargs}
    with pytest.raises(exc, match=match):
        rollout(lambda q, v: -q, q0, v0, **run)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": np.int64(4)},
        {"steps": np.int32(4)},
        {"steps": torch.tensor(4)},
        {"dt": np.float32(0.25)},
        {"dt": np.float64(0.25)},
        {"dt": torch.tensor(0.25, dtype=F64)},
        {"dt": 1, "steps": 0},
        {"t0": np.float32(1.0)},
        {"t0": 1},
    ],
)
def test_item19_integer_and_real_types_are_accepted(kwargs) -> None:
    q0, v0 = _state()
    run = {"dt": 0.25, "steps": 4, **kwargs}
    traj = rollout(lambda q, v: -q, q0, v0, **run)
    steps = int(run["steps"])
    assert traj.q.shape == (steps + 1, 3, 2)
    assert isinstance(traj.dt, float) and traj.dt == float(run["dt"])


# ------------------------------------------------------------------ diverged rollouts


@pytest.mark.parametrize("method", ALL)
def test_nonfinite_rollout_raises_for_every_method(method) -> None:
    def blows_up(q, v):
        return q**3  # finite-time blow-up

    q0 = torch.tensor([[0.1], [3.0]], dtype=F64)
    with pytest.raises((NonFiniteStateError, ConvergenceError)) as info:
        rollout(blows_up, q0, torch.zeros_like(q0), dt=0.1, steps=400, method=method)
    err = info.value
    assert err.step is not None and 1 <= err.step <= 400
    if isinstance(err, NonFiniteStateError):
        assert err.batch_index == 1


def test_diverged_but_finite_rollout_is_returned_as_is() -> None:
    # q = v = 2^k exactly (explicit Euler of q'' = q, dt = 1): 2^330 = 2.2e99 is finite, so the
    # rollout returns it (judging it is the caller's business: the Noether checker reports such
    # a run as inconclusive); one more doubling per step until 2^1024 = inf raises
    q0 = torch.ones(1, 1, dtype=F64)
    traj = rollout(lambda q, v: q, q0, q0, dt=1.0, steps=330, method="euler")
    assert torch.isfinite(traj.q).all() and float(traj.q[-1, 0, 0]) == 2.0**330
    with pytest.raises(NonFiniteStateError, match="at step 1024") as info:
        rollout(lambda q, v: q, q0, q0, dt=1.0, steps=1100, method="euler")
    assert info.value.step == 1024 and info.value.batch_index == 0
