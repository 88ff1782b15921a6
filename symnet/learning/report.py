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
from typing import Any

import torch
from torch import Tensor

from symnet._report_io import dump_json, jsonable, plot_format, pyplot, save_figure

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
class LearningReport:
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
    """

    rows: list[LedgerRow]
    charges: dict[str, Tensor]
    predicted: dict[str, Tensor | None]
    optimizer: str
    param_groups: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    dtype: str = "float64"
    rtol: float = 1e-9

    @property
    def verdicts(self) -> dict[str, str]:
        """``{family: "matches recursion" | "deviates" | "no prediction"}``."""
        return {r.family: r.verdict for r in self.rows}

    @property
    def all_match(self) -> bool:
        """True when every family matches its recursion (False when there are none)."""
        return bool(self.rows) and all(r.verdict == "matches recursion" for r in self.rows)

    def row(self, family: str) -> LedgerRow:
        """The row of ``family`` (KeyError listing the known ones otherwise)."""
        for r in self.rows:
            if r.family == family:
                return r
        raise KeyError(f"no row {family!r}; rows: {[r.family for r in self.rows]}")

    def __str__(self) -> str:
        head = ["family", "charge", "units", "drift", "|obs - pred|", "residual", "verdict"]
        lines = [
            [
                r.family,
                r.charge,
                str(r.units),
                _fmt(r.drift),
                _fmt(r.error),
                _fmt(r.residual),
                r.verdict,
            ]
            for r in self.rows
        ]
        title = (
            f"Charge ledger ({self.optimizer}, {self.steps} steps, {self.dtype}, "
            f"rtol {self.rtol:.0e})"
        )
        if not lines:
            return title + "\n  (no symmetries were tracked)"
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [title, fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*line).rstrip() for line in lines]
        out.append("")
        out += [f"  {r.family}: {r.verdict} - {r.reason}" for r in self.rows]
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python data (the JSON schema of the module docstring)."""
        return {
            "schema": SCHEMA,
            "optimizer": self.optimizer,
            "param_groups": self.param_groups,
            "steps": self.steps,
            "dtype": self.dtype,
            "rtol": self.rtol,
            "rows": [{k: jsonable(v) for k, v in asdict(r).items()} for r in self.rows],
            "verdicts": self.verdicts,
        }

    def to_json(self, path: str | Path | None = None, **kwargs: Any) -> str:
        """Serialize to JSON, and write it to ``path`` if given.

        Parameters
        ----------
        path : str or Path, optional
            File to write, exactly as named (missing parent folders are
            created); a directory, or a path that cannot be written, raises a
            ValueError before anything is written.
        **kwargs
            Passed to :func:`json.dumps`.

        Returns
        -------
        str
            The JSON text (the file holds it plus a final newline).
        """
        return dump_json(self.to_dict(), path, **kwargs)

    def plot(self, path: str | Path, *, max_units: int = 4) -> Path:
        """Observed (lines) and predicted (dashed) charges per family, one panel each.

        Parameters
        ----------
        path : str or Path
            File to write, exactly as named: the format follows its extension
            (``.png``, ``.pdf``, ``.svg``, ...) and a name without one is
            written as PNG under that name. Missing parent folders are created.
        max_units : int
            Units drawn per family.

        Returns
        -------
        Path
            The file written (``path`` itself).

        Raises
        ------
        ImportError
            matplotlib is missing (install the ``plot`` extra: ``pip install symnet[plot]``).
        ValueError
            The report has no rows; ``path`` names a directory, cannot be
            written or has an extension matplotlib cannot write (checked
            before drawing).
        """
        plt = pyplot()
        plot_format(path)  # refuse a bad path before drawing
        if not self.rows:
            raise ValueError("the report has no symmetry families to plot")
        cols = min(3, len(self.rows))
        nrows = math.ceil(len(self.rows) / cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.2 * nrows), squeeze=False)
        colors = {"matches recursion": "tab:green", "deviates": "tab:red"}
        for ax, r in zip(axes.flat, self.rows, strict=False):
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
        for ax in list(axes.flat)[len(self.rows) :]:
            ax.axis("off")
        fig.suptitle(
            f"Charges along training ({self.optimizer}): observed, and predicted (dashed)",
            fontsize=10,
        )
        fig.tight_layout()
        return save_figure(fig, path)
