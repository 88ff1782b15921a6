"""Helpers shared by the tests of real models: the groups and what a report's rows say."""

from __future__ import annotations

from symnet.groups import Permutation, Reflection, Rotation, Translation
from symnet.testing import SymmetryReport

#: E(3) with reflections, times permutations of the particles (within each graph).
E3_WITH_REFLECTIONS = Translation(3) * Rotation(3) * Reflection(3) * Permutation()


def failing(report: SymmetryReport) -> set[str]:
    """Names of the rows that failed."""
    return {r.name for r in report.rows if not r.passed}


def passing(report: SymmetryReport) -> set[str]:
    """Names of the rows that passed."""
    return {r.name for r in report.rows if r.passed}


def factor_rows_pass(report: SymmetryReport, factor: str) -> bool:
    """Every row of ``factor`` alone (its samples, or its generators/discrete generators) passed."""
    rows = [r for r in report.rows if r.name.startswith(factor)]
    assert rows, f"no rows for {factor!r}: {[r.name for r in report.rows]}"
    return all(r.passed for r in rows)
