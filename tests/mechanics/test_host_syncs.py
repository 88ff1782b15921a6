"""No host round-trips per step: rollouts and checks read the device a bounded number of times.

On CUDA every ``.item()``, ``float(t)``, ``int(t)``, ``bool(t)``, ``if t:``
and ``t.tolist()`` of a device tensor waits for the device. All of them go
through the aten op ``_local_scalar_dense``, which a dispatch mode counts on
CPU too: the number of such reads of an eager rollout (``compile=False``) or
of a Noether check must not grow with the number of steps. A constant number
(validation, the checks of the first step, the final report) is fine, and so
is one read per block of :data:`~symnet.mechanics._stepping.CHECK_EVERY`
steps (the NaN/inf and mass-matrix checks).
"""

from __future__ import annotations

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Permutation, TimeShift
from symnet.mechanics import (
    NonFiniteStateError,
    SingularMassMatrixError,
    as_vector_field,
    get_integrator,
    hamiltonian_vector_field,
    integrators,
    lagrangian_vector_field,
    rollout,
)
from symnet.mechanics._deferred import Deferred
from symnet.mechanics._stepping import CHECK_EVERY
from tests._host_reads import host_reads

F64 = torch.float64


def test_counter_counts_every_kind_of_read() -> None:
    x = torch.arange(3.0)
    with host_reads() as r:
        float(x[0]), int(x[1]), bool(x[2]), x[0].item()
        x.tolist(), x.cpu(), x.numpy()
        if x.sum():
            pass
    assert r.count == 4 + 3 + 1
    assert torch.Tensor.tolist(x) == [0.0, 1.0, 2.0]  # the methods are restored
    with host_reads() as r:
        (x * 2 + 1).sum()
    assert r.count == 0


# ------------------------------------------------------------------------------------- fields


def _lagrangian(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    """Two particles whose velocities are coupled in the kinetic term: a dense M.

    M is constant, so that the splitting methods apply too; the solve with it
    (and its checks) runs at every evaluation all the same.
    """
    kinetic = 0.5 * (qdot**2).sum((-2, -1)) + 0.2 * (qdot[..., 0, :] * qdot[..., 1, :]).sum(-1)
    return kinetic - 0.5 * (q**2).sum((-2, -1)) - 0.1 * (q**4).sum((-2, -1))


def _block_lagrangian(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    """Particles of masses 1 and 2 without coupling: M is block-diagonal per particle."""
    m = torch.tensor([1.0, 2.0], dtype=q.dtype, device=q.device)[:, None]
    return 0.5 * (m * qdot**2).sum((-2, -1)) - 0.5 * (q**2).sum((-2, -1))


def _hamiltonian(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return 0.5 * (p**2).sum((-2, -1)) + 0.5 * (q**2).sum((-2, -1)) + 0.1 * (q**4).sum((-2, -1))


def _counted(fn, calls: list[int]):  # noqa: ANN001, ANN202
    def wrapper(a, b):  # noqa: ANN001, ANN202
        calls[0] += 1
        return fn(a, b)

    return wrapper


FIELDS = {
    "lagrangian_dense": lambda c: lagrangian_vector_field(_counted(_lagrangian, c)),
    "lagrangian_block": lambda c: lagrangian_vector_field(
        _counted(_block_lagrangian, c), mass_structure="block"
    ),
    "hamiltonian": lambda c: hamiltonian_vector_field(_counted(_hamiltonian, c)),
    "function": lambda c: _counted(lambda q, v: -q - 0.1 * q**3, c),
}


def _state() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return 0.5 * torch.randn(4, 2, 2, generator=g, dtype=F64), torch.randn(
        4, 2, 2, generator=g, dtype=F64
    )


def _reads_of_rollout(kind: str, method: str, steps: int) -> tuple[int, int]:
    """Host reads of an eager rollout of a new field, and the calls of its function."""
    calls = [0]
    field = FIELDS[kind](calls)  # a new field: its first-call checks are counted every time
    q0, v0 = _state()
    with host_reads() as r:
        traj = rollout(field, q0, v0, dt=0.01, steps=steps, method=method, compile=False)
    assert traj.q.shape[0] == steps + 1 and torch.isfinite(traj.q).all()
    return r.count, calls[0]


def _reads_of_torchdiffeq(kind: str, steps: int) -> int:
    """Host reads of torchdiffeq's dopri5 alone on the same field (the field's flags deferred)."""
    from torchdiffeq import odeint

    field = as_vector_field(FIELDS[kind]([0]))
    q0, v0 = _state()
    t0 = torch.zeros(q0.shape[0], dtype=F64)
    field(q0, v0, t0)  # the first call's checks, outside the count
    options = get_integrator("dopri5")().options
    s = 0.01 * torch.arange(steps + 1, dtype=F64)
    with host_reads() as r, Deferred().step(1):
        odeint(
            lambda si, y: field.derivative(y[0], y[1], t0 + si),
            (q0, v0),
            s,
            method="dopri5",
            rtol=options["rtol"],
            atol=options["atol"],
        )
    return r.count


@pytest.mark.parametrize("kind", list(FIELDS))
@pytest.mark.parametrize("method", sorted(set(integrators) - {"dopri5", "implicit_midpoint"}))
def test_fixed_step_rollout_host_reads_do_not_grow_with_steps(kind: str, method: str) -> None:
    (short, _), (long, _) = (_reads_of_rollout(kind, method, n) for n in (10, 40))
    assert long == short, (short, long)
    # past blocks of CHECK_EVERY steps: two reads per block (the deferred
    # flags and the NaN/inf check), never one per step
    steps = 3 * CHECK_EVERY + 5
    many, _ = _reads_of_rollout(kind, method, steps)
    assert short < many <= short + 2 * (steps // CHECK_EVERY), (short, many)


@pytest.mark.parametrize("kind", list(FIELDS))
def test_implicit_midpoint_reads_once_per_iteration(kind: str) -> None:
    """The fixed-point iteration decides on the host when to stop: one read per iteration."""
    (short, calls_short), (long, calls_long) = (
        _reads_of_rollout(kind, "implicit_midpoint", n) for n in (10, 40)
    )
    # every iteration evaluates the field once; nothing else is read per step
    assert 0 < long - short <= calls_long - calls_short, (short, long, calls_short, calls_long)


@pytest.mark.parametrize("kind", list(FIELDS))
def test_dopri5_adds_no_reads_to_torchdiffeq(kind: str) -> None:
    """torchdiffeq's adaptive loop reads per internal step; symnet adds none per step."""
    (short, _), (long, _) = (_reads_of_rollout(kind, "dopri5", n) for n in (10, 40))
    bare = _reads_of_torchdiffeq(kind, 40) - _reads_of_torchdiffeq(kind, 10)
    assert long - short <= bare, (short, long, bare)


def test_dopri5_progress_reads_the_time_once_per_internal_step() -> None:
    q0, v0 = _state()
    counts = []
    for progress in (None, lambda done, total: None):
        with host_reads() as r:
            rollout(
                lambda q, v: -q,
                q0,
                v0,
                dt=0.01,
                steps=40,
                method="dopri5",
                compile=False,
                progress=progress,
            )
        counts.append(r.count)
    evaluations = [0]
    rollout(_counted(lambda q, v: -q, evaluations), q0, v0, dt=0.01, steps=40, method="dopri5")
    assert counts[1] - counts[0] <= evaluations[0] // 6 + 1, (counts, evaluations)


# ----------------------------------------------------------------- the deferred checks still raise


def _exp_lagrangian(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """M = diag(exp(-q_0), 1): condition number exp(q_0), past 10 at about step 27."""
    return 0.5 * torch.exp(-q[:, 0]) * v[:, 0] ** 2 + 0.5 * v[:, 1] ** 2


@pytest.mark.parametrize("method", ["euler", "rk4", "implicit_midpoint", "dopri5"])
def test_singular_mass_matrix_still_raised_with_the_checked_error(method: str) -> None:
    """The deferred flags raise the error a checked step raises: same step, index, message."""
    q0 = torch.zeros(2, 2, dtype=F64)
    v0 = torch.tensor([[0.1, 0.0], [1.0, 0.0]], dtype=F64)
    with pytest.raises(SingularMassMatrixError) as info:
        rollout(
            lagrangian_vector_field(_exp_lagrangian, max_condition=10.0),
            q0,
            v0,
            dt=0.05,
            steps=200,
            method=method,
            compile=False,
        )
    err = info.value
    assert err.batch_index == 1 and 10.0 < err.condition < 12.0
    if method == "dopri5":  # no step numbers from the adaptive solver
        return
    assert err.step in range(20, 35)
    assert str(err).startswith(f"rollout step {err.step} ")
    # the states before that step are finite; the field called (checked) at
    # them, then stepped once by hand, raises the same error
    traj = rollout(
        lagrangian_vector_field(_exp_lagrangian, max_condition=10.0),
        q0,
        v0,
        dt=0.05,
        steps=err.step - 1,
        method=method,
        compile=False,
    )
    assert torch.isfinite(traj.q).all()
    field = as_vector_field(lagrangian_vector_field(_exp_lagrangian, max_condition=10.0))
    integrator = get_integrator(method)()
    with pytest.raises(SingularMassMatrixError) as direct:
        integrator.step(field, traj.q[-1], traj.v[-1], traj.t[-1], 0.05, None)
    assert str(err).endswith(str(direct.value))


def test_nonfinite_state_still_located_exactly() -> None:
    q0 = torch.ones(3, 1, dtype=F64)
    v0 = torch.zeros(3, 1, dtype=F64)
    with pytest.raises(NonFiniteStateError) as info:
        rollout(lambda q, v: q**3 * 50, q0, v0, dt=0.1, steps=100, method="euler", compile=False)
    k = info.value.step
    traj = rollout(
        lambda q, v: q**3 * 50,
        q0,
        v0,
        dt=0.1,
        steps=100,
        method="euler",
        compile=False,
        on_nonfinite="return",
    )
    assert traj.stopped_at == k and torch.isfinite(traj.q).all()
    assert len(traj) == k


# --------------------------------------------------------------------------------- the checkers


def _reads_of_check(steps: int) -> int:
    system = S.IsotropicOscillator()
    q, v = system.sample_states(3, torch.Generator().manual_seed(1))
    with host_reads() as r:
        report = nt.check(
            system.lagrangian,
            system.symmetries,
            q,
            v,
            dt=0.01,
            steps=steps,
            method="rk4",
            compile=False,
            distributed=False,
        )
    assert all(v == "conserved" for v in report.verdicts.values()), str(report)
    return r.count


def test_noether_check_host_reads_do_not_grow_with_steps() -> None:
    short, long = _reads_of_check(20), _reads_of_check(80)
    # 80 steps are two blocks of CHECK_EVERY for the fine rollout (160 steps: three)
    assert long <= short + 8, (short, long)


def _reads_of_check_hamiltonian(steps: int) -> int:
    system = S.IsotropicOscillator()
    q, v = system.sample_states(3, torch.Generator().manual_seed(1))
    p = v  # unit masses
    with host_reads() as r:
        report = nt.check_hamiltonian(
            system.hamiltonian,
            system.symmetries,
            q,
            p,
            dt=0.01,
            steps=steps,
            compile=False,
            distributed=False,
        )
    assert all(v == "conserved" for v in report.verdicts.values()), str(report)
    return r.count


def test_check_hamiltonian_host_reads_do_not_grow_with_steps() -> None:
    short, long = _reads_of_check_hamiltonian(20), _reads_of_check_hamiltonian(80)
    assert long <= short + 8, (short, long)


@pytest.mark.parametrize("kind", ["lagrangian_dense", "lagrangian_block"])
@pytest.mark.parametrize("method", ["rk4", "implicit_midpoint"])
def test_deferred_checks_change_no_value(kind: str, method: str) -> None:
    """A rollout (checks deferred) equals the checked steps taken one by one, bit for bit."""
    q0, v0 = _state()
    traj = rollout(FIELDS[kind]([0]), q0, v0, dt=0.01, steps=12, method=method, compile=False)
    field = as_vector_field(FIELDS[kind]([0]))
    integrator = get_integrator(method)()
    x, y, memo = q0, v0, None
    for k in range(12):
        x, y, memo = integrator.step(field, x, y, traj.t[k], 0.01, memo)
        assert torch.equal(x, traj.q[k + 1]) and torch.equal(y, traj.v[k + 1])


def _reads_of_discrete_check(steps: int) -> int:
    system = S.IdenticalParticles()
    q, v = system.sample_states(3, torch.Generator().manual_seed(1))
    with host_reads() as r:
        report = nt.check(
            system.lagrangian,
            [Permutation(), TimeShift()],
            q,
            v,
            dt=0.01,
            steps=steps,
            method="leapfrog",
            compile=False,
            distributed=False,
        )
    assert report.verdicts == {"permutation": "conserved", "time": "conserved"}, str(report)
    return r.count


def test_discrete_check_host_reads_do_not_grow_with_steps() -> None:
    """The permutation's flow test rolls out the images too: still no read per step."""
    short, long = _reads_of_discrete_check(20), _reads_of_discrete_check(80)
    assert long <= short + 16, (short, long)


def _reads_of_check_charges(steps: int) -> int:
    kepler = S.Kepler()
    q, v = kepler.sample_states(3, torch.Generator().manual_seed(1))
    p = kepler.momentum(q, v)
    Lz = nt.Charge("L_z", lambda q, p: q[:, 0, 0] * p[:, 0, 1] - q[:, 0, 1] * p[:, 0, 0], "L_z")
    with host_reads() as r:
        report = nt.check_charges(
            kepler.hamiltonian, [Lz], q, p, dt=0.01, steps=steps, compile=False, distributed=False
        )
    assert report.verdicts == {"L_z": "conserved"}, str(report)
    return r.count


def test_check_charges_host_reads_do_not_grow_with_steps() -> None:
    short, long = _reads_of_check_charges(20), _reads_of_check_charges(80)
    assert long <= short + 8, (short, long)
