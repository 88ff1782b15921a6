"""Results of a symmetry assertion: one row per (group element or generator, output).

:class:`SymmetryReport` is what :func:`symnet.testing.assert_invariant` and
:func:`symnet.testing.assert_equivariant` return on success, and what the
:class:`SymmetryAssertionError` they raise on failure carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from symnet.testing._tolerances import Tolerance

__all__ = ["CheckResult", "SymmetryReport", "SymmetryAssertionError"]

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
    """

    check: str
    name: str
    output: str
    error: float
    tolerance: float
    passed: bool

    def describe(self, group: str) -> str:
        """Readable name of the element or generator, e.g. ``"sample 3 of Rotation(3)"``."""
        if self.check == "sample":
            return f"{self.name} of {group}"
        if self.check == "discrete":
            return f"discrete generator {self.name}"
        return f"generator {self.name}"


@dataclass
class SymmetryReport:
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
    tolerance : Tolerance
        The tolerance in effect.
    results : list of CheckResult
        One row per (element or generator, output), elements first.
    hint : str
        A remedy for a known cause of small errors (empty when none applies).
    """

    fn: str
    group: str
    property: str
    dtype: torch.dtype
    tolerance: Tolerance
    results: list[CheckResult] = field(default_factory=list)
    hint: str = ""

    @property
    def passed(self) -> bool:
        """True when there is at least one row and every row passed (no rows: nothing tested)."""
        return bool(self.results) and all(r.passed for r in self.results)

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

    def table(self, rows: list[CheckResult] | None = None) -> str:
        """Aligned table of ``rows`` (default: all rows)."""
        rows = self.results if rows is None else rows
        head = ("check", "element / generator", "output", "rel. error", "tolerance", "")
        body = [
            (
                r.check,
                r.name,
                r.output,
                f"{r.error:.2e}",
                f"{r.tolerance:.1e}",
                "ok" if r.passed else "FAIL",
            )
            for r in rows
        ]
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
        align = ["<", "<", "<", ">", ">", "<"]

        def fmt(row: tuple[str, ...]) -> str:
            cells = [f"{c:{a}{w}}" for c, a, w in zip(row, align, widths, strict=True)]
            return "  " + "  ".join(cells).rstrip()

        rule = "  " + "-" * (sum(widths) + 2 * (len(widths) - 1))
        return "\n".join([fmt(head), rule, *(fmt(row) for row in body)])

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        if not self.results:
            status += " (no checks ran: nothing was tested)"
        dtype = str(self.dtype).replace("torch.", "")
        lines = [
            f"{self.fn} {self.property} under {self.group}: {status}",
            f"max relative error {self.max_error:.2e} ({dtype}, {self.tolerance})",
            self.table(),
        ]
        if self.hint and not self.passed:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    def failure_message(self) -> str:
        """The message of the :class:`SymmetryAssertionError` for a failed report."""
        bad = self.failures
        if not bad:
            return (
                f"{self.fn} {self.property} under {self.group}: no checks ran, nothing was tested"
            )
        worst = bad[0]
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
