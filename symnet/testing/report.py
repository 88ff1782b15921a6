"""Results of a symmetry assertion: one row per (group element or generator, output).

:class:`SymmetryReport` is what :func:`symnet.testing.assert_invariant` and
:func:`symnet.testing.assert_equivariant` return on success, and what the
:class:`SymmetryAssertionError` they raise on failure carries.

JSON schema (``report.to_json()``)::

    {
        "schema": "symnet.testing.report/1",
        "fn": str,
        "group": str,
        "property": "invariant" | "equivariant",
        "dtype": str,
        "tolerance": {"rtol": float, "atol": float},
        "passed": bool,
        "max_error": float,
        "hint": str,
        "tolerance_note": str,
        "derivative_method": "jvp" | "double-vjp" | "finite-difference" | null,
        "vacuous": bool,
        "vacuous_reason": str,
        "rows": [
            {
                "check": "sample" | "discrete" | "generator",
                "name": str,
                "output": str,
                "error": float,
                "tolerance": float,
                "passed": bool,
                "factor": str,
            },
            ...,
        ],
    }

Non-finite numbers are written as strings (``"nan"``, ``"inf"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from symnet._report_io import jsonable, plot_format, pyplot, save_figure
from symnet.report import Report
from symnet.testing._tolerances import DtypeTolerance

__all__ = ["CheckResult", "SymmetryReport", "SymmetryAssertionError", "SymmetryWarning"]

SCHEMA = "symnet.testing.report/1"

_KINDS = ("sample", "discrete", "generator")


@dataclass(frozen=True)
class CheckResult:
    """The error of one output under one group element or one generator.

    Attributes
    ----------
    check : str
        ``"sample"`` (a random finite element), ``"discrete"`` (a discrete
        generator of the finite part) or ``"generator"`` (the infinitesimal
        condition for a Lie algebra generator).
    name : str
        ``"sample 3"``, ``"transposition_01"``, ``"rotation_z"``.
    output : str
        ``"out"`` for a single output, else ``"out[i]"``.
    error : float
        Relative error ``|difference| / scale``; NaN when an output at the
        transformed inputs (or the Lie derivative) was not finite, which
        always fails.
    tolerance : float
        The relative error allowed, ``rtol + atol / scale``.
    passed : bool
        ``|difference| <= atol + rtol * scale``.
    factor : str
        For an element of one factor of a product group tested alone
        (``name`` like ``"rotation sample 0"``): that factor, e.g.
        ``"Rotation(3)"``; empty otherwise.
    """

    check: str
    name: str
    output: str
    error: float
    tolerance: float
    passed: bool
    factor: str = ""

    def describe(self, group: str) -> str:
        """Readable name of the element or generator, e.g. ``"sample 3 of Rotation(3)"``."""
        if self.check == "sample" and self.factor:
            return f"{self.name} (an element of the factor {self.factor} alone)"
        if self.check == "sample":
            return f"{self.name} of {group}"
        if self.check == "discrete":
            return f"discrete generator {self.name}"
        return f"generator {self.name}"


@dataclass
class SymmetryReport(Report):
    """Per-element and per-generator errors of a symmetry assertion.

    Attributes
    ----------
    fn : str
        Name of the tested callable.
    group : str
        ``repr`` of the group.
    property : str
        ``"invariant"`` or ``"equivariant"``.
    dtype : torch.dtype
        The dtype the check ran in.
    tolerance : DtypeTolerance
        The tolerance in effect.
    results : list of CheckResult
        One row per (element or generator, output), elements first.
    hint : str
        A remedy for a known cause of small errors (empty when none applies).
    tolerance_note : str
        Why this tolerance was used when it is not the dtype's default (e.g.
        a module with float32-accurate constants); empty otherwise.
    derivative_method : str or None
        How the Lie derivatives were computed: ``"jvp"`` (forward-mode AD),
        ``"double-vjp"`` (reverse mode twice, for functions that call
        ``torch.autograd.grad``), ``"finite-difference"`` (Richardson
        extrapolation of the finite action), or None when the generator
        check did not run.
    vacuous : bool
        True when some output does not vary with the inputs, so that its
        rows could not fail (see :mod:`symnet.testing.equivariance`).
    vacuous_reason : str
        Which output, why, and the usual fix (empty when not vacuous).
    strict : bool
        A vacuous check fails (``passed`` is False) when True.

    A :class:`symnet.report.Report`: ``rows`` (the :attr:`results`),
    ``passed``, ``str(report)``, ``table()``, ``to_json(path=None)``, ``plot(path)``.
    """

    fn: str
    group: str
    property: str
    dtype: torch.dtype
    tolerance: DtypeTolerance
    results: list[CheckResult] = field(default_factory=list)
    hint: str = ""
    tolerance_note: str = ""
    derivative_method: str | None = None
    vacuous: bool = False
    vacuous_reason: str = ""
    strict: bool = False

    schema: ClassVar[str] = SCHEMA
    table_indent: ClassVar[str] = "  "

    @property
    def passed(self) -> bool:
        """Every row passed (at least one), and the check is not vacuous under ``strict``."""
        return (
            bool(self.results)
            and all(r.passed for r in self.results)
            and not (self.strict and self.vacuous)
        )

    @property
    def failures(self) -> list[CheckResult]:
        """The rows that failed, worst first."""
        bad = [r for r in self.results if not r.passed]
        return sorted(bad, key=lambda r: -r.error if r.error == r.error else float("-inf"))

    @property
    def max_error(self) -> float:
        """Largest relative error of all rows (0.0 when there are none; NaN propagates)."""
        errors = [r.error for r in self.results]
        if any(e != e for e in errors):
            return float("nan")
        return max(errors, default=0.0)

    def _max_by_name(self, checks: tuple[str, ...]) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.results:
            if r.check in checks:
                prev = out.get(r.name, 0.0)
                out[r.name] = r.error if (r.error != r.error or r.error > prev) else prev
        return out

    @property
    def element_errors(self) -> dict[str, float]:
        """``{"sample 0": err, ..., "transposition_01": err}``: max over outputs."""
        return self._max_by_name(("sample", "discrete"))

    @property
    def generator_errors(self) -> dict[str, float]:
        """``{"rotation_x": err, ...}``: max over outputs of the infinitesimal check."""
        return self._max_by_name(("generator",))

    # ------------------------------------------------ the Report hooks (symnet.report)

    @property
    def rows(self) -> list[CheckResult]:
        """The rows (same list as :attr:`results`)."""
        return self.results

    def columns(self) -> tuple[list[str], str]:
        """Column titles and alignment of the table."""
        return ["check", "element / generator", "output", "rel. error", "tolerance", ""], "<<<>><"

    def cells(self, r: CheckResult) -> list[str]:
        """The table cells of row ``r``."""
        return [
            r.check,
            r.name,
            r.output,
            f"{r.error:.2e}",
            f"{r.tolerance:.1e}",
            "ok" if r.passed else "FAIL",
        ]

    def title(self) -> str:
        """Two lines: what was checked with the verdict, and the largest error."""
        status = "PASS" if self.passed else "FAIL"
        if not self.results:
            status += " (no checks ran: nothing was tested)"
        elif self.vacuous:
            status += " (VACUOUS: the outputs do not depend on the inputs)"
        dtype = str(self.dtype).replace("torch.", "")
        lines = [
            f"{self.fn} {self.property} under {self.group}: {status}",
            f"max relative error {self.max_error:.2e} ({dtype}, {self.tolerance})",
        ]
        if self.tolerance_note:
            lines.append(f"tolerance: {self.tolerance_note}")
        if self.derivative_method is not None:
            lines.append(f"Lie derivatives by {self.derivative_method}")
        return "\n".join(lines)

    def notes(self) -> list[str]:
        """The vacuity reason, and the hint when the check failed and one applies."""
        notes = [f"vacuous: {self.vacuous_reason}"] if self.vacuous else []
        return notes + ([f"hint: {self.hint}"] if self.hint and not self.passed else [])

    def empty_text(self) -> str:
        """Shown instead of the table when no check ran."""
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python data (the JSON schema of the module docstring)."""
        return {
            "schema": self.schema,
            "fn": self.fn,
            "group": self.group,
            "property": self.property,
            "dtype": str(self.dtype).replace("torch.", ""),
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "passed": self.passed,
            "max_error": jsonable(self.max_error),
            "rows": [{k: jsonable(v) for k, v in asdict(r).items()} for r in self.results],
            "hint": self.hint,
            "tolerance_note": self.tolerance_note,
            "derivative_method": self.derivative_method,
            "vacuous": self.vacuous,
            "vacuous_reason": self.vacuous_reason,
        }

    def plot(self, path: str | Path, **kwargs: Any) -> Path:
        """Bar chart of each row's relative error against its tolerance (log scale).

        Parameters
        ----------
        path : str or Path
            File to write, exactly as named (format from the extension, PNG
            without one); missing parent folders are created.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        ImportError
            matplotlib is missing (``pip install 'symnet[plot]'``).
        ValueError
            ``path`` cannot be written; the report has no rows.
        """
        plt = pyplot()
        plot_format(path)  # refuse a bad path before drawing
        if not self.results:
            raise ValueError("the report has no rows to plot")
        n = len(self.results)
        fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * n + 1.5), 3.4))
        tiny = 1e-300
        errors = [r.error if r.error == r.error else float("inf") for r in self.results]
        shown = [min(max(e, tiny), 1e300) for e in errors]
        colors = ["tab:green" if r.passed else "tab:red" for r in self.results]
        ax.bar(range(n), shown, color=colors)
        ax.plot(range(n), [max(r.tolerance, tiny) for r in self.results], "k_", ms=14)
        ax.set_yscale("log")
        labels = [r.name if r.output == "out" else f"{r.name} {r.output}" for r in self.results]
        ax.set_xticks(range(n), labels, rotation=70, fontsize=7, ha="right")
        ax.set_ylabel("relative error (bar), tolerance (-)", fontsize=8)
        status = "PASS" if self.passed else "FAIL"
        ax.set_title(f"{self.fn} {self.property} under {self.group}: {status}", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        return save_figure(fig, path)

    def failure_message(self) -> str:
        """The message of the :class:`SymmetryAssertionError` for a failed report."""
        bad = self.failures
        if not bad and self.vacuous:
            return (
                f"{self.fn} {self.property} under {self.group}: the check is vacuous and "
                f"strict=True: {self.vacuous_reason}\n{self.table()}"
            )
        if not bad:
            return (
                f"{self.fn} {self.property} under {self.group}: no checks ran, nothing was tested"
            )
        # headline the most specific failing row: a generator, a discrete generator or an
        # element of one factor names what broke; a sample of the whole product does not
        specific = [r for r in bad if r.check != "sample" or r.factor]
        worst = specific[0] if specific else bad[0]
        if worst.error != worst.error and worst.check == "generator":
            what = "Lie derivative not finite (NaN or inf)"
        elif worst.error != worst.error:
            what = "not finite (NaN or inf) at the transformed inputs"
        else:
            what = f"relative error {worst.error:.2e} > tolerance {worst.tolerance:.1e}"
        lines = [
            f"{self.fn} is not {self.property} under {self.group}: "
            f"{worst.describe(self.group)}, output {worst.output}: {what} "
            f"({len(bad)} of {len(self.results)} checks failed)",
            self.table(bad),
        ]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class SymmetryAssertionError(AssertionError):
    """A symmetry assertion failed; ``report`` holds every row (passed and failed).

    Parameters
    ----------
    report : SymmetryReport
        The full report of the failed check.
    """

    def __init__(self, report: SymmetryReport) -> None:
        super().__init__(report.failure_message())
        self.report = report


class SymmetryWarning(UserWarning):
    """A symmetry check passed but proves less than it seems (e.g. a vacuous check).

    Raised as an error instead with ``strict=True``, or with pytest's
    ``-W error::symnet.testing.SymmetryWarning``.
    """
