"""The checker's ``compile=`` (passed to every rollout, validated, verdict-neutral) and its
progress bar, which counts integration steps as each rollout advances."""

from __future__ import annotations

import warnings

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Permutation, Rotation, TimeShift, Translation
from symnet.noether.discrete import discrete_rollouts
from symnet.testing import assert_conserved

KEPLER = S.Kepler()
STEPS = 20


def _states(system, n=3, seed=0):
    return system.sample_states(n, torch.Generator().manual_seed(seed))


@pytest.fixture
def rollouts(monkeypatch):
    """Record ``compile`` and ``steps`` of every rollout (then run the real one)."""
    import symnet.mechanics as mech

    real = mech.rollout
    calls: list[tuple] = []

    def spy(field, q0, v0, **kw):
        calls.append((kw["compile"], kw["steps"], kw.get("progress") is not None))
        return real(field, q0, v0, **kw)

    monkeypatch.setattr(mech, "rollout", spy)
    return calls


# ---------------------------------------------------------------- compile: passed on, validated


@pytest.mark.parametrize("compile", [False, "auto"])
def test_compile_reaches_every_rollout_of_check(rollouts, compile):
    """The runs at dt and dt/2 of every chunk and the discrete group's rollouts."""
    system = S.IdenticalParticles(N=3, potential="gaussian")
    q, v = _states(system, n=4)
    report = nt.check(
        system.lagrangian, [Translation(3), Permutation()], q, v, dt=0.01, steps=STEPS,
        method="leapfrog", field=system.acceleration, chunk_size=2, compile=compile,
    )  # fmt: skip
    assert set(report.verdicts.values()) == {"conserved"}, str(report)
    n_discrete = discrete_rollouts(Permutation(), (3, 3), 4, 2)
    assert len(rollouts) == 2 * 2 + n_discrete
    assert {c for c, _, _ in rollouts} == {compile}


def test_compile_reaches_check_hamiltonian_check_charges_and_assert_conserved(rollouts):
    q, v = _states(KEPLER)
    p = KEPLER.momentum(q, v)
    nt.check_hamiltonian(KEPLER.hamiltonian, "time", q, p, dt=0.01, steps=STEPS, compile=False)
    Lz = nt.Charge("L_z", lambda q, p: q[:, 0, 0] * p[:, 0, 1] - q[:, 0, 1] * p[:, 0, 0], "L_z")
    rep = nt.check_charges(KEPLER.hamiltonian, [Lz], q, p, dt=0.01, steps=STEPS, compile=False)
    assert rep.verdicts == {"L_z": "conserved"}
    assert_conserved(
        KEPLER.lagrangian, "rotation", q, v, steps=STEPS, field=KEPLER.acceleration, compile=False
    )
    assert len(rollouts) == 6 and {c for c, _, _ in rollouts} == {False}
    rollouts.clear()
    assert_conserved(KEPLER.lagrangian, "rotation", q, v, steps=STEPS, field=KEPLER.acceleration)
    assert {c for c, _, _ in rollouts} == {"auto"}  # the default


@pytest.mark.parametrize("bad", ["yes", "on", 1, 0, None, "AUTO"])
def test_bad_compile_is_a_value_error_naming_it(bad):
    q, v = _states(KEPLER)
    match = r"compile must be True, False or 'auto', got"
    kw = {"dt": 0.01, "steps": STEPS, "compile": bad}
    with pytest.raises(ValueError, match=match):
        nt.check(KEPLER.lagrangian, "rotation", q, v, **kw)
    with pytest.raises(ValueError, match=match):
        nt.check_hamiltonian(KEPLER.hamiltonian, "rotation", q, v, **kw)
    Lz = nt.Charge("L_z", lambda q, p: q[:, 0, 0] * p[:, 0, 1], "L_z")
    with pytest.raises(ValueError, match=match):
        nt.check_charges(KEPLER.hamiltonian, [Lz], q, v, **kw)
    with pytest.raises(ValueError, match=match):
        assert_conserved(KEPLER.lagrangian, "rotation", q, v, **kw)


# ---------------------------------------------------------------- progress


class _Bar:
    """A fake progress sink: records the total, every advance and the stages shown."""

    def __init__(self, enabled, total, desc, unit="it", initial=0):
        self.enabled, self.total, self.desc, self.unit = enabled, total, desc, unit
        self.updates: list[int] = []
        self.stages: list[str] = []
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True

    def update(self, n=1):
        self.updates.append(n)

    def set_postfix(self, values, refresh=True):
        self.stages.append(values["stage"])


@pytest.fixture
def bars(monkeypatch):
    made: list[_Bar] = []

    def factory(*args, **kwargs):
        made.append(_Bar(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr("symnet.noether.checker.progress_bar", factory)
    return made


def test_progress_counts_the_steps_of_every_rollout(bars, rollouts):
    """dt and dt/2 of each chunk, then the discrete rollouts; the bar ends exactly at its total."""
    system = S.IdenticalParticles(N=3, potential="gaussian")
    q, v = _states(system, n=4)
    steps = 150  # rollouts report at least every 64 steps: several advances per rollout
    nt.check(
        system.lagrangian, [Translation(3), Permutation()], q, v, dt=0.01, steps=steps,
        method="leapfrog", field=system.acceleration, chunk_size=2, progress=True, compile=False,
    )  # fmt: skip
    (bar,) = bars
    assert bar.enabled and bar.unit == "step" and bar.closed
    n_discrete = discrete_rollouts(Permutation(), (3, 3), 4, 2)
    assert bar.total == steps * (3 * 2 + n_discrete)
    assert sum(bar.updates) == bar.total and min(bar.updates) > 0
    assert all(p for _, _, p in rollouts)  # every rollout got a progress callback
    # the rollouts advance the bar as they run, not once per stage
    assert len(bar.updates) >= len(rollouts) * 2
    assert bar.stages[:4] == ["invariance", "rollout dt", "rollout dt/2", "charges"]
    assert "permutation" in bar.stages


def test_progress_ends_at_its_total_when_the_fixed_state_run_stops_early(bars):
    """Lennard-Jones is singular where particles coincide: that rollout is skipped."""
    system = S.IdenticalParticles(N=3)
    q, v = _states(system)
    report = nt.check(
        system.lagrangian, Permutation(), q, v, dt=0.01, steps=STEPS, method="leapfrog",
        field=system.acceleration, progress=True,
    )  # fmt: skip
    assert report.row("permutation").fixed_state_error is None
    (bar,) = bars
    assert sum(bar.updates) == bar.total == STEPS * discrete_rollouts(Permutation(), (3, 3), 3, 3)


def test_no_bar_no_callback(rollouts):
    q, v = _states(KEPLER)
    nt.check(KEPLER.lagrangian, "rotation", q, v, dt=0.01, steps=STEPS, field=KEPLER.acceleration)
    assert rollouts and not any(p for _, _, p in rollouts)


def test_rollout_ticks_scale_and_never_go_back():
    from symnet._progress import CountedBar, RolloutTicks

    bar = _Bar(True, 10, "x")
    ticks = RolloutTicks(bar, 10)
    ticks(32, 64)  # done of the rollout's own total: half of the 10 steps
    ticks(16, 64)  # a restart (fallback to eager) does not move the bar back
    ticks(64, 64)
    ticks.finish()
    assert bar.updates == [5, 5]
    silent = RolloutTicks(bar, 7)
    silent.finish()  # a rollout that reported nothing: the bar still ends right
    assert bar.updates[-1] == 7
    counted = CountedBar(bar)
    counted.update(3)
    counted.top_up(10)
    counted.top_up(4)
    assert counted.n == 10 and bar.updates[-2:] == [3, 7]


# ---------------------------------------------------------------- the verdict never depends on it


@pytest.fixture(scope="module")
def compiled_and_eager():
    """One small check, eager and compiled (one compilation, shared by the tests below)."""
    from symnet.mechanics import CompileWarning

    q, v = _states(KEPLER)
    symmetries = Rotation(3) * Translation(3) * TimeShift()
    kw = {"dt": 0.01, "steps": STEPS, "field": KEPLER.acceleration, "progress": True}
    out: dict = {"bars": []}
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("error", CompileWarning)  # compiled for real, no fallback
        mp.setattr(
            "symnet.noether.checker.progress_bar",
            lambda *a, **k: out["bars"].append(_Bar(*a, **k)) or out["bars"][-1],
        )
        for c in (False, True):
            out[c] = nt.check(KEPLER.lagrangian, symmetries, q, v, compile=c, **kw)
    return out


@pytest.mark.slow
def test_same_report_compiled_or_eager(compiled_and_eager):
    eager, compiled = compiled_and_eager[False], compiled_and_eager[True]
    assert compiled.verdicts == eager.verdicts
    assert eager.verdicts["rotation_z"] == "conserved"
    assert eager.verdicts["translation_x"] == "broken"
    for name, charge in eager.charges.items():
        torch.testing.assert_close(compiled.charges[name], charge, rtol=1e-10, atol=1e-12)
    for a, b in zip(eager.rows, compiled.rows, strict=True):
        assert (a.generator, a.verdict) == (b.generator, b.verdict)
        for key in ("invariance_error", "drift", "drift_half", "balance_residual"):
            x, y = getattr(a, key), getattr(b, key)
            assert abs(x - y) <= 1e-10 * max(abs(x), 1.0), (a.generator, key, x, y)


@pytest.mark.slow
def test_progress_of_a_compiled_check(compiled_and_eager):
    eager_bar, compiled_bar = compiled_and_eager["bars"]
    assert compiled_bar.total == eager_bar.total == 3 * STEPS
    assert sum(compiled_bar.updates) == compiled_bar.total
