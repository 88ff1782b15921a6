"""Verdict rows and the report of a Noether check (stage 7 of the pipeline).

Private module of :mod:`symnet.noether.pipeline`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from symnet.noether.report import NoetherReport, Row
from symnet.noether.verdict import Evidence, VerdictThresholds, decide

if TYPE_CHECKING:
    from symnet.noether.pipeline import Measurements, RunSpec

__all__ = ["make_report", "verdict_row"]


def verdict_row(
    ev: Evidence,
    thresholds: VerdictThresholds,
    *,
    generator: str,
    charge: str,
    group: str | None = None,
) -> Row:
    """The verdict (:func:`symnet.noether.verdict.decide`) and report row of one item.

    The measured order is ``nan`` when both drifts vanish (as in the JSON report).
    """
    verdict, reason = decide(ev, thresholds)
    return Row(
        group=group,
        generator=generator,
        charge=charge,
        invariance_error=ev.invariance_error,
        finite_error=ev.finite_error,
        drift=ev.drift,
        drift_half=ev.drift_half,
        measured_order=ev.measured_order,
        order=ev.order,
        balance_residual=ev.balance_residual,
        verdict=verdict,
        reason=reason,
    )


def make_report(
    rows: list[Row],
    m: Measurements,
    *,
    form: str,
    run: RunSpec,
    thresholds: VerdictThresholds,
) -> NoetherReport:
    """The :class:`NoetherReport` of a run."""
    return NoetherReport(
        rows=rows,
        charges=m.charges,
        times=m.times,
        form=form,
        method=run.method,
        dt=run.dt,
        steps=run.steps,
        batch=int(m.times.shape[1]),
        t0=run.t0,
        tolerances=thresholds,
    )
