"""The Noether report: one row per symmetry, a table, JSON and a plot.

JSON schema (``report.to_json()``)::

    {
      "schema": "symnet.noether.report/1",
      "form": "lagrangian" | "hamiltonian",
      "method": str, "dt": float, "steps": int, "batch": int, "t0": float,
      "tolerances": {name: float, ...},
      "rows": [
        {"group": str | null, "generator": str, "charge": str,
         "invariance_error": float, "finite_error": float | null,
         "drift": float | null, "drift_half": float | null,
         "measured_order": float | null, "order": int | null,
         "balance_residual": float | null,
         "flow_error": float | null, "fixed_state_error": float | null,
         "verdict": "conserved" | "broken" | "inconclusive", "reason": str},
        ...
      ],
      "verdicts": {generator: verdict}
    }

Numbers that do not apply (a discrete symmetry has no drift) are ``null``;
non-finite numbers are written as strings (``"inf"``, ``"nan"``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch import Tensor

from symnet._report_io import jsonable, panel_grid, plot_format, save_figure
from symnet.noether.verdict import VerdictThresholds
from symnet.report import Report

__all__ = ["Row", "NoetherReport"]

SCHEMA = "symnet.noether.report/1"


@dataclass
class Row:
    """One checked symmetry; relative errors throughout (``docs/theory.md``, "Verdict rules")."""

    group: str | None
    generator: str
    charge: str
    invariance_error: float
    verdict: str
    reason: str
    finite_error: float | None = None
    drift: float | None = None
    drift_half: float | None = None
    measured_order: float | None = None
    order: int | None = None
    balance_residual: float | None = None
    flow_error: float | None = None
    fixed_state_error: float | None = None


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.1e}"


@dataclass
class NoetherReport(Report):
    """Result of :func:`symnet.noether.check` or :func:`~symnet.noether.check_hamiltonian`.

    Attributes
    ----------
    rows : list of Row
        One per generator (continuous symmetries) or discrete group.
    charges : dict of str to Tensor
        Each continuous generator's charge along the trajectories at ``dt``,
        shape ``(steps + 1, B)``.
    times : Tensor
        Shape ``(steps + 1, B)``.
    form, method, dt, steps, batch, t0, tolerances
        How the check was run.

    A :class:`symnet.report.Report`: ``passed`` (at least one row, every
    symmetry conserved), ``str(report)``, ``to_json(path=None)``, ``plot(path)``.
    """

    rows: list[Row]
    charges: dict[str, Tensor]
    times: Tensor
    form: str
    method: str
    dt: float
    steps: int
    batch: int
    t0: float
    tolerances: VerdictThresholds = field(default_factory=VerdictThresholds)

    schema: ClassVar[str] = SCHEMA
    key: ClassVar[str] = "generator"

    @property
    def all_conserved(self) -> bool:
        """True when every checked symmetry is conserved (also when none was; see ``passed``)."""
        return all(r.verdict == "conserved" for r in self.rows)

    # ------------------------------------------------ the Report hooks (symnet.report)

    def row_passed(self, row: Row) -> bool:
        """A row passes when its symmetry is conserved."""
        return row.verdict == "conserved"

    def title(self) -> str:
        """``Noether check (form, method, dt=..., steps=..., batch=...)``."""
        return (
            f"Noether check ({self.form}, {self.method}, dt={self.dt:g}, steps={self.steps}, "
            f"batch={self.batch})"
        )

    def columns(self) -> tuple[list[str], str]:
        """Column titles and alignment of the table."""
        head = [
            "generator", "charge", "invariance", "finite", "drift(dt)", "drift(dt/2)", "order",
            "balance", "verdict",
        ]  # fmt: skip
        return head, "<" * len(head)

    def cells(self, r: Row) -> list[str]:
        """The table cells of row ``r``."""
        if r.flow_error is not None:
            order = "-"
            drift, drift_half, balance = "-", f"flow {_fmt(r.flow_error)}", "-"
        else:
            order = "-"
            if r.measured_order is not None:
                measured = f"{r.measured_order:.1f}" if math.isfinite(r.measured_order) else "-"
                order = f"{measured}/{r.order}"
            drift, drift_half, balance = (
                _fmt(r.drift),
                _fmt(r.drift_half),
                _fmt(r.balance_residual),
            )
        return [
            r.generator,
            r.charge,
            _fmt(r.invariance_error),
            _fmt(r.finite_error),
            drift,
            drift_half,
            order,
            balance,
            r.verdict,
        ]

    def notes(self) -> list[str]:
        """One line per row: its verdict and the reason."""
        return self.verdict_notes()

    def empty_text(self) -> str:
        """Shown instead of the table when nothing was checked."""
        return "  (no symmetries were checked)"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python data (the JSON schema of the module docstring)."""
        rows = [{k: jsonable(v) for k, v in asdict(r).items()} for r in self.rows]
        return {
            "schema": self.schema,
            "form": self.form,
            "method": self.method,
            "dt": self.dt,
            "steps": self.steps,
            "batch": self.batch,
            "t0": self.t0,
            "tolerances": asdict(self.tolerances),
            "rows": rows,
            "verdicts": self.verdicts,
        }

    def plot(self, path: str | Path, *, max_trajectories: int = 8) -> Path:
        """Plot each charge's change ``Q(t) - Q(0)`` against time, one panel per generator.

        A discrete symmetry (no charge) gets a panel with its verdict and its
        invariance and flow errors.

        Parameters
        ----------
        path : str or Path
            File to write, exactly as named: the format follows its extension
            (``.png``, ``.pdf``, ``.svg``, ...) and a name without one is
            written as PNG under that name. Missing parent folders are created.
        max_trajectories : int
            Trajectories drawn per panel.

        Returns
        -------
        Path
            The file written (``path`` itself).

        Raises
        ------
        ImportError
            matplotlib is missing (install the ``plot`` extra: ``pip install symnet[plot]``).
        ValueError
            ``path`` names a directory, cannot be written or has an extension
            matplotlib cannot write (checked before drawing); the report has
            no rows.
        """
        plot_format(path)  # refuse a bad path before anything else
        if not self.rows:
            raise ValueError("the report has no rows to plot")
        names = list(self.charges)
        discrete = [r for r in self.rows if r.generator not in self.charges]
        panels = len(names) + len(discrete)
        fig, flat = panel_grid(path, panels, (4.2, 3.0))
        colors = {"conserved": "tab:green", "broken": "tab:red", "inconclusive": "tab:orange"}
        t = self.times[:, 0].cpu().numpy()
        for ax, name in zip(flat[: len(names)], names, strict=True):
            q = self.charges[name].cpu()
            dq = (q - q[:1]).numpy()
            verdict = self.verdicts[name]
            for b in range(min(max_trajectories, dq.shape[1])):
                ax.plot(t, dq[:, b], color=colors[verdict], alpha=0.7, lw=1)
            r = self.row(name)
            ax.set_title(f"{name}: {verdict}", fontsize=10, color=colors[verdict])
            ax.set_xlabel("t")
            c = f"({r.charge})" if r.charge.startswith("-") else r.charge  # (-E)(t), not -E(t)
            ax.set_ylabel(f"{c}(t) - {c}(0)", fontsize=8)
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
            ax.grid(alpha=0.3)
        for ax, r in zip(flat[len(names) : panels], discrete, strict=True):
            color = colors.get(r.verdict, "tab:orange")
            ax.set_title(f"{r.generator}: {r.verdict}", fontsize=10, color=color)
            text = (
                f"discrete symmetry (no charge)\n\ninvariance {_fmt(r.invariance_error)}"
                f"\nflow {_fmt(r.flow_error)}\nfixed state "
                f"{'n/a' if r.fixed_state_error is None else _fmt(r.fixed_state_error)}"
            )
            ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"Noether charges ({self.method}, dt={self.dt:g})", fontsize=11)
        fig.tight_layout()
        return save_figure(fig, path)
