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

from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor

from symnet.mechanics import _compile_cache as cache
from symnet.mechanics._auto_rule import (
    AUTO_CACHED_SECONDS,
    AUTO_COMPILE_SECONDS,
    AutoRule,
)
from symnet.mechanics._deferred import Deferred, lookup
from symnet.mechanics._errors import ConvergenceError, SingularMassMatrixError
from symnet.mechanics._recorder import CHECK_EVERY, Recorder
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


def with_step(err: Exception, step: int, t: float) -> Exception:
    """The error of a field or solve, with the rollout step in its message and attributes."""
    msg = f"rollout step {step} (t = {t:.6g}): {err}"
    if isinstance(err, SingularMassMatrixError):
        return SingularMassMatrixError(
            msg, batch_index=err.batch_index, condition=err.condition, step=step
        )
    return ConvergenceError(msg, step=step, residual=getattr(err, "residual", None))


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
