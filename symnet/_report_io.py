"""Shared output helpers of the reports: aligned tables, JSON, matplotlib, output paths.

Every report writer goes through :func:`output_path`, so that they all follow
one rule: the file written is exactly the path given (no extension is added),
its missing parent folders are created, and a path that names a directory,
sits under a file, or lies in a folder that cannot be written is refused with
a ``ValueError`` before anything is written.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "format_table",
    "jsonable",
    "dump_json",
    "pyplot",
    "output_path",
    "plot_format",
    "plot_formats",
    "save_figure",
    "panel_grid",
]


def format_table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    align: str | None = None,
    indent: str = "",
) -> str:
    """An aligned text table: a header line, a rule of dashes per column, one line per row.

    Parameters
    ----------
    head : sequence of str
        Column titles.
    rows : sequence of sequences of str
        The cells, one sequence per row, as long as ``head``.
    align : str, optional
        One character per column, ``"<"`` (left) or ``">"`` (right); default all left.
    indent : str
        Put before every line.

    Returns
    -------
    str
        The lines joined by newlines, trailing blanks stripped.

    Examples
    --------
    >>> print(format_table(["name", "error"], [["a", "1.0e-03"], ["bb", "2.0e-01"]], align="<>"))
    name    error
    ----  -------
    a     1.0e-03
    bb    2.0e-01
    """
    align = "<" * len(head) if align is None else align
    if len(align) != len(head) or any(len(row) != len(head) for row in rows):
        raise ValueError("format_table: every row and align need one entry per column")
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        text = "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True))
        return (indent + text).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def jsonable(x: Any) -> Any:
    """``x`` with non-finite floats written as strings (``"inf"``, ``"nan"``) for strict JSON."""
    return str(x) if isinstance(x, float) and not math.isfinite(x) else x


def output_path(path: Any, argument: str = "path") -> Path:
    """Check that ``path`` can be written as a file, without writing anything.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write. A missing parent folder is fine (the writers create
        it) as long as the nearest existing ancestor is a writable directory.
    argument : str
        The name used for ``path`` in error messages (``"--json"`` in the CLI).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`, unchanged.

    Raises
    ------
    TypeError
        ``path`` is not a string or path.
    ValueError
        ``path`` is empty, names a directory (an existing one, or ends with a
        path separator), lies under something that is not a directory, or in a
        directory that is not writable; or is an existing file that is not
        writable.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a file path (str or Path), got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValueError(f"{argument} must be a non-empty file path, got {path!r}")
    p = Path(text)
    if text.endswith(("/", os.sep)) or p.is_dir():
        raise ValueError(f"{argument} must name a file, got the directory {text!r}")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise ValueError(f"{argument} {text!r} exists and is not writable")
        return p
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(
            f"{argument} {text!r} cannot be written: {str(ancestor)!r} is not a directory"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(
            f"{argument} {text!r} cannot be written: directory {str(ancestor)!r} is not writable"
        )
    return p


def _prepare(path: Any, argument: str = "path") -> Path:
    """:func:`output_path`, then create the missing parent folders."""
    p = output_path(path, argument)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def dump_json(data: dict[str, Any], path: str | Path | None = None, **kwargs: Any) -> str:
    """Serialize ``data`` as indented JSON, and write it (plus a newline) to ``path`` if given.

    ``path`` is written exactly as given (see :func:`output_path` for what is
    refused); the return value is the JSON text without the final newline.
    """
    text = json.dumps(data, indent=2, **kwargs)
    if path is not None:
        _prepare(path).write_text(text + "\n")
    return text


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend.

    Raises
    ------
    ImportError
        matplotlib is missing (install the ``plot`` extra: ``pip install 'symnet[plot]'``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("report.plot needs matplotlib: pip install 'symnet[plot]'") from exc
    return plt


def plot_formats() -> list[str]:
    """The file formats matplotlib can write (``png``, ``pdf``, ``svg``, ...).

    Raises
    ------
    ImportError
        matplotlib is missing.
    """
    pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def plot_format(path: Any, argument: str = "path") -> tuple[Path, str]:
    """Check a plot's path and pick its format, without writing anything.

    The format is the path's extension (``.pdf``, ``.svg``, ...); a path
    without one is written as PNG under exactly that name.

    Returns
    -------
    tuple of Path and str
        The path (unchanged) and the format.

    Raises
    ------
    ImportError
        matplotlib is missing.
    TypeError, ValueError
        See :func:`output_path`; also an extension matplotlib cannot write
        (the message lists the formats it can).
    """
    p = output_path(path, argument)
    fmt = p.suffix[1:].lower() or "png"
    formats = plot_formats()
    if fmt not in formats:
        raise ValueError(
            f"{argument} {str(p)!r}: matplotlib cannot write the format {fmt!r}; "
            f"use one of the extensions {', '.join(formats)} (no extension: png)"
        )
    return p, fmt


def panel_grid(path: Any, panels: int, size: tuple[float, float]) -> tuple[Any, list[Any]]:
    """A figure of ``panels`` panels, three per row, after checking ``path``.

    The path is checked (:func:`plot_format`) before anything is drawn; the
    unused axes of the last row are switched off.

    Parameters
    ----------
    path : str or Path
        Where the figure will be saved (:func:`save_figure`).
    panels : int
        Number of panels, ``>= 1``.
    size : tuple of float
        Width and height of one panel, in inches.

    Returns
    -------
    tuple
        The figure and its first ``panels`` axes, row by row.

    Raises
    ------
    ImportError
        matplotlib is missing.
    ValueError
        ``path`` cannot be written (see :func:`plot_format`).
    """
    plt = pyplot()
    plot_format(path)  # refuse a bad path before drawing
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[panels:]:
        ax.axis("off")
    return fig, flat[:panels]


def save_figure(fig: Any, path: Any) -> Path:
    """Save ``fig`` to exactly ``path`` (format from its extension, PNG without one); close it.

    Returns
    -------
    Path
        The file written.
    """
    plt = pyplot()
    try:
        p, fmt = plot_format(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, format=fmt, dpi=110)
    finally:
        plt.close(fig)
    return p
