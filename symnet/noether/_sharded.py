"""The checks' trajectories shared across the ranks of a ``torch.distributed`` group.

Each rank integrates and measures its contiguous part of the batch
(:func:`symnet._distributed.shard`), then the per-trajectory results are
gathered in batch order (:func:`symnet._distributed.gather_rows`), so that
every rank holds the same :class:`~symnet.noether.pipeline.Measurements` of
the whole batch as a single process would, and the reductions (worst drift,
balance residual, invariance error, growth) and verdicts that follow run
unchanged on every rank. An error on one rank is raised on all of them
(:func:`symnet._distributed.run_everywhere`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from symnet import _distributed
from symnet.noether.pipeline import Evaluate, Measurements, RunSpec, measure_part

__all__ = ["measure_sharded", "pack", "unpack"]

_KEYS = ("drift", "drift_half", "balance", "invariance")


def pack(m: Measurements, names: Sequence[str]) -> Tensor:
    """One row per trajectory: growth, times, then per name the four measures and the charge.

    Shape ``(b, 1 + T + len(names) * (4 + T))`` with ``T = steps + 1``.
    """
    cols = [m.growth[:, None], m.times.T]
    for name in names:
        cols += [m.per[name][k][:, None] for k in _KEYS]
        cols.append(m.charges[name].T)
    return torch.cat(cols, dim=1)


def unpack(rows: Tensor, names: Sequence[str], steps: int) -> Measurements:
    """The inverse of :func:`pack`."""
    T = steps + 1
    m = Measurements(names, steps, rows.shape[0], rows.device)
    m.growth = rows[:, 0].clone()
    m.times = rows[:, 1 : 1 + T].T.clone()
    at = 1 + T
    for name in names:
        for k in _KEYS:
            m.per[name][k] = rows[:, at].clone()
            at += 1
        m.charges[name] = rows[:, at : at + T].T.clone()
        at += T
    return m


def measure_sharded(
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
) -> Measurements:
    """:func:`~symnet.noether.pipeline.measure_part` of this rank's part, gathered.

    Every rank must call it with the same states and options (it runs collectives).
    """
    part = _distributed.shard(q.shape[0])

    def work() -> Tensor:
        local = measure_part(
            field, q, v, run, names, evaluate, chunk, field_grad, bar, after_rollout, floor, part
        )
        return pack(local, names)

    rows = _distributed.run_everywhere(work)
    return unpack(_distributed.gather_rows(rows), names, run.steps)
