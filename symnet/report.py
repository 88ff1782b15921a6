"""The base of every symnet report: rows, ``passed``, a table, JSON and a plot.

Every check in symnet returns a report built on :class:`Report`:
:class:`symnet.testing.SymmetryReport` (symmetry assertions),
:class:`symnet.noether.NoetherReport` (conservation laws),
:class:`symnet.learning.LearningReport` (charges along training) and the
discovery results. They share one surface:

- ``report.rows``: one dataclass per checked thing;
- ``report.passed``: True when there is at least one row and every row passed;
- ``str(report)``: a title line, an aligned table of the rows and notes;
- ``report.to_dict()`` / ``report.to_json(path=None)``: plain data / JSON text
  (written to ``path`` when given);
- ``report.plot(path)``: a figure, where the report has something to draw.

A report class defines :attr:`Report.schema`, :meth:`Report.columns` (the
table's header and alignment), :meth:`Report.cells` (one row's cells),
:meth:`Report.row_passed`, :meth:`Report.title` and :meth:`Report.to_dict`;
the base does the rest with the helpers of :mod:`symnet._report_io`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from symnet._report_io import dump_json, format_table

__all__ = ["Report"]


class Report:
    """Base class of the reports (a mixin for dataclasses; it has no fields itself).

    Subclasses hold their rows in an attribute (or property) ``rows`` and
    override the hooks below.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Check:
    ...     name: str
    ...     error: float
    >>> @dataclass
    ... class ErrorReport(Report):
    ...     rows: list
    ...     schema = "example/1"
    ...
    ...     def columns(self):
    ...         return ["name", "error"], "<>"
    ...
    ...     def cells(self, row):
    ...         return [row.name, f"{row.error:.1e}"]
    ...
    ...     def row_passed(self, row):
    ...         return row.error < 1e-6
    >>> report = ErrorReport([Check("a", 1e-9), Check("b", 3e-8)])
    >>> report.passed
    True
    >>> print(report)
    ErrorReport: PASS
    name    error
    ----  -------
    a     1.0e-09
    b     3.0e-08
    >>> report.to_dict()["rows"][1]
    {'name': 'b', 'error': 3e-08}
    """

    #: The ``"schema"`` entry of :meth:`to_dict` (``"symnet.<package>.<what>/<version>"``).
    schema: ClassVar[str] = ""
    #: Put before every line of the table.
    table_indent: ClassVar[str] = ""
    #: The row attribute that names a row (for :meth:`row` and :attr:`verdicts`).
    key: ClassVar[str] = "name"
    rows: Sequence[Any]

    # ------------------------------------------------------------------ hooks

    def columns(self) -> tuple[list[str], str]:
        """The table's column titles and their alignment (one ``"<"`` or ``">"`` each)."""
        raise NotImplementedError(f"{type(self).__name__}.columns")

    def cells(self, row: Any) -> list[str]:
        """The table cells of one row (as many as :meth:`columns`)."""
        raise NotImplementedError(f"{type(self).__name__}.cells")

    def row_passed(self, row: Any) -> bool:
        """Whether one row passed (default: its ``passed`` attribute)."""
        return bool(row.passed)

    def title(self) -> str:
        """The first line of ``str(report)``."""
        return f"{type(self).__name__}: {'PASS' if self.passed else 'FAIL'}"

    def notes(self) -> list[str]:
        """Lines printed after the table (default: none)."""
        return []

    def empty_text(self) -> str:
        """What ``str(report)`` shows instead of a table when there are no rows."""
        return "  (no rows: nothing was checked)"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python data (default: the schema and the rows' fields)."""
        from dataclasses import asdict, is_dataclass

        from symnet._report_io import jsonable

        rows = [
            {k: jsonable(v) for k, v in asdict(r).items()} if is_dataclass(r) else r
            for r in self.rows
        ]
        return {"schema": self.schema, "rows": rows}

    # ----------------------------------------------------------------- shared

    def row(self, name: str) -> Any:
        """The row whose :attr:`key` attribute is ``name`` (KeyError naming the known ones)."""
        for r in self.rows:
            if getattr(r, self.key) == name:
                return r
        raise KeyError(f"no row {name!r}; rows: {[getattr(r, self.key) for r in self.rows]}")

    @property
    def verdicts(self) -> dict[str, str]:
        """``{row name: verdict}`` (a row without a ``verdict``: ``"passed"`` or ``"failed"``)."""
        return {
            getattr(r, self.key): getattr(
                r, "verdict", "passed" if self.row_passed(r) else "failed"
            )
            for r in self.rows
        }

    def verdict_notes(self) -> list[str]:
        """A blank line, then ``"  name: verdict - reason"`` per row (rows with a ``reason``)."""
        return ["", *(f"  {getattr(r, self.key)}: {r.verdict} - {r.reason}" for r in self.rows)]

    @property
    def passed(self) -> bool:
        """True when there is at least one row and every row passed (no rows: nothing tested)."""
        return bool(self.rows) and all(self.row_passed(r) for r in self.rows)

    def table(self, rows: Sequence[Any] | None = None) -> str:
        """Aligned table of ``rows`` (default: all rows)."""
        head, align = self.columns()
        body = [self.cells(r) for r in (self.rows if rows is None else rows)]
        return format_table(head, body, align=align, indent=self.table_indent)

    def __str__(self) -> str:
        if not self.rows:
            return "\n".join([self.title(), self.empty_text()])
        return "\n".join([self.title(), self.table(), *self.notes()])

    def to_json(self, path: str | Path | None = None, **kwargs: Any) -> str:
        """Serialize :meth:`to_dict` to JSON, and write it to ``path`` if given.

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

    def plot(self, path: str | Path, **kwargs: Any) -> Path:
        """Draw the report to the file ``path``; returns ``path``.

        Every report's plot follows one rule: the file written is exactly
        ``path``, its format follows the extension (``.png``, ``.pdf``,
        ``.svg``, ...; none: PNG), missing parent folders are created, and a
        path that names a directory, cannot be written or has an extension
        matplotlib cannot write raises a ValueError before anything is drawn
        (as does a report without rows). Without matplotlib: ImportError
        (``pip install 'symnet[plot]'``). A report with nothing to draw raises
        NotImplementedError.
        """
        raise NotImplementedError(f"{type(self).__name__} has no plot")
