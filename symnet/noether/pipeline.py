"""The verification pipeline shared by every Noether check.

:func:`~symnet.noether.check`, :func:`~symnet.noether.check_hamiltonian` and
:func:`~symnet.noether.check_charges` run the same stages; only what they
evaluate along the trajectories differs (a generator's charge ``J`` or ``Q``,
or a given phase-space function ``Q(q, p)``):

1. options: numbers validated with errors naming the argument
   (:func:`integer_option`, :func:`real_option`);
2. states: float64 copies of the initial states (:func:`prepare_states`);
3. probe: the function's output shape, mutation and gradients (by the caller);
4. rollouts at ``dt`` and ``dt/2``, a chunk of trajectories at a time, with
   the divergence test (:func:`measure_along_trajectories`, sized by
   :func:`chunk_and_memory`);
5. charges and their rates along both runs (an :data:`Evaluate` callable,
   built on :func:`evaluate_charges`);
6. reductions: drift (:func:`drift`), balance-law residual (composite Simpson
   rule, :func:`simpson_cumulative`) and invariance error per trajectory,
   then the worst over the batch (:class:`Measurements`);
7. verdict rows (:func:`verdict_row`) and the report (:func:`make_report`).

Stages 1-2 live in :mod:`symnet.noether._options` and stage 7 in
:mod:`symnet.noether._rows`; their names are re-exported here.

The formulas are in docs/theory.md, section 'Noether charges',
docs/theory.md, section 'Balance law' and docs/theory.md, section 'Verdict rules'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from symnet import _distributed
from symnet.noether._memory import DEFAULT_CHUNK_BYTES, chunk_and_memory, trajectory_bytes
from symnet.noether._options import (
    check_thresholds,
    compile_option,
    integer_option,
    prepare_states,
    real_option,
)
from symnet.noether._quantities import ChargeValues, gradients
from symnet.noether._rows import make_report, verdict_row
from symnet.noether.discrete import chunk_rollout, state_size
from symnet.noether.verdict import Evidence

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "Evaluate",
    "Measurements",
    "RunSpec",
    "check_thresholds",
    "chunk_and_memory",
    "compile_option",
    "drift",
    "evaluate_charges",
    "integer_option",
    "make_report",
    "measure_along_trajectories",
    "measure_part",
    "prepare_states",
    "real_option",
    "simpson_cumulative",
    "trajectory_bytes",
    "verdict_row",
]

#: States per reverse-mode pass of the charge evaluation (at most).
_CHUNK = 65536
#: Numbers (states times their size) per reverse-mode pass: bounds the memory of one
#: pass for large states (thousands of particles) to that of ``_CHUNK`` small ones.
_CHUNK_NUMBERS = 1 << 18
#: Runs at dt and dt/2 that disagree by more than this (relative) are not resolved.
_DISAGREE = 1e-2

#: ``evaluate(q, v, t, rates)``: the charges of every checked item at states
#: ``(T, b, *S)``, one :class:`ChargeValues` of shape ``(T, b)`` each (rates
#: may be zeros when ``rates`` is False).
Evaluate = Callable[[Tensor, Tensor, Tensor, bool], list[ChargeValues]]


# ---------------------------------------------------------------- 5. charges


def evaluate_charges(
    fn: Callable,
    items: Sequence[Any],
    q: Tensor,
    v: Tensor,
    t: Tensor,
    values: Callable[..., ChargeValues],
    name: str,
    rates: bool = True,
) -> list[ChargeValues]:
    """Charges (and, if ``rates``, their rates) of every item at states ``(T, B, *S)``.

    One reverse-mode pass of ``fn`` per block of states (at most ``_CHUNK``
    states and ``_CHUNK_NUMBERS`` numbers; by ``torch.autograd``, so that ``fn``
    runs untransformed), then ``values(grads, item, q, v, t, rates)`` per item;
    results of shape ``(T, B)``.
    """
    T, B = q.shape[:2]
    flat = [x.reshape(T * B, *x.shape[2:]) for x in (q, v)]
    tf = t.reshape(T * B)
    block = max(1, min(_CHUNK, _CHUNK_NUMBERS // max(1, flat[0][0].numel())))
    parts: list[list[ChargeValues]] = []
    for start in range(0, T * B, block):
        sl = slice(start, start + block)
        qs, vs, ts = flat[0][sl], flat[1][sl], tf[sl]
        grads = gradients(fn, qs, vs, ts, name, functional=False)
        parts.append([values(grads, item, qs, vs, ts, rates) for item in items])
    out = []
    for k in range(len(items)):
        fields = [
            torch.cat([getattr(p[k], f).detach() for p in parts]).reshape(T, B)
            for f in ("charge", "charge_scale", "rate", "rate_scale")
        ]
        out.append(ChargeValues(*fields))
    return out


# ---------------------------------------------------------------- 6. reductions


def drift(cv: ChargeValues) -> tuple[Tensor, Tensor]:
    """Relative drift ``max_t |Q(t) - Q(0)| / S_Q`` per trajectory and ``S_Q``, both ``(B,)``.

    ``S_Q = max(|Q(0)|, mean_t charge_scale)`` (docs/theory.md, section 'Verdict rules').
    """
    Q = cv.charge
    scale = torch.maximum(Q[0].abs(), cv.charge_scale.mean(dim=0)).clamp_min(1e-300)
    return (Q - Q[0]).abs().amax(dim=0) / scale, scale


def simpson_cumulative(rate: Tensor, h: float) -> Tensor:
    """Cumulative integral of ``rate`` (shape ``(2K+1, B)``) at the even grid points, ``(K+1, B)``.

    Composite Simpson rule with step ``h``; the first entry is zero.
    """
    pieces = h / 3.0 * (rate[0:-2:2] + 4.0 * rate[1:-1:2] + rate[2::2])
    zero = torch.zeros_like(rate[:1])
    return torch.cat([zero, pieces.cumsum(dim=0)])


def divergence(coarse: Any, fine: Any, floor: float) -> Tensor:
    """Per trajectory, the growth of the states when the runs at dt and dt/2 disagree, else 1.

    Growth: the largest ``|q|, |v|`` along either run over its initial value
    (at least ``floor``). Disagreement: ``max_t |x_dt(t) - x_dt/2(t)|`` relative
    to the largest state of the run. A physically growing solution (resolved:
    both runs agree) is not a divergence. Shape ``(b,)``.
    """
    size_c, size_f = state_size(coarse.q, coarse.v), state_size(fine.q, fine.v)
    start = size_c[0].clamp_min(floor)
    growth = torch.maximum(size_c.amax(0), size_f.amax(0)) / start
    diff = torch.maximum(
        (coarse.q - fine.q[::2]).abs().flatten(2).amax(-1),
        (coarse.v - fine.v[::2]).abs().flatten(2).amax(-1),
    ).amax(0)
    scale = torch.maximum(size_c.amax(0), size_f.amax(0)).clamp_min(1e-300)
    disagree = ~(diff <= _DISAGREE * scale)  # NaN disagrees
    return torch.where(disagree, growth, torch.ones_like(growth))


class Measurements:
    """Per-trajectory results of the chunks, reduced over the batch at the end.

    Attributes
    ----------
    charges : dict of str to Tensor
        Each item's charge along the run at ``dt``, shape ``(steps + 1, B)``.
    per : dict of str to dict of str to Tensor
        Per item: ``drift``, ``drift_half``, ``balance`` and ``invariance``,
        each shape ``(B,)``.
    growth : Tensor
        Divergence growth factor per trajectory, shape ``(B,)``.
    times : Tensor
        Shape ``(steps + 1, B)``.

    All on ``device`` (the device of the states: nothing is copied to the
    host until the report reads its worst values, a few reads in all).
    """

    def __init__(
        self, names: Sequence[str], steps: int, B: int, device: torch.device | str | None = None
    ) -> None:
        like = {"dtype": torch.float64, "device": device}
        self.charges = {n: torch.empty(steps + 1, B, **like) for n in names}
        keys = ("drift", "drift_half", "balance", "invariance")
        self.per = {n: {k: torch.empty(B, **like) for k in keys} for n in names}
        self.growth = torch.ones(B, **like)
        self.times = torch.empty(steps + 1, B, **like)

    def add(
        self,
        sl: slice,
        names: Sequence[str],
        coarse: Sequence[ChargeValues],
        fine: Sequence[ChargeValues],
        dt: float,
    ) -> None:
        """Store the measurements of the trajectories ``sl`` from both runs' charges."""
        for name, cc, cf in zip(names, coarse, fine, strict=True):
            drift_c, _ = drift(cc)
            drift_f, scale = drift(cf)
            integral = simpson_cumulative(cf.rate, dt / 2)
            change = cf.charge[::2] - cf.charge[0]
            per = self.per[name]
            per["drift"][sl] = drift_c
            per["drift_half"][sl] = drift_f
            per["balance"][sl] = (change - integral).abs().amax(dim=0) / scale
            # every state checked, on both grids (rates not evaluated count as zero)
            per["invariance"][sl] = torch.maximum(
                cc.invariance_error.amax(dim=0), cf.invariance_error.amax(dim=0)
            )
            self.charges[name][:, sl] = cc.charge

    def reduce(self, name: str, key: str) -> float:
        """The worst (largest) value of ``key`` over the batch."""
        return self.per[name][key].max().item()

    def evidence(self, name: str, finite: float | None, order: int) -> Evidence:
        """What was measured for item ``name``, reduced over the batch (one host read)."""
        per = self.per[name]
        keys = ("invariance", "drift", "drift_half", "balance")
        worst = torch.stack([per[k].max() for k in keys])
        if len(self.growth):
            worst = torch.cat([worst, self.growth.max()[None]])
        values = worst.tolist()
        invariance, drift_, drift_half, balance = values[:4]
        growth = values[4] if len(values) > 4 else 1.0
        return Evidence(invariance, finite, drift_, drift_half, balance, order, growth)


# ---------------------------------------------------------------- 4. rollouts


@dataclass(frozen=True)
class RunSpec:
    """How the trajectories are integrated: the coarse run; the fine one halves ``dt``.

    ``compile`` is the rollouts' ``compile`` (:func:`symnet.mechanics.rollout`).
    """

    dt: float
    steps: int
    method: str
    t0: float
    compile: bool | str = "auto"

    def coarse(self) -> dict[str, Any]:
        """Keyword arguments of the rollout at ``dt``."""
        return {
            "dt": self.dt, "steps": self.steps, "method": self.method, "t0": self.t0,
            "compile": self.compile,
        }  # fmt: skip

    def fine(self) -> dict[str, Any]:
        """Keyword arguments of the rollout at ``dt / 2`` (twice the steps)."""
        return {**self.coarse(), "dt": self.dt / 2, "steps": 2 * self.steps}


def _check_unmodified(qc: Tensor, vc: Tensor, q: Tensor, v: Tensor) -> None:
    for x, ref, arg in ((qc, q, "q"), (vc, v, "qdot (or p)")):
        if not torch.equal(x, ref):
            raise ValueError(
                f"field modified its input {arg} in place during the rollout; a field must not "
                "write into its arguments (use out-of-place operations)"
            )


def measure_along_trajectories(
    field: Any,
    q: Tensor,
    v: Tensor,
    *,
    run: RunSpec,
    names: Sequence[str],
    evaluate: Evaluate,
    chunk: int,
    field_grad: bool = False,
    bar: Any = None,
    after_rollout: Callable[[Any], None] | None = None,
    distributed: bool = True,
) -> Measurements:
    """Stages 4 to 6: roll out, evaluate the charges and reduce, a chunk at a time.

    Parameters
    ----------
    field : VectorField or callable
        The dynamics (:func:`symnet.mechanics.rollout`).
    q, v : Tensor
        Initial states, shape ``(B, *S)``; not modified (a field writing
        into them is refused).
    run : RunSpec
        Step, steps, method, initial time.
    names : sequence of str
        The checked items, in the order :data:`evaluate` returns them.
    evaluate : Evaluate
        Their charges at states ``(T, b, *S)``.
    chunk : int
        Trajectories per chunk.
    field_grad : bool
        Run the field in grad mode (a user's field may use autograd).
    bar : optional
        A progress bar, advanced by the steps of every rollout as it runs:
        ``3 * run.steps`` per chunk (the runs at ``dt`` and ``dt/2``).
    after_rollout : callable, optional
        Called with the coarse trajectory of each chunk (e.g. to check masses).
    distributed : bool
        With an active ``torch.distributed`` group, shard the trajectories
        across the ranks and gather the per-trajectory results, so that every
        rank gets the measurements of the whole batch
        (:func:`symnet.noether._sharded.measure_sharded`).

    Returns
    -------
    Measurements
        Per trajectory; ``times`` on the coarse grid even when nothing is measured.
    """
    B = q.shape[0]
    if not names:
        m = Measurements(names, run.steps, B, q.device)
        steps = torch.arange(run.steps + 1, dtype=torch.float64, device=q.device)
        grid = run.t0 + run.dt * steps[:, None]
        m.times = grid.expand(run.steps + 1, B)
        return m
    floor = max(1e-3 * float(torch.maximum(q.abs().max(), v.abs().max())), 1e-300)
    args = (field, q, v, run, names, evaluate, chunk, field_grad, bar, after_rollout, floor)
    if distributed and _distributed.active():
        from symnet.noether._sharded import measure_sharded

        return measure_sharded(*args)
    return measure_part(*args, slice(0, B))


def measure_part(
    field: Any,
    q: Tensor,
    v: Tensor,
    run: RunSpec,
    names: Sequence[str],
    evaluate: Evaluate,
    chunk: int,
    field_grad: bool,
    bar: Any,
    after_rollout: Callable[[Any], None] | None,
    floor: float,
    part: slice,
) -> Measurements:
    """:func:`measure_along_trajectories` of the trajectories ``part`` of the batch only.

    ``floor`` is the divergence test's floor of the whole batch; errors name
    trajectories by their index in the whole batch. Returns the measurements
    of ``part.stop - part.start`` trajectories.
    """
    B, offset = part.stop, part.start
    m = Measurements(names, run.steps, B - offset, q.device)
    for start in range(offset, B, chunk):
        sl = slice(start, min(B, start + chunk))
        qc, vc = q[sl].clone(), v[sl].clone()
        with torch.set_grad_enabled(field_grad):
            _stage(bar, "rollout dt", start - offset, chunk, B - offset)
            coarse = chunk_rollout(field, qc, vc, start, bar=bar, **run.coarse())
            _stage(bar, "rollout dt/2", start - offset, chunk, B - offset)
            fine = chunk_rollout(field, qc, vc, start, bar=bar, **run.fine())
        _stage(bar, "charges", start - offset, chunk, B - offset)
        _check_unmodified(qc, vc, q[sl], v[sl])
        local = slice(sl.start - offset, sl.stop - offset)
        m.growth[local] = divergence(coarse, fine, floor)
        m.times[:, local] = coarse.t
        if after_rollout is not None:
            after_rollout(coarse)
        cv_coarse = evaluate(coarse.q, coarse.v, coarse.t, False)
        del coarse
        cv_fine = evaluate(fine.q, fine.v, fine.t, True)
        del fine
        m.add(local, names, cv_coarse, cv_fine, run.dt)
        del cv_coarse, cv_fine
    return m


def _stage(bar: Any, stage: str, start: int, chunk: int, B: int) -> None:
    """Show the stage (and the chunk, if there are several) after the bar."""
    if bar is not None:
        text = {"stage": stage}
        if chunk < B:
            text["chunk"] = f"{start // chunk + 1}/{-(-B // chunk)}"
        bar.set_postfix(text, refresh=False)
