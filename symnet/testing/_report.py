"""Former home of :mod:`symnet.testing.report` (kept so old imports keep working)."""

from symnet.testing.report import CheckResult, SymmetryAssertionError, SymmetryReport

__all__ = ["CheckResult", "SymmetryReport", "SymmetryAssertionError"]
