"""The learning-dynamics report: one row per symmetry family, a table, JSON and a plot.

JSON schema (``report.to_json()``)::

    {
        "schema": "symnet.learning.report/1",
        "optimizer": str,
        "param_groups": [{hyperparameter: value}, ...],
        "steps": int,
        "dtype": str,
        "rtol": float,
        "rows": [
            {
                "family": str,
                "kind": "translation" | "scale" | "rescale",
                "charge": str,
                "units": int,
                "drift": float,
                "error": float | null,
                "residual": float | null,
                "verdict": "matches recursion" | "deviates" | "no prediction",
                "reason": str,
            },
            ...,
        ],
        "verdicts": {family: verdict},
    }

``drift`` is ``max_k |Q_k - Q_0| / scale`` and ``error`` is
``max_k |Q_k - Qhat_k| / scale`` (``Qhat`` the recursion's prediction), both
maximized over the family's units, with ``scale`` each unit's largest
``sum |theta_A|`` (translation) or ``|theta_A1|^2 + |theta_A2|^2`` along the
run; ``residual`` is the largest ``|<g, xi>| / (|g| |xi|)`` seen before a step.
Non-finite numbers are written as strings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet._report_io import jsonable, panel_grid, plot_format, save_figure
from symnet.report import Report

__all__ = ["LedgerRow", "LearningReport", "default_rtol", "VERDICTS"]

SCHEMA = "symnet.learning.report/1"
VERDICTS = ("matches recursion", "deviates", "no prediction")


def default_rtol(dtype: torch.dtype) -> float:
    """The default relative tolerance of a ledger whose model runs in ``dtype``."""
    return {torch.float64: 1e-9, torch.float32: 1e-4}.get(dtype, 1e-2)


@dataclass
class LedgerRow:
    """One symmetry family along a training run (relative numbers throughout)."""

    family: str
    kind: str
    charge: str
    units: int
    drift: float
    error: float | None
    residual: float | None
    verdict: str
    reason: str


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return "nan" if math.isnan(x) else f"{x:.1e}"


@dataclass
class LearningReport(Report):
    """Result of :func:`~symnet.learning.check_training` or :meth:`ChargeLedger.report`.

    Attributes
    ----------
    rows : list of LedgerRow
        One per symmetry family.
    charges : dict of str to Tensor
        Observed charges per family, shape ``(steps + 1, units)``, float64.
    predicted : dict of str to Tensor or None
        The recursion's open-loop prediction, same shape; None without one.
    optimizer, param_groups, steps, dtype, rtol
        How the run was made and judged.

    A :class:`symnet.report.Report`: ``passed`` (same as :attr:`all_match`),
    ``str(report)``, ``to_json(path=None)``, ``plot(path)``.
    """

    rows: list[LedgerRow]
    charges: dict[str, Tensor]
    predicted: dict[str, Tensor | None]
    optimizer: str
    param_groups: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    dtype: str = "float64"
    rtol: float = 1e-9

    schema: ClassVar[str] = SCHEMA
    key: ClassVar[str] = "family"

    @property
    def all_match(self) -> bool:
        """True when every family matches its recursion (False when there are none)."""
        return self.passed

    # ------------------------------------------------ the Report hooks (symnet.report)

    def row_passed(self, row: LedgerRow) -> bool:
        """A row passes when the family's charges match the recursion."""
        return row.verdict == "matches recursion"

    def title(self) -> str:
        """``Charge ledger (optimizer, steps, dtype, rtol)``."""
        return (
            f"Charge ledger ({self.optimizer}, {self.steps} steps, {self.dtype}, "
            f"rtol {self.rtol:.0e})"
        )

    def columns(self) -> tuple[list[str], str]:
        """Column titles and alignment of the table."""
        head = ["family", "charge", "units", "drift", "|obs - pred|", "residual", "verdict"]
        return head, "<" * len(head)

    def cells(self, r: LedgerRow) -> list[str]:
        """The table cells of row ``r``."""
        return [
            r.family,
            r.charge,
            str(r.units),
            _fmt(r.drift),
            _fmt(r.error),
            _fmt(r.residual),
            r.verdict,
        ]

    def notes(self) -> list[str]:
        """One line per family: its verdict and the reason."""
        return self.verdict_notes()

    def empty_text(self) -> str:
        """Shown instead of the table when no family was tracked."""
        return "  (no symmetries were tracked)"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python data (the JSON schema of the module docstring)."""
        return {
            "schema": self.schema,
            "optimizer": self.optimizer,
            "param_groups": self.param_groups,
            "steps": self.steps,
            "dtype": self.dtype,
            "rtol": self.rtol,
            "rows": [{k: jsonable(v) for k, v in asdict(r).items()} for r in self.rows],
            "verdicts": self.verdicts,
        }

    def plot(self, path: str | Path, *, max_units: int = 4) -> Path:
        """Observed (lines) and predicted (dashed) charges per family, one panel each.

        ``path`` is written as :meth:`symnet.report.Report.plot` says (exactly
        that file, format from the extension; a bad path, no rows or no
        matplotlib raise before anything is drawn); ``max_units`` units are
        drawn per family. Returns ``path``.
        """
        plot_format(path)  # refuse a bad path before anything else
        if not self.rows:
            raise ValueError("the report has no symmetry families to plot")
        fig, axes = panel_grid(path, len(self.rows), (4.4, 3.2))
        colors = {"matches recursion": "tab:green", "deviates": "tab:red"}
        for ax, r in zip(axes, self.rows, strict=True):
            obs = self.charges[r.family].cpu().numpy()
            pred = self.predicted.get(r.family)
            steps = range(obs.shape[0])
            for u in range(min(max_units, obs.shape[1])):
                ax.plot(steps, obs[:, u], lw=1.2, alpha=0.85)
                if pred is not None:
                    ax.plot(steps, pred[:, u].cpu().numpy(), ls="--", lw=1.8, color="k", alpha=0.5)
            color = colors.get(r.verdict, "tab:orange")
            ax.set_title(f"{r.family}\n{r.verdict}", fontsize=8, color=color)
            ax.set_xlabel("optimizer step")
            ax.set_ylabel(r.charge, fontsize=8)
            ax.grid(alpha=0.3)
        fig.suptitle(
            f"Charges along training ({self.optimizer}): observed, and predicted (dashed)",
            fontsize=10,
        )
        fig.tight_layout()
        return save_figure(fig, path)
