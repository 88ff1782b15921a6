"""The fixed-step loop of :func:`~symnet.mechanics.rollout`: eager, compiled or automatic.

Private module. The loop advances in blocks of :data:`CHECK_EVERY` steps
and checks each block for NaN/inf, as the eager rollout always did. With
``compile`` on, the first step runs eagerly through the guarded field (the
checks of its first call); then a method with ``compilable_step`` runs its
own ``step`` compiled as one graph (:class:`StepEngine`), and the other
fixed-step methods run with the field compiled
(:func:`~symnet.mechanics.compiled.compile_field`).

A compiled step sees the field in units of the step (:class:`ScaledField`):
rates are multiplied by ``dt`` and stage times are fractions of the step, so
the method runs with a step of 1 and ``dt`` is a tensor argument: a new
``dt`` (the checker's ``dt / 2``) does not recompile. The results agree with
the eager ones to round-off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor

from symnet.mechanics import _compile_cache as cache
from symnet.mechanics._deferred import Deferred, lookup
from symnet.mechanics._errors import ConvergenceError, SingularMassMatrixError
from symnet.mechanics.compiled import can_trace_now, compiled_copy
from symnet.mechanics.field import Traceable, VectorField
from symnet.mechanics.methods import Integrator

__all__ = [
    "CHECK_EVERY",
    "AUTO_COMPILE_SECONDS",
    "AUTO_CACHED_SECONDS",
    "AutoRule",
    "Recorder",
    "ScaledField",
    "StepEngine",
    "run_fixed",
    "with_step",
]

#: Steps per NaN/inf check (and at most between two progress calls).
CHECK_EVERY = 64
#: ``compile="auto"`` compiles when the predicted eager time of the remaining
#: steps exceeds this (seconds), for a function that still has to be compiled.
AUTO_COMPILE_SECONDS = 30.0
#: The same bound when the compiled function is already in the cache.
AUTO_CACHED_SECONDS = 0.1
#: Eager steps timed (after the first, checked one) before ``"auto"`` decides.
AUTO_WARMUP = 3


def with_step(err: Exception, step: int, t: float) -> Exception:
    """The error of a field or solve, with the rollout step in its message and attributes."""
    msg = f"rollout step {step} (t = {t:.6g}): {err}"
    if isinstance(err, SingularMassMatrixError):
        return SingularMassMatrixError(
            msg, batch_index=err.batch_index, condition=err.condition, step=step
        )
    return ConvergenceError(msg, step=step, residual=getattr(err, "residual", None))


class Recorder:
    """Collects the states of a rollout and checks them for NaN/inf in blocks.

    Appending to a list and stacking once at the end costs less per step than
    copying every state into a preallocated buffer, and it records the graph
    when autograd needs it.

    With ``every > 1`` only the states of steps ``0, every, 2 every, ...``
    are kept once checked; the others live in a window of the latest block
    (the steps since the last check and the state before them, which a rerun
    starts from), so memory is ``O(steps / every + CHECK_EVERY)`` states.
    Attributes ``xs``, ``ys`` hold that window: states ``base .. base + len - 1``.
    """

    def __init__(self, x0: Tensor, y0: Tensor, every: int = 1) -> None:
        self.every = every
        self.kept_x: list[Tensor] = []
        self.kept_y: list[Tensor] = []
        self.xs = [x0]
        self.ys = [y0]
        self.base = 0
        self.checked = 1

    def append(self, x: Tensor, y: Tensor) -> None:
        self.xs.append(x)
        self.ys.append(y)

    def truncate(self, k: int) -> None:
        """Keep the states ``0 .. k - 1`` only (``k - 1`` must be in the window)."""
        del self.xs[k - self.base :], self.ys[k - self.base :]
        self.checked = min(self.checked, k)

    def _kept(self, lo: int, hi: int) -> range:
        """Window positions of the recorded steps in ``[lo, hi)`` (multiples of ``every``)."""
        first = -(-lo // self.every) * self.every
        return range(first - self.base, hi - self.base, self.every)

    def stacked(self) -> tuple[Tensor, Tensor]:
        """The recorded states, shape (K, B, *S): steps ``0, every, ...`` held."""
        idx = self._kept(self.base, self.base + len(self.xs))
        xs = self.kept_x + [self.xs[i] for i in idx]
        ys = self.kept_y + [self.ys[i] for i in idx]
        return torch.stack(xs), torch.stack(ys)

    def first_nonfinite(self) -> tuple[int, int] | None:
        """``(step, batch index)`` of the first NaN/inf state in the window, or None."""
        xs, ys = torch.stack(self.xs).detach(), torch.stack(self.ys).detach()
        bad = ~(torch.isfinite(xs).flatten(2).all(-1) & torch.isfinite(ys).flatten(2).all(-1))
        if not bool(bad.any()):
            return None
        k = int(bad.any(dim=1).nonzero()[0, 0])
        return self.base + k, int(bad[k].nonzero()[0, 0])

    def _compact(self) -> None:
        """Drop checked states before ``checked - 1`` from the window; keep the recorded ones."""
        stop = self.checked - 1
        if stop <= self.base:
            return
        for i in self._kept(self.base, stop):
            self.kept_x.append(self.xs[i])
            self.kept_y.append(self.ys[i])
        del self.xs[: stop - self.base], self.ys[: stop - self.base]
        self.base = stop

    def block_finite(self) -> Tensor | None:
        """Whether every state appended since the last call is finite.

        A 0-d bool tensor (no synchronisation); None when there is none.
        """
        self._compact()
        lo, hi = self.checked - self.base, len(self.xs)
        self.checked = self.base + hi
        if hi <= lo:
            return None
        xs = torch.stack([s.detach() for s in self.xs[lo:hi]])
        ys = torch.stack([s.detach() for s in self.ys[lo:hi]])
        return torch.isfinite(xs).all() & torch.isfinite(ys).all()


class AutoRule:
    """The decision of ``compile="auto"``, from the measured cost of eager steps.

    After the first step (eager and checked, not timed) the next ``warmup``
    steps are timed; the mean time per step times the steps left is the
    predicted eager time. Compile when it exceeds ``threshold`` seconds for a
    function still to compile, ``cached_threshold`` for one compiled already.
    Measured on a 2-core machine: compiling a whole rk4 step costs 1-3 s for
    a closed-form field and 20-26 s for an MLP Lagrangian, and the compiled
    steps run 2-5x faster, so compiling pays for itself from about 30 s of
    eager time on.

    Parameters
    ----------
    clock : callable
        ``clock() -> seconds`` (injectable for tests).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        warmup: int = AUTO_WARMUP,
        threshold: float = AUTO_COMPILE_SECONDS,
        cached_threshold: float = AUTO_CACHED_SECONDS,
    ) -> None:
        self.clock = clock
        self.warmup = warmup
        self.threshold = threshold
        self.cached_threshold = cached_threshold
        self.start: tuple[float, int] | None = None
        self.predicted: float | None = None

    def tick(self, done: int, total: int, cached: Callable[[], bool]) -> bool | None:
        """Call after each eager step: True to compile now, False never, None: keep timing."""
        now = self.clock()
        if self.start is None:
            self.start = (now, done)
            return None
        t0, d0 = self.start
        if done - d0 < self.warmup:
            return None
        self.predicted = (now - t0) / (done - d0) * (total - done)
        limit = self.cached_threshold if cached() else self.threshold
        return self.predicted > limit


class ScaledField:
    """A traceable field as a compiled step sees it: rates times ``dt``, times in steps.

    The integrator runs with a step of 1 from time 0: a stage time ``tau``
    is the time ``base + tau * dt``. ``bad`` collects the masks of the
    evaluations (True where the eager field raises).
    """

    def __init__(self, g: Traceable, order: int, uses_time: bool, base: Tensor, dt: Tensor):
        self.g = g
        self.order = order
        self.uses_time = uses_time
        self.base = base
        self.dt = dt
        self.bad: Tensor | None = None

    def _eval(self, x: Tensor, y: Tensor, tau: Tensor) -> Any:
        out, bad = self.g(x, y, self.base + tau * self.dt if self.uses_time else self.base)
        if bad is not None:
            self.bad = bad if self.bad is None else self.bad | bad
        return out

    def derivative(self, x: Tensor, y: Tensor, tau: Tensor) -> tuple[Tensor, Tensor]:
        if self.order == 2:
            return y * self.dt, self._eval(x, y, tau) * self.dt
        rate_x, rate_y = self._eval(x, y, tau)
        return rate_x * self.dt, rate_y * self.dt

    def kick(self, x: Tensor, y: Tensor, tau: Tensor) -> Tensor:
        out = self._eval(x, y, tau)
        return (out if self.order == 2 else out[1]) * self.dt

    def drift(self, x: Tensor, y: Tensor, tau: Tensor) -> Tensor:
        return y * self.dt if self.order == 2 else self._eval(x, y, tau)[0] * self.dt


def _scaled(value: Any, factor: Tensor) -> Any:
    """A step cache (None, a tensor of rates, or a tuple of them) times ``factor``."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value * factor
    return tuple(_scaled(v, factor) for v in value)


def _step_function(integrator: Integrator, g: Traceable, order: int, uses_time: bool) -> Callable:
    step = integrator.step

    def compiled_step(x: Tensor, y: Tensor, t: Tensor, dt: Tensor, memo: Any) -> tuple:
        field = ScaledField(g, order, uses_time, t, dt)
        x1, y1, memo1 = step(field, x, y, torch.zeros_like(t), 1.0, memo)
        return x1, y1, memo1, field.bad

    return compiled_step


def _first_bad(bads: list[Tensor | None]) -> int | None:
    """Index of the first step whose mask has a True, or None (one synchronisation)."""
    if not bads or bads[0] is None:
        return None
    flagged = torch.stack(bads).any(dim=1)
    if not bool(flagged.any()):
        return None
    return int(flagged.nonzero()[0, 0])


class StepEngine:
    """Whole steps of a ``compilable_step`` method, compiled as one graph each.

    After each block the masks are checked; the first step with a bad state,
    and a step whose compiled call raised, is run again eagerly (raising the
    eager rollout's error). A compiler failure makes :attr:`failed` True:
    the rollout goes on eagerly from :attr:`cache`.
    """

    def __init__(
        self,
        field: VectorField,
        integrator: Integrator,
        x: Tensor,
        y: Tensor,
        grid: tuple[Tensor, ...],
        dt: float,
        eager: Callable,
        memo: Any,
    ) -> None:
        self.grid = grid
        self.eager = eager
        self.what = f"{field.label} with method {integrator.name!r}"
        self.dt = torch.tensor(dt, dtype=x.dtype, device=x.device)
        self.cache = _scaled(memo, self.dt)
        self.failed = False
        found = cache.field_key(field)
        if found is None:
            self.failed = True
            return
        options = tuple(sorted(integrator.options.items()))
        sig = cache.signature(x, y, grid[0], self.dt, self.cache)
        self.key = (found[0], type(integrator), options, sig)

        def build() -> tuple[Callable, str, Any]:
            g = field.traceable()
            fn = _step_function(integrator, g, field.order, field.uses_time)
            return fn, f"symnet_compiled_{integrator.name}_step", (found[1], g)

        self.art = cache.artefact(self.key, build)
        if self.art.failure:  # failed before: warn again (Python shows it once per place)
            cache.warn_eager(self.what, self.art.failure)
            self.failed = True

    def advance(self, rec: Recorder, x: Tensor, y: Tensor, n: int, end: int) -> tuple:
        """Steps ``n + 1 .. end`` appended to ``rec``; returns ``(x, y, n)``."""
        while n < end:
            xs: list[Tensor] = []
            ys: list[Tensor] = []
            bads: list[Tensor | None] = []
            error: Exception | None = None
            xi, yi, memo = x, y, self.cache
            for i in range(n, end):
                try:
                    xi, yi, memo, bad = self.art(xi, yi, self.grid[i], self.dt, memo)
                except Exception as err:  # the step is run again eagerly below
                    error = err
                    break
                xs.append(xi)
                ys.append(yi)
                bads.append(bad)
            k = _first_bad(bads)
            good = len(xs) if k is None else k
            for j in range(good):
                rec.append(xs[j], ys[j])
            if good:
                x, y = xs[good - 1], ys[good - 1]
            n += good
            if k is None and error is None:
                self.cache = memo
                return x, y, n
            # step n + 1 has a bad state or failed: eagerly, it raises the eager error
            x, y, memo = self.eager(n, x, y, None)
            rec.append(x, y)
            n += 1
            if k is None:  # the compiled call failed where the eager step did not
                self.art.fail(error, self.what)
                self.failed = True
                self.cache = memo
                return x, y, n
            self.cache = _scaled(memo, self.dt)
        return x, y, n


def run_fixed(
    field: VectorField,
    integrator: Integrator,
    q0: Tensor,
    v0: Tensor,
    times: Tensor,
    dt: float,
    steps: int,
    mode: bool | str,
    progress: Callable[[int, int], None] | None,
    rule: AutoRule | None = None,
    every: int = 1,
) -> tuple[Recorder, bool]:
    """The states of a fixed-step rollout and whether they are all finite.

    ``mode``: False, True or ``"auto"``; ``rule`` replaces the default
    :class:`AutoRule` (tests); ``every``: keep every ``every``-th state
    (:class:`Recorder`).
    """
    rec = Recorder(q0, v0, every)
    grid = times.unbind(0)
    stepping = field  # the field compiled, once a method without compilable_step compiles
    deferred = Deferred()

    def one_step(n: int, x: Tensor, y: Tensor, memo: Any) -> tuple[Tensor, Tensor, Any]:
        """Step ``n + 1`` through ``stepping`` (eager, or with the field compiled), checked."""
        try:
            return integrator.step(stepping, x, y, grid[n], dt, memo)
        except (SingularMassMatrixError, ConvergenceError) as err:
            raise with_step(err, n + 1, float(times[n + 1, 0])) from err

    def deferred_step(n: int, x: Tensor, y: Tensor, memo: Any) -> tuple[Tensor, Tensor, Any]:
        """Step ``n + 1`` with the evaluations' flags deferred (:mod:`._deferred`)."""
        try:
            with deferred.step(n + 1):
                return integrator.step(stepping, x, y, grid[n], dt, memo)
        except Exception as err:
            # NaN from a flagged evaluation may have failed the step (an implicit
            # solve): the first flagged step raises its own error first
            rerun(deferred.first_bad())
            if isinstance(err, (SingularMassMatrixError, ConvergenceError)):
                raise with_step(err, n + 1, float(times[n + 1, 0])) from err
            raise

    def rerun(k: int | None) -> tuple[Tensor, Tensor, Any] | None:
        """Drop the states from step ``k`` on and run step ``k`` again, checked (it raises)."""
        if k is None:
            return None
        rec.truncate(k)
        return one_step(k - 1, rec.xs[-1], rec.ys[-1], None)

    if mode == "auto":
        rule = AutoRule() if rule is None else rule
    else:
        rule = None
    engine: StepEngine | None = None
    x, y, memo = q0, v0, None
    n = 0
    finite = True
    while n < steps:
        end = min((n // CHECK_EVERY + 1) * CHECK_EVERY, steps)
        while n < end:
            if engine is not None:
                x, y, n = engine.advance(rec, x, y, n, end)
                if engine.failed:
                    memo, engine, mode = engine.cache, None, False
                continue
            x, y, memo = deferred_step(n, x, y, memo)
            n += 1
            rec.append(x, y)
            if not mode or n >= steps:
                continue
            if cache.field_key(field) is None:
                if mode is True:
                    cache.warn_eager(field.label, "it has no traceable function")
                mode = False
                continue
            if mode == "auto":
                if x.requires_grad or y.requires_grad or not can_trace_now(x):
                    mode = False  # "auto" never compiles a rollout that records a graph
                    continue
                decided = rule.tick(
                    n, steps, lambda a=(x, y, grid[n], memo): _is_compiled(field, integrator, *a)
                )
                if decided is None:
                    continue
                if not decided:
                    mode = False
                    continue
            mode = False  # decided: compiled from here on
            if integrator.compilable_step:
                engine = StepEngine(field, integrator, x, y, grid, dt, one_step, memo)
                if engine.failed:
                    engine = None
            else:
                stepping = compiled_copy(field)
        # one synchronisation per block: the deferred flags and the NaN/inf check
        flagged, found = deferred.take()
        k, block_finite = _read_block(flagged, found, rec)
        if k is not None:  # step k would have raised: it does now (or, if not, goes on from it)
            x, y, memo = rerun(k)
            rec.append(x, y)
            n = k
            continue
        if progress is not None and n < steps:
            progress(n, steps)
        if not block_finite:
            finite = False
            break
    return rec, finite


def _read_block(flagged: list[int], found: Tensor | None, rec: Recorder) -> tuple[int | None, bool]:
    """``(first flagged step or None, whether the block is finite)``, read together.

    A flagged step's rerun drops the states from it on (and their NaN/inf
    check, :meth:`Recorder.truncate`).
    """
    finite = rec.block_finite()
    if found is None:
        return None, True if finite is None else bool(finite)
    if finite is None:
        return lookup(flagged, int(found)), True
    position, ok = torch.stack([found, finite.to(found.dtype)]).tolist()
    return lookup(flagged, position), bool(ok)


def _is_compiled(
    field: VectorField, integrator: Integrator, x: Tensor, y: Tensor, t: Tensor, memo: Any
) -> bool:
    """Whether what the compiled path would run now is compiled already."""
    found = cache.field_key(field)
    if found is None:
        return False
    if integrator.compilable_step:
        dt = torch.zeros((), dtype=x.dtype, device=x.device)
        options = tuple(sorted(integrator.options.items()))
        key: Hashable = (found[0], type(integrator), options, cache.signature(x, y, t, dt, memo))
    else:
        key = (found[0], "field", cache.signature(x, y, t))
    return cache.contains(key)
